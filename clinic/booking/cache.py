"""Weeks of free slots computed in the last second, so a popular doctor's week is not
read and computed again for every patient looking at it.

A week is keyed by doctor, Monday, the half-hour `now` falls in and the language of its
day names (so a slot that has
just started is never shown from the cache), kept at most `ttl` seconds, and dropped at
once when this process books or cancels with that doctor. A booking made on another
replica shows up here within `ttl`; booking a slot taken meanwhile is still a clean 409,
because the database decides.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from clinic.booking.models import WeekSlots
from clinic.booking.slots import SLOT

SLOT_MINUTES = int(SLOT.total_seconds() // 60)

Key = tuple[int, date, date, int, str]


def key_of(doctor_id: int, monday: date, now: datetime, tz: ZoneInfo, lang: str = "ru") -> Key:
    """The doctor, the week, the clinic-time half-hour of `now` (its date included), and
    the language the days are named in."""
    local = now.astimezone(tz)
    half_hour = (local.hour * 60 + local.minute) // SLOT_MINUTES
    return doctor_id, monday, local.date(), half_hour, lang


class WeekCache:
    def __init__(
        self,
        *,
        ttl: float = 1.0,
        capacity: int = 4096,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._timer = timer
        self._weeks: OrderedDict[Key, tuple[float, WeekSlots]] = OrderedDict()
        self._spread = random.Random()  # noqa: S311 - spreading expiry, not security

    def get(self, key: Key) -> WeekSlots | None:
        found = self._weeks.get(key)
        if found is None:
            return None
        expires, week = found
        if expires <= self._timer():
            del self._weeks[key]
            return None
        return week

    def put(self, key: Key, week: WeekSlots) -> None:
        # Lifetimes spread over [ttl/2, ttl], so weeks filled together do not all expire
        # (and get recomputed) in the same instant.
        lifetime = self._ttl * (0.5 + 0.5 * self._spread.random())
        self._weeks[key] = (self._timer() + lifetime, week)
        self._weeks.move_to_end(key)
        while len(self._weeks) > self._capacity:
            self._weeks.popitem(last=False)

    def forget(self, doctor_id: int) -> None:
        """Drops every week of one doctor: this process just booked or cancelled with them."""
        for key in [k for k in self._weeks if k[0] == doctor_id]:
            del self._weeks[key]

    def clear(self) -> None:
        """Drops every week: the whole clinic's schedule changed (a closure)."""
        self._weeks.clear()
