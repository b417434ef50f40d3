"""Reminder rows as the API shows them, and as the dispatcher claims and settles them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel

# A booking's own messages (planned with it), and what the system tells on its own.
ReminderKind = Literal["confirmation", "24h", "6h", "30m"]
Kind = Literal[
    "confirmation",
    "24h",
    "6h",
    "30m",
    "cancelled",
    "cancelled_by_clinic",
    "moved",
    "waitlist_offer",
    "staff_new_booking",
    "staff_cancelled",
    "staff_moved",
]
Status = Literal["pending", "sending", "sent", "failed", "cancelled"]


class Reminder(BaseModel):
    """One planned message of a booking."""

    kind: ReminderKind
    due_at: dt.datetime
    status: Status


class ClaimedNotification(BaseModel):
    """A row a claim leased (status 'sending') or cancelled on the way (status 'cancelled'),
    with what its text needs: the booking (or, for an offer, the slot and its doctor),
    the patient, and for a notice of a cancellation or move, the chat's older cards."""

    id: int
    booking_id: int | None
    waitlist_id: int | None = None
    chat_id: int
    kind: Kind
    status: Status
    leased_until: dt.datetime | None
    attempts: int
    overdue: float
    starts_at: dt.datetime
    doctor_id: int = 0
    last_name: str
    first_name: str
    middle_name: str | None
    specialization: str
    cancel_reason: str | None = None
    patient: str | None = None
    username: str | None = None
    phone: str | None = None
    source: str | None = None
    cancelled_by: str | None = None
    cards: list[int] = []


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one send: the row's next status, when to retry, and why."""

    status: Literal["sent", "pending", "failed"]
    delay: float = 0.0  # seconds until a 'pending' row is due again
    refund: int = 0  # 1: the claim's attempt does not count (never sent, or 429)
    error: str | None = None
    blocked: bool = False  # 403: the user blocked the bot
    rate_limited: bool = False  # 429: due again after Telegram's retry_after


SENT = Outcome("sent")
RELEASED = Outcome("pending", refund=1)


class Outgoing(NamedTuple):
    """A rendered message: what the dispatcher sends to the row's chat."""

    text: str
    reply_markup: dict[str, Any] | None = None


# How one kind of row reads: each area that plans a kind gives the dispatcher one.
Render = Callable[[ClaimedNotification], Outgoing]
