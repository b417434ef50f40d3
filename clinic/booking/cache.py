"""Weeks of free slots computed in the last second, so a popular doctor's week is not
read and computed again for every patient looking at it.

A week is keyed by doctor, Monday, the half-hour `now` falls in and the language of its
day names (so a slot that has just started is never shown from the cache), kept at most
`ttl` seconds, and dropped at once when this process books or cancels with that doctor,
or when any replica changes a schedule (the catalog's NOTIFY). A booking made on another
replica shows up here within `ttl`; booking a slot taken meanwhile is still a clean 409,
because the database decides.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from clinic.booking.slots import SLOT

SLOT_MINUTES = int(SLOT.total_seconds() // 60)

Key = tuple[int, date, date, int, str]
V = TypeVar("V")  # a computed week, in whatever form its reader wants it


def key_of(doctor_id: int, monday: date, now: datetime, tz: ZoneInfo, lang: str = "ru") -> Key:
    """The doctor, the week, the clinic-time half-hour of `now` (its date included), and
    the language the days are named in."""
    local = now.astimezone(tz)
    half_hour = (local.hour * 60 + local.minute) // SLOT_MINUTES
    return doctor_id, monday, local.date(), half_hour, lang


class WeekCache(Generic[V]):
    """Weeks by Key, each kept at most `ttl` seconds.

    Somewhere in the last 40 % to 10 % of its lifetime (spread, so that weeks filled
    together do not all refresh in the same instant) a week is due for a refresh: the
    first reader to see that (`due`) recomputes it in the background while the others go
    on reading the kept one, so a popular week is never missing and its readers never
    queue behind the database. Refreshing late rather than at half-life halves the
    refresh queries of weeks read all the time, with the same bound on how old a week
    can be.
    A week computed before a forget() or clear() is not kept (`put` with the epoch read
    before computing), so a booking of this process is never hidden by a read that
    raced it.
    """

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
        # Key -> (refresh at, expires at, week)
        self._weeks: OrderedDict[Key, tuple[float, float, V]] = OrderedDict()
        self._refreshing: set[Key] = set()
        self._spread = random.Random()  # noqa: S311 - spreading expiry, not security
        self.epoch = 0

    def get(self, key: Key) -> V | None:
        found = self._weeks.get(key)
        if found is None:
            return None
        _, expires, week = found
        if expires <= self._timer():
            del self._weeks[key]
            return None
        return week

    def due(self, key: Key) -> bool:
        """True once per refresh: the kept week is past half its lifetime, and nobody is
        recomputing it yet (the caller now is, and ends with `put` or `done`)."""
        found = self._weeks.get(key)
        if found is None or key in self._refreshing or found[0] > self._timer():
            return False
        self._refreshing.add(key)
        return True

    def done(self, key: Key) -> None:
        self._refreshing.discard(key)

    def put(self, key: Key, week: V, epoch: int | None = None) -> None:
        """Keeps `week`, computed since `epoch` (None: now), unless a forget() or clear()
        came in between."""
        self._refreshing.discard(key)
        if epoch is not None and epoch != self.epoch:
            return
        refresh_at = self._ttl * (0.6 + 0.3 * self._spread.random())
        now = self._timer()
        self._weeks[key] = (now + refresh_at, now + self._ttl, week)
        self._weeks.move_to_end(key)
        while len(self._weeks) > self._capacity:
            self._weeks.popitem(last=False)

    def forget(self, doctor_id: int) -> None:
        """Drops every week of one doctor: this process just booked or cancelled with them."""
        self.epoch += 1
        for key in [k for k in self._weeks if k[0] == doctor_id]:
            del self._weeks[key]

    def clear(self) -> None:
        """Drops every week: the whole clinic's schedule changed (a closure)."""
        self.epoch += 1
        self._weeks.clear()
