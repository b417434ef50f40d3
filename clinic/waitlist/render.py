"""How an offer of a freed slot reads in the chat, with its one button. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from zoneinfo import ZoneInfo

from clinic.catalog.models import full_name
from clinic.reminders.models import ClaimedNotification, Outgoing, Render
from clinic.telegram import keyboards
from clinic.texts import language, of


def offer(row: ClaimedNotification, *, tz: ZoneInfo) -> Outgoing:
    local = row.starts_at.astimezone(tz)
    at = local.strftime("%H:%M")
    tx = of(language(row.language))
    text = tx.offer(
        day=local.date(),
        time=at,
        doctor=full_name(row.last_name, row.first_name, row.middle_name),
        specialization=row.specialization,
    )
    return Outgoing(text, keyboards.offer(tx, row.id, at))


def renderers(tz: ZoneInfo) -> Mapping[str, Render]:
    return {"waitlist_offer": partial(offer, tz=tz)}
