"""Typed wrappers over sql/waitlist.sql."""

from __future__ import annotations

from datetime import date

from clinic.catalog.models import full_name
from clinic.db import Executor
from clinic.sql import q
from clinic.waitlist.models import Offer, WaitlistEntry


def _entry(row: object) -> WaitlistEntry:
    data = dict(row)  # type: ignore[call-overload]
    data["date"] = data.pop("day")
    if "last_name" in data:
        data["doctor"] = full_name(
            data.pop("last_name"), data.pop("first_name"), data.pop("middle_name")
        )
    return WaitlistEntry.model_validate(data)


async def join(
    db: Executor, *, user_id: int, doctor_id: int, day: date, today: date, max_entries: int
) -> tuple[bool, WaitlistEntry | None]:
    """(room under the cap, the new entry or None when one already waited)."""
    row = await db.fetchrow(
        q("waitlist.join_waitlist"), user_id, doctor_id, day, today, max_entries
    )
    room = bool(row["room"])
    if row["id"] is None:
        return room, None
    return room, _entry({k: row[k] for k in ("id", "doctor_id", "day", "created_at")})


async def active_entry(
    db: Executor, *, user_id: int, doctor_id: int, day: date
) -> WaitlistEntry | None:
    row = await db.fetchrow(q("waitlist.active_entry"), user_id, doctor_id, day)
    return _entry(row) if row else None


async def list_entries(db: Executor, *, user_id: int, today: date) -> list[WaitlistEntry]:
    return [_entry(row) for row in await db.fetch(q("waitlist.list_entries"), user_id, today)]


async def leave(db: Executor, *, entry_id: int, user_id: int) -> bool:
    """True when the entry is the patient's (now removed); False when it is not theirs."""
    return bool(await db.fetchval(q("waitlist.leave_waitlist"), entry_id, user_id))


async def get_offer(db: Executor, *, offer_id: int) -> Offer | None:
    row = await db.fetchrow(q("waitlist.get_offer"), offer_id)
    return Offer.model_validate(dict(row)) if row else None


async def end_entry(db: Executor, *, entry_id: int, booking_id: int) -> None:
    await db.execute(q("waitlist.end_entry"), entry_id, booking_id)
