"""The half-hour grid: weeks, working hours and free slots, in the clinic's wall clock.

Pure functions. A wall-clock time that a DST change skips is not a slot; one that it
repeats is offered once, at its first occurrence (fold=0).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

SLOT = timedelta(minutes=30)
HORIZON_DAYS = 56
WORKDAYS = range(1, 7)  # ISO weekdays Monday..Saturday: the days the API shows
DEFAULT_HOURS = {weekday: (time(8, 0), time(20, 0)) for weekday in WORKDAYS}


Hours = dict[int, tuple[time, time]]


@dataclass(frozen=True, slots=True)
class Interval:
    starts_at: datetime
    ends_at: datetime


def week_start(day: date) -> date:
    """The Monday of the ISO week holding `day` (a Sunday belongs to the week before it)."""
    return day - timedelta(days=day.weekday())


def weekly_hours(rows: Iterable[tuple[int, time, time]]) -> Hours:
    """A doctor's own hours by ISO weekday; no rows means the clinic's default week."""
    own = {weekday: (starts, ends) for weekday, starts, ends in rows}
    return own or dict(DEFAULT_HOURS)


def to_instant(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a wall-clock time, or None when a DST change skips it."""
    local = datetime.combine(day, at, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def grid_times(starts: time, ends: time) -> Iterator[time]:
    """Wall-clock starts of the half-hour slots in [starts, ends)."""
    cursor = datetime.combine(date.min, starts)
    last = datetime.combine(date.min, ends) - SLOT
    while cursor <= last:
        yield cursor.time()
        cursor += SLOT


@lru_cache(maxsize=512)
def _grid(starts: time, ends: time) -> tuple[tuple[time, timedelta, str], ...]:
    """Each slot of [starts, ends): its wall time, its distance from midnight, "HH:MM"."""
    return tuple(
        (at, timedelta(hours=at.hour, minutes=at.minute), f"{at:%H:%M}")
        for at in grid_times(starts, ends)
    )


def _instants(
    day: date, grid: tuple[tuple[time, timedelta, str], ...], tz: ZoneInfo
) -> list[datetime | None]:
    """The UTC instant of each slot start of one day (None where DST skips it)."""
    midnight = datetime.combine(day, time(0))
    first, last = midnight + grid[0][1], midnight + grid[-1][1]
    offset = tz.utcoffset(first)
    if offset is not None and offset == tz.utcoffset(last) and to_instant(day, grid[0][0], tz):
        base = (midnight - offset).replace(tzinfo=UTC)
        return [base + since_midnight for _, since_midnight, _ in grid]
    return [to_instant(day, at, tz) for at, _, _ in grid]  # a DST change falls inside


def on_grid(at: time) -> bool:
    return at.minute in (0, 30) and at.second == 0 and at.microsecond == 0


def free_slots(
    day: date,
    hours: Hours,
    tz: ZoneInfo,
    now: datetime,
    booked: Sequence[Interval],
) -> list[str]:
    """Bookable "HH:MM" starts of one day: on the grid, in hours, ahead of now, not taken.

    `booked` must be sorted by start (a doctor's bookings never overlap, so by end too).
    """
    span = hours.get(day.isoweekday())
    if span is None:
        return []
    grid = _grid(*span)
    if not grid:
        return []
    free = []
    pending = 0  # the first booking that may still overlap a slot to come
    for (_, _, label), instant in zip(grid, _instants(day, grid, tz), strict=True):
        if instant is None or instant <= now:
            continue
        while pending < len(booked) and booked[pending].ends_at <= instant:
            pending += 1
        if pending < len(booked) and booked[pending].starts_at < instant + SLOT:
            continue
        free.append(label)
    return free


def last_bookable_day(today: date) -> date:
    return today + timedelta(days=HORIZON_DAYS)


def day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of the start of `first` and of the day after `last`, clinic time."""
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end
