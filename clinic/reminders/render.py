"""How this area's kinds read in the chat: the confirmation, the 24 h, 6 h and 30 min
reminders, and the notice of a cancellation by the clinic, each with the booking's card
and its buttons. Pure functions, given to the dispatcher."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from zoneinfo import ZoneInfo

from clinic import texts
from clinic.catalog.models import full_name
from clinic.reminders.models import ClaimedNotification, Kind, Outgoing, Render
from clinic.telegram import keyboards

KINDS: tuple[Kind, ...] = ("confirmation", "24h", "6h", "30m")


def reminder(row: ClaimedNotification, *, tz: ZoneInfo) -> Outgoing:
    local = row.starts_at.astimezone(tz)
    text = texts.reminder(
        row.kind,
        number=row.booking_id,
        day=local.date(),
        time=local.strftime("%H:%M"),
        doctor=full_name(row.last_name, row.first_name, row.middle_name),
        specialization=row.specialization,
    )
    return Outgoing(text, keyboards.reminder(row.booking_id))


def cancelled_by_clinic(
    row: ClaimedNotification, *, tz: ZoneInfo, webapp_url: str | None
) -> Outgoing:
    local = row.starts_at.astimezone(tz)
    text = texts.cancelled_by_clinic(
        number=row.booking_id,
        day=local.date(),
        time=local.strftime("%H:%M"),
        doctor=full_name(row.last_name, row.first_name, row.middle_name),
        specialization=row.specialization,
        reason=row.cancel_reason,
    )
    return Outgoing(text, keyboards.book_again(webapp_url))


def renderers(tz: ZoneInfo, *, webapp_url: str | None) -> Mapping[str, Render]:
    """Each kind this area plans, with its renderer."""
    found: dict[str, Render] = {kind: partial(reminder, tz=tz) for kind in KINDS}
    found["cancelled_by_clinic"] = partial(cancelled_by_clinic, tz=tz, webapp_url=webapp_url)
    return found
