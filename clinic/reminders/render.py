"""How the reminder kinds read in the chat: the confirmation and the 24 h, 6 h and 30 min
reminders, each with the booking's card and its buttons. Pure functions, given to the
dispatcher by the composition root."""

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


def renderers(tz: ZoneInfo) -> Mapping[str, Render]:
    """Each kind this area plans, with its renderer."""
    return {kind: partial(reminder, tz=tz) for kind in KINDS}
