"""Reminder rows as the API shows them, and as the dispatcher claims and settles them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

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
    claimed_at: dt.datetime  # the database's clock at the claim: "now" for the text
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None
    revision: int | None = 0
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
    language: str | None = None  # the chat's Telegram language_code, when known
    cards: list[int] = []


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one send: the row's next status, when to retry, and why."""

    status: Literal["sent", "pending", "failed", "cancelled"]
    delay: float = 0.0  # seconds until a 'pending' row is due again
    refund: int = 0  # 1: the claim's attempt does not count (never sent, or 429)
    error: str | None = None
    blocked: bool = False  # 403: the user blocked the bot
    rate_limited: bool = False  # 429: due again after Telegram's retry_after


SENT = Outcome("sent")
RELEASED = Outcome("pending", refund=1)


class Document(NamedTuple):
    """A file sent right after a message (the booking's .ics after its confirmation)."""

    file_name: str
    content: bytes
    mime_type: str
    caption: str


class Outgoing(NamedTuple):
    """A rendered message: what the dispatcher sends to the row's chat, and a document
    to send right after it."""

    text: str
    reply_markup: dict[str, Any] | None = None
    document: Document | None = None


# How one kind of row reads: each area that plans a kind gives the dispatcher one.
Render = Callable[[ClaimedNotification], Outgoing]


EVENING_MARGIN = timedelta(minutes=15)  # how long before quiet hours a moved reminder comes


@dataclass(frozen=True, slots=True)
class Quiet:
    """Quiet hours [start, end) on the clinic's wall clock; they may run past midnight."""

    start: time
    end: time
    tz: ZoneInfo

    def inside(self, instant: datetime) -> bool:
        at = instant.astimezone(self.tz).time()
        if self.start < self.end:
            return self.start <= at < self.end
        return at >= self.start or at < self.end

    def _around(self, instant: datetime) -> tuple[datetime, datetime]:
        """The quiet period holding `instant` (inside it), as instants."""
        local = instant.astimezone(self.tz)
        day = local.date()
        starts = datetime.combine(day, self.start, tzinfo=self.tz)
        if starts > local:  # it began the evening before
            starts = datetime.combine(day - timedelta(days=1), self.start, tzinfo=self.tz)
        ends_day = starts.date() + timedelta(days=1 if self.end <= self.start else 0)
        ends = datetime.combine(ends_day, self.end, tzinfo=self.tz)
        return starts, ends

    def ends_after(self, instant: datetime) -> datetime:
        """When the quiet period holding `instant` ends."""
        return self._around(instant)[1]

    def evening_before(self, instant: datetime) -> datetime:
        """Just before the quiet period holding `instant` began."""
        return self._around(instant)[0] - EVENING_MARGIN
