"""The half-hour grid in the clinic's wall clock, including DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.booking.slots import (
    DEFAULT_HOURS,
    SLOT,
    Interval,
    free_slots,
    grid_times,
    to_instant,
    week_start,
    weekly_hours,
)

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
CAIRO = ZoneInfo("Africa/Cairo")  # DST changes on a Friday (April) and a Thursday (October)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def hhmm(labels: list[str]) -> list[str]:
    return labels


def test_a_week_runs_from_monday_and_sunday_belongs_to_the_week_before() -> None:
    assert week_start(date(2026, 11, 30)) == date(2026, 11, 30)  # Monday
    assert week_start(date(2026, 12, 5)) == date(2026, 11, 30)  # Saturday
    assert week_start(date(2026, 12, 6)) == date(2026, 11, 30)  # Sunday


def test_the_default_day_has_24_slots_ending_at_19_30() -> None:
    slots = list(grid_times(*DEFAULT_HOURS[1]))
    assert len(slots) == 24
    assert (slots[0], slots[-1]) == (time(8, 0), time(19, 30))


def test_no_rows_means_the_default_week_and_own_rows_replace_it() -> None:
    assert weekly_hours([]) == DEFAULT_HOURS
    own = weekly_hours([(2, time(14, 0), time(16, 0))])
    assert own == {2: (time(14, 0), time(16, 0))}


def test_sunday_and_days_off_have_no_slots() -> None:
    sunday = date(2026, 12, 6)
    assert free_slots(sunday, DEFAULT_HOURS, MOSCOW, LONG_AGO, []) == []
    tuesday_only = {2: (time(14, 0), time(16, 0))}
    assert free_slots(date(2026, 12, 2), tuesday_only, MOSCOW, LONG_AGO, []) == []
    assert hhmm(free_slots(date(2026, 12, 1), tuesday_only, MOSCOW, LONG_AGO, [])) == [
        "14:00",
        "14:30",
        "15:00",
        "15:30",
    ]


def test_past_times_today_and_booked_slots_are_not_free() -> None:
    day = date(2026, 12, 2)
    now = datetime(2026, 12, 2, 7, 17, tzinfo=UTC)  # 10:17 in Moscow
    booked = [
        Interval(datetime(2026, 12, 2, 8, 0, tzinfo=UTC), datetime(2026, 12, 2, 8, 30, tzinfo=UTC))
    ]
    free = hhmm(free_slots(day, DEFAULT_HOURS, MOSCOW, now, booked))
    assert free[:3] == ["10:30", "11:30", "12:00"]  # 11:00 Moscow is 08:00 UTC, booked
    assert "10:00" not in free and len(free) == 18


def test_berlin_slots_take_the_offset_of_their_own_day_across_the_dst_change() -> None:
    # Clocks go forward on Sunday 29 March 2026: Saturday is UTC+1, Monday UTC+2.
    assert to_instant(date(2026, 3, 28), time(8, 0), BERLIN) == datetime(
        2026, 3, 28, 7, 0, tzinfo=UTC
    )
    assert to_instant(date(2026, 3, 30), time(8, 0), BERLIN) == datetime(
        2026, 3, 30, 6, 0, tzinfo=UTC
    )


def test_a_skipped_wall_time_is_not_a_slot() -> None:
    # Cairo, Friday 24 April 2026: 00:00 jumps to 01:00.
    friday = date(2026, 4, 24)
    hours = {5: (time(0, 0), time(2, 0))}
    assert to_instant(friday, time(0, 30), CAIRO) is None
    assert hhmm(free_slots(friday, hours, CAIRO, LONG_AGO, [])) == ["01:00", "01:30"]


def test_a_repeated_wall_time_is_offered_once_at_its_first_occurrence() -> None:
    # Cairo, Thursday 29 October 2026: 24:00 goes back to 23:00, so 23:00-23:59 repeats.
    thursday = date(2026, 10, 29)
    hours = {4: (time(22, 0), time(23, 30))}
    assert hhmm(free_slots(thursday, hours, CAIRO, LONG_AGO, [])) == ["22:00", "22:30", "23:00"]
    first = to_instant(thursday, time(23, 0), CAIRO)
    assert first == datetime(2026, 10, 29, 20, 0, tzinfo=UTC)  # still UTC+3


def reference_free_slots(
    day: date,
    hours: dict[int, tuple[time, time]],
    tz: ZoneInfo,
    now: datetime,
    booked: list[Interval],
) -> list[str]:
    """The plain definition: convert every wall time on its own, check every booking."""
    span = hours.get(day.isoweekday())
    if span is None:
        return []
    free = []
    for at in grid_times(*span):
        instant = to_instant(day, at, tz)
        if instant is None or instant <= now:
            continue
        if any(b.starts_at < instant + SLOT and instant < b.ends_at for b in booked):
            continue
        free.append(at.strftime("%H:%M"))
    return free


def test_the_fast_path_matches_the_definition_on_every_day_of_a_year() -> None:
    zones = [
        "Europe/Moscow",
        "Europe/Berlin",
        "Africa/Cairo",
        "America/New_York",
        "Australia/Lord_Howe",
    ]
    all_day = dict.fromkeys(range(1, 8), (time(0, 0), time(23, 30)))
    now = datetime(2026, 6, 15, 9, 10, tzinfo=UTC)
    for name in zones:
        tz = ZoneInfo(name)
        day = date(2026, 1, 1)
        while day.year == 2026:
            start = to_instant(day, time(9, 0), tz) or datetime(2026, 1, 1, tzinfo=UTC)
            booked = [Interval(start, start + SLOT), Interval(start + 3 * SLOT, start + 5 * SLOT)]
            for hours in (DEFAULT_HOURS, all_day):
                assert free_slots(day, hours, tz, now, booked) == reference_free_slots(
                    day, hours, tz, now, booked
                ), (name, day)
            day += timedelta(days=1)
