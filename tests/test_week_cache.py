"""The one-second cache of computed weeks: bounded staleness, dropped on this process's writes."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest

from clinic import db
from clinic.booking import repo
from clinic.booking.cache import WeekCache, key_of
from clinic.booking.models import BookingRequest, WeekSlots
from clinic.booking.service import Bookings
from clinic.users.service import Users
from tests.conftest import Clock, make_settings, user

MONDAY = date(2026, 11, 30)


class Timer:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def week(doctor_id: int) -> WeekSlots:
    return WeekSlots(
        doctor_id=doctor_id, week_start=MONDAY, prev_week=None, next_week=None, days=[]
    )


def test_entries_expire_and_are_forgotten_per_doctor() -> None:
    timer = Timer()
    cache = WeekCache(ttl=1.0, capacity=3, timer=timer)
    tz = make_settings("postgresql://x/y").tz
    now = datetime(2026, 12, 2, 7, 17, tzinfo=UTC)
    one, two = key_of(1, MONDAY, now, tz), key_of(2, MONDAY, now, tz)
    cache.put(one, week(1))
    cache.put(two, week(2))
    assert cache.get(one) == week(1)
    cache.forget(1)
    assert cache.get(one) is None and cache.get(two) == week(2)
    timer.now += 1.0
    assert cache.get(two) is None
    for doctor in range(10):
        cache.put(key_of(doctor, MONDAY, now, tz), week(doctor))
    assert cache.get(key_of(6, MONDAY, now, tz)) is None  # only the newest 3 are kept
    assert cache.get(key_of(9, MONDAY, now, tz)) == week(9)


def test_late_in_its_life_a_week_is_due_once_and_still_served() -> None:
    timer = Timer()
    cache = WeekCache(ttl=1.0, timer=timer)
    key = key_of(
        1, MONDAY, datetime(2026, 12, 2, 7, 17, tzinfo=UTC), make_settings("postgresql://x/y").tz
    )
    cache.put(key, week(1))
    assert not cache.due(key)  # fresh
    timer.now += 0.59
    assert not cache.due(key)  # a refresh is due 0.6-0.9 s after the put, no sooner
    timer.now += 0.31  # past that now, and not expired
    assert cache.due(key) and not cache.due(key)  # one reader refreshes, not all
    assert cache.get(key) == week(1)  # the others go on with the kept one
    cache.done(key)  # that refresh failed: the next reader may try again
    assert cache.due(key)
    cache.put(key, week(2))
    assert cache.get(key) == week(2) and not cache.due(key)


def test_a_week_computed_across_a_forget_is_not_kept() -> None:
    cache = WeekCache(ttl=1.0, timer=Timer())
    key = key_of(
        1, MONDAY, datetime(2026, 12, 2, 7, 17, tzinfo=UTC), make_settings("postgresql://x/y").tz
    )
    epoch = cache.epoch  # a read starts...
    cache.forget(1)  # ...this process books with the doctor meanwhile...
    cache.put(key, week(1), epoch)  # ...and the read's older week is not kept
    assert cache.get(key) is None
    cache.put(key, week(1), cache.epoch)
    assert cache.get(key) == week(1)


def test_the_half_hour_of_now_is_part_of_the_key() -> None:
    tz = make_settings("postgresql://x/y").tz
    before = key_of(1, MONDAY, datetime(2026, 12, 2, 7, 29, tzinfo=UTC), tz)  # 10:29 Moscow
    after = key_of(1, MONDAY, datetime(2026, 12, 2, 7, 30, tzinfo=UTC), tz)  # 10:30 Moscow
    assert before != after


async def test_anothers_booking_shows_within_the_ttl_and_ours_at_once(
    dsn: str, conn: asyncpg.Connection, clock: Clock
) -> None:
    timer = Timer()
    cache = WeekCache(ttl=1.0, timer=timer)
    tz = make_settings(dsn).tz
    doctor = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    pool = await db.create_pool(dsn, min_size=1, max_size=2)
    database = db.Database.of(pool)
    bookings = Bookings(database, tz=tz, clock=clock, cache=cache)
    try:

        async def thursday() -> list[str]:
            found = await bookings.week_slots(doctor)
            return found.days[3].slots

        assert "09:00" in await thursday()
        # Refreshed with nothing changed: the kept week itself, not computed again.
        kept = await bookings.week(doctor)
        timer.now += 0.9
        assert await bookings.week(doctor) is kept
        await asyncio.gather(*bookings._refreshes)
        assert await bookings.week(doctor) is kept and not cache.due(
            key_of(doctor, MONDAY, clock(), tz)
        )
        # Another replica books 09:00: this process may show it free for up to the ttl.
        await conn.execute("INSERT INTO users (telegram_id, first_name) VALUES (5, 'x')")
        await conn.execute(
            "INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at) VALUES"
            " ($1, 5, '2026-12-03 06:00+00', '2026-12-03 06:30+00')",
            doctor,
        )
        assert "09:00" in await thursday()
        timer.now += 0.9  # due for a refresh: still the kept week, recomputed behind it
        assert "09:00" in await thursday()
        await asyncio.gather(*bookings._refreshes)
        assert "09:00" not in await thursday()
        await conn.execute("DELETE FROM bookings WHERE user_id = 5")
        timer.now += 1.0  # expired: read again
        assert "09:00" in await thursday()
        # This process books 10:00: gone at once.
        await Users(database).register(user(6))
        request = BookingRequest.model_validate(
            {"doctor_id": doctor, "date": "2026-12-03", "time": "10:00"}
        )
        await bookings.create_booking(6, request)
        assert "10:00" not in await thursday()
    finally:
        await pool.close()


async def test_bookings_off_the_grid_by_a_fraction_take_just_the_slots_they_overlap(
    dsn: str, conn: asyncpg.Connection, clock: Clock
) -> None:
    """The week reads bookings as whole seconds (widened outward): a booking written by
    plain SQL a fraction off the half-hour grid still takes exactly the slots it
    overlaps, no more."""
    doctor = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    await conn.execute("INSERT INTO users (telegram_id, first_name) VALUES (7, 'x'), (8, 'y')")
    # Thursday 2026-12-03, Moscow time: 09:00-09:29:59.5 and 10:00:00.5-10:30.
    await conn.execute(
        "INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at) VALUES"
        " ($1, 7, '2026-12-03 06:00+00', '2026-12-03 06:29:59.5+00'),"
        " ($1, 8, '2026-12-03 07:00:00.5+00', '2026-12-03 07:30+00')",
        doctor,
    )
    pool = await db.create_pool(dsn, min_size=1, max_size=1)
    try:
        bookings = Bookings(db.Database.of(pool), tz=make_settings(dsn).tz, clock=clock)
        thursday = (await bookings.week_slots(doctor)).days[3].slots
    finally:
        await pool.close()
    assert "09:00" not in thursday and "10:00" not in thursday
    assert {"08:30", "09:30", "10:30"} <= set(thursday)


async def test_weeks_due_together_are_refreshed_in_one_query(
    dsn: str, conn: asyncpg.Connection, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    timer = Timer()
    cache = WeekCache(ttl=1.0, timer=timer)
    volkov, other = await conn.fetchval(
        "SELECT ARRAY[(SELECT id FROM doctors WHERE slug = 'volkov-igor'),"
        " (SELECT min(id) FROM doctors WHERE slug <> 'volkov-igor')]"
    )
    pool = await db.create_pool(dsn, min_size=1, max_size=2)
    bookings = Bookings(db.Database.of(pool), tz=make_settings(dsn).tz, clock=clock, cache=cache)
    asked: list[int] = []
    real = repo.doctor_weeks

    async def counted(executor: Any, stretches: Any) -> Any:
        asked.append(len(stretches))
        return await real(executor, stretches)

    monkeypatch.setattr(repo, "doctor_weeks", counted)
    try:
        kept = {d: await bookings.week(d) for d in (volkov, other)}
        assert asked == [1, 1]  # each computed on its first read
        await conn.execute("INSERT INTO users (telegram_id, first_name) VALUES (9, 'x')")
        await conn.execute(
            "INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at) VALUES"
            " ($1, 9, '2026-12-03 06:00+00', '2026-12-03 06:30+00')",
            volkov,
        )
        timer.now += 0.9  # both due: each read starts a refresh, and both go in one query
        assert [await bookings.week(d) for d in (volkov, other)] == list(kept.values())
        await asyncio.gather(*bookings._refreshes)
        assert asked == [1, 1, 2]
        assert await bookings.week(other) is kept[other]  # the same answer: kept as it was
        changed = await bookings.week(volkov)  # another's booking: computed again
        assert "09:00" in kept[volkov].slots.days[3].slots
        assert "09:00" not in changed.slots.days[3].slots
    finally:
        await pool.close()
