"""How this area's kinds read in the chat: the confirmation, the 24 h, 6 h and 30 min
reminders, and the notices that a booking was cancelled (by the patient or the clinic)
or moved, each with the booking's card and its buttons. Pure functions, given to the
dispatcher."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import partial
from zoneinfo import ZoneInfo

from clinic import texts
from clinic.catalog.models import full_name
from clinic.reminders.models import ClaimedNotification, Outgoing, Render
from clinic.telegram import keyboards

REMINDERS = ("confirmation", "24h", "6h", "30m")


def _when(row: ClaimedNotification, tz: ZoneInfo) -> tuple[date, str]:
    local = row.starts_at.astimezone(tz)
    return local.date(), local.strftime("%H:%M")


def _booking(row: ClaimedNotification) -> int:
    if row.booking_id is None:
        raise ValueError(f"notification {row.id} ({row.kind}) has no booking")
    return row.booking_id


def reminder(row: ClaimedNotification, *, tz: ZoneInfo, webapp_url: str | None) -> Outgoing:
    day, at = _when(row, tz)
    number = _booking(row)
    text = texts.reminder(
        row.kind,
        number=number,
        day=day,
        time=at,
        doctor=full_name(row.last_name, row.first_name, row.middle_name),
        specialization=row.specialization,
    )
    # The day before, the reminder asks whether the patient will come.
    markup = keyboards.reminder(number, webapp_url, ask_come=row.kind == "24h")
    return Outgoing(text, markup)


def cancelled(row: ClaimedNotification, *, tz: ZoneInfo, webapp_url: str | None) -> Outgoing:
    day, at = _when(row, tz)
    text = texts.cancelled(number=_booking(row), day=day, time=at)
    return Outgoing(text, keyboards.book_again(webapp_url))


def cancelled_by_clinic(
    row: ClaimedNotification, *, tz: ZoneInfo, webapp_url: str | None
) -> Outgoing:
    day, at = _when(row, tz)
    text = texts.cancelled_by_clinic(
        number=_booking(row),
        day=day,
        time=at,
        doctor=full_name(row.last_name, row.first_name, row.middle_name),
        specialization=row.specialization,
        reason=row.cancel_reason,
    )
    return Outgoing(text, keyboards.book_again(webapp_url))


def moved(row: ClaimedNotification, *, tz: ZoneInfo, webapp_url: str | None) -> Outgoing:
    day, at = _when(row, tz)
    number = _booking(row)
    text = texts.moved(
        number=number,
        day=day,
        time=at,
        doctor=full_name(row.last_name, row.first_name, row.middle_name),
        specialization=row.specialization,
    )
    return Outgoing(text, keyboards.booking_actions(number, webapp_url))


def renderers(tz: ZoneInfo, *, webapp_url: str | None) -> Mapping[str, Render]:
    """Each kind this area plans, with its renderer."""
    found: dict[str, Render] = {
        kind: partial(reminder, tz=tz, webapp_url=webapp_url) for kind in REMINDERS
    }
    for kind, render in (
        ("cancelled", cancelled),
        ("cancelled_by_clinic", cancelled_by_clinic),
        ("moved", moved),
    ):
        found[kind] = partial(render, tz=tz, webapp_url=webapp_url)
    return found
