"""The half-hour grid: weeks, working hours and free slots, in the clinic's wall clock.

Pure functions. A wall-clock time that a DST change skips is not a slot; one that it
repeats is offered once, at its first occurrence (fold=0).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLOT = timedelta(minutes=30)
HORIZON_DAYS = 56
WORKDAYS = range(1, 7)  # ISO weekdays Monday..Saturday: the days the API shows
DEFAULT_HOURS = {weekday: (time(8, 0), time(20, 0)) for weekday in WORKDAYS}

WEEKDAY_NAMES = ("Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота", "Воскресенье")
WEEKDAY_SHORT = ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс")

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


def on_grid(at: time) -> bool:
    return at.minute in (0, 30) and at.second == 0 and at.microsecond == 0


def free_slots(
    day: date,
    hours: Hours,
    tz: ZoneInfo,
    now: datetime,
    booked: Sequence[Interval],
) -> list[time]:
    """Bookable wall-clock starts of one day: on the grid, in hours, ahead of now, not taken."""
    span = hours.get(day.isoweekday())
    if span is None:
        return []
    free = []
    for at in grid_times(*span):
        instant = to_instant(day, at, tz)
        if instant is None or instant <= now:
            continue
        ends = instant + SLOT
        if any(b.starts_at < ends and instant < b.ends_at for b in booked):
            continue
        free.append(at)
    return free


def last_bookable_day(today: date) -> date:
    return today + timedelta(days=HORIZON_DAYS)


def day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of the start of `first` and of the day after `last`, clinic time."""
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end
