"""Callback data: small versioned payloads like `v1:cancel:42`. Data from a client is
untrusted: anything that does not parse is None, and an id in it is only a request
that the service checks against the sender.

The actions with an id name a booking (cancel, come...) or, for `take`, a waitlist
offer. `menu_new` opens the menu in a new message: it sits under notices, whose text
a button must never replace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

VERSION = "v1"
Action = Literal[
    "menu",
    "menu_new",
    "about",
    "bookings",
    "list",
    "cancel",
    "cancel_yes",
    "cancel_no",
    "remind_cancel",
    "remind_keep",
    "come",
    "take",
]
WITH_ID: frozenset[str] = frozenset(
    {"cancel", "cancel_yes", "cancel_no", "remind_cancel", "remind_keep", "come", "take"}
)
ACTIONS: frozenset[str] = frozenset(get_args(Action))
MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Callback:
    action: Action
    booking_id: int | None = None  # the id: a booking's, or for `take` an offer's

    def pack(self) -> str:
        if self.booking_id is None:
            return f"{VERSION}:{self.action}"
        return f"{VERSION}:{self.action}:{self.booking_id}"


def parse(data: str | None) -> Callback | None:
    if not data or len(data) > 64:
        return None
    version, _, rest = data.partition(":")
    action, _, tail = rest.partition(":")
    if version != VERSION or action not in ACTIONS:
        return None
    if action not in WITH_ID:
        return Callback(action) if not tail else None  # type: ignore[arg-type]
    if not tail.isascii() or not tail.isdigit() or not 0 < int(tail) <= MAX_ID:
        return None
    return Callback(action, int(tail))  # type: ignore[arg-type]
