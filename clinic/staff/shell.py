"""`clinic staff add|list|remove`: managing the staff from the shell, before any admin
can do it from the MiniApp. Writes are audited like the API's, with no actor."""

from __future__ import annotations

from clinic import db
from clinic.booking.service import Bookings
from clinic.catalog.service import Catalog
from clinic.clock import utc_now
from clinic.config import Settings
from clinic.staff.models import Member, MemberRequest
from clinic.staff.service import Staff


def describe(member: Member) -> str:
    doctor = f" doctor {member.doctor_id}" if member.doctor_id is not None else ""
    source = " (ADMIN_IDS)" if member.configured else ""
    notices = "" if member.notify else ", notices off"
    return f"{member.telegram_id} {member.role}{doctor}{source}{notices}"


async def run(settings: Settings, action: str, **options: object) -> list[str]:
    """The lines to print for one staff command; a ClinicError says what was wrong."""
    database = db.Database(settings.dsn(), min_size=1, max_size=1)
    await database.open()
    try:
        bookings = Bookings(database, tz=settings.tz, clock=utc_now)
        staff = Staff(
            database,
            bookings=bookings,
            catalog=Catalog(database),
            admin_ids=settings.admin_ids,
            tz=settings.tz,
            clock=utc_now,
        )
        if action == "list":
            return [describe(m) for m in await staff.members()] or ["no staff yet"]
        if action == "add":
            request = MemberRequest.model_validate(options)
            member, created = await staff.add_member(None, request)
            return [f"{'added' if created else 'changed'}: {describe(member)}"]
        telegram_id = options["telegram_id"]
        assert isinstance(telegram_id, int)  # noqa: S101 - argparse gives an int
        removed = await staff.remove_member(None, telegram_id)
        return [f"removed: {describe(removed)}"]
    finally:
        await database.close()
