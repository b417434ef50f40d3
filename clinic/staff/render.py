"""How the staff's notices read: a new, cancelled or moved booking of their doctor (the
desk: of every doctor), with a button to that day in the MiniApp. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from zoneinfo import ZoneInfo

from clinic.catalog.models import full_name
from clinic.reminders.models import ClaimedNotification, Outgoing, Render
from clinic.telegram import keyboards
from clinic.texts import language, of

HEADERS = {
    "staff_new_booking": "staff.new",
    "staff_cancelled": "staff.cancelled",
    "staff_moved": "staff.moved",
}


def notice(row: ClaimedNotification, *, tz: ZoneInfo, webapp_url: str | None) -> Outgoing:
    local = row.starts_at.astimezone(tz)
    cancelled = row.kind == "staff_cancelled"
    tx = of(language(row.language))
    text = tx.staff_notice(
        HEADERS[row.kind],
        number=row.booking_id or 0,
        day=local.date(),
        time=local.strftime("%H:%M"),
        doctor=full_name(row.last_name, row.first_name, row.middle_name),
        patient=row.patient,
        username=row.username,
        phone=row.phone,
        source=row.source,
        cancelled_by=row.cancelled_by if cancelled else None,
        reason=row.cancel_reason if cancelled else None,
    )
    return Outgoing(text, keyboards.staff_day(tx, webapp_url, f"{local:%Y-%m-%d}"))


def renderers(tz: ZoneInfo, *, webapp_url: str | None) -> Mapping[str, Render]:
    return {kind: partial(notice, tz=tz, webapp_url=webapp_url) for kind in HEADERS}
