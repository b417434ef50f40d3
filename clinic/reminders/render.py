"""How this area's kinds read in the chat: the confirmation, the 24 h, 6 h and 30 min
reminders, and the notices that a booking was cancelled (by the patient or the clinic)
or moved, each with the booking's card and its buttons. Pure functions, given to the
dispatcher."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from clinic import ics
from clinic.catalog.models import full_name
from clinic.reminders.models import ClaimedNotification, Document, Outgoing, Render
from clinic.telegram import keyboards
from clinic.texts import Texts, language, of

REMINDERS = ("confirmation", "24h", "6h", "30m")
SLOT = timedelta(minutes=30)  # the booking grid's slot, should a row lack its end


def _when(row: ClaimedNotification, tz: ZoneInfo) -> tuple[date, str]:
    local = row.starts_at.astimezone(tz)
    return local.date(), local.strftime("%H:%M")


def tx_of(row: ClaimedNotification) -> Texts:
    """The texts in the language of the chat the row goes to."""
    return of(language(row.language))


def _booking(row: ClaimedNotification) -> int:
    if row.booking_id is None:
        raise ValueError(f"notification {row.id} ({row.kind}) has no booking")
    return row.booking_id


def calendar_file(row: ClaimedNotification, *, tz: ZoneInfo, host: str) -> Document:
    """The booking as an .ics, for the patient's calendar."""
    number = _booking(row)
    doctor = full_name(row.last_name, row.first_name, row.middle_name)
    tx = tx_of(row)
    event = ics.Event(
        booking_id=number,
        revision=row.revision or 0,
        starts_at=row.starts_at,
        ends_at=row.ends_at or row.starts_at + SLOT,
        cancelled=False,
        summary=tx.calendar_summary(doctor=doctor, specialization=row.specialization),
        description=tx.calendar_description(number=number),
        location=tx("clinic.address"),
    )
    content = ics.calendar(event, tz=tz, host=host, now=row.claimed_at)
    return Document(ics.file_name(number), content, ics.MIME, tx("calendar.caption"))


def reminder(
    row: ClaimedNotification, *, tz: ZoneInfo, webapp_url: str | None, host: str
) -> Outgoing:
    day, at = _when(row, tz)
    number = _booking(row)
    tx = tx_of(row)
    text = tx.reminder(
        row.kind,
        number=number,
        day=day,
        time=at,
        doctor=full_name(row.last_name, row.first_name, row.middle_name),
        specialization=row.specialization,
        starts_at=row.starts_at,
        now=row.claimed_at,
        tz=tz,
    )
    # The day before, the reminder asks whether the patient will come.
    markup = keyboards.reminder(tx, number, webapp_url, ask_come=row.kind == "24h")
    # The confirmation is followed by the booking as a calendar file.
    document = calendar_file(row, tz=tz, host=host) if row.kind == "confirmation" else None
    return Outgoing(text, markup, document)


def cancelled(row: ClaimedNotification, *, tz: ZoneInfo, webapp_url: str | None) -> Outgoing:
    day, at = _when(row, tz)
    tx = tx_of(row)
    text = tx.cancelled(number=_booking(row), day=day, time=at)
    return Outgoing(text, keyboards.book_again(tx, webapp_url))


def cancelled_by_clinic(
    row: ClaimedNotification, *, tz: ZoneInfo, webapp_url: str | None
) -> Outgoing:
    day, at = _when(row, tz)
    tx = tx_of(row)
    text = tx.cancelled_by_clinic(
        number=_booking(row),
        day=day,
        time=at,
        doctor=full_name(row.last_name, row.first_name, row.middle_name),
        specialization=row.specialization,
        reason=row.cancel_reason,
    )
    return Outgoing(text, keyboards.book_again(tx, webapp_url))


def moved(row: ClaimedNotification, *, tz: ZoneInfo, webapp_url: str | None) -> Outgoing:
    day, at = _when(row, tz)
    number = _booking(row)
    tx = tx_of(row)
    text = tx.moved(
        number=number,
        day=day,
        time=at,
        doctor=full_name(row.last_name, row.first_name, row.middle_name),
        specialization=row.specialization,
    )
    return Outgoing(text, keyboards.booking_actions(tx, number, webapp_url))


def renderers(
    tz: ZoneInfo, *, webapp_url: str | None, host: str = "clinic.local"
) -> Mapping[str, Render]:
    """Each kind this area plans, with its renderer; `host` makes the calendar UIDs."""
    found: dict[str, Render] = {
        kind: partial(reminder, tz=tz, webapp_url=webapp_url, host=host) for kind in REMINDERS
    }
    for kind, render in (
        ("cancelled", cancelled),
        ("cancelled_by_clinic", cancelled_by_clinic),
        ("moved", moved),
    ):
        found[kind] = partial(render, tz=tz, webapp_url=webapp_url)
    return found
