"""Slots, booking, listing and cancelling through the REST API, on a real database.

The app's clock stands at Wednesday 2 December 2026, 10:17 Moscow time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from clinic.app import create_app
from tests.conftest import BOT_TOKEN, Clock, auth, make_settings, user

THURSDAY = "2026-12-03"


async def doctor_id(conn: asyncpg.Connection, slug: str = "volkov-igor") -> int:
    found: int = await conn.fetchval("SELECT id FROM doctors WHERE slug = $1", slug)
    return found


async def book(client: TestClient, who: int, doctor: int, day: str, at: str, clock: Clock) -> Any:
    return await client.post(
        "/api/bookings",
        json={"doctor_id": doctor, "date": day, "time": at},
        headers=auth(who, clock=clock),
    )


async def booking_count(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM bookings")
    return count


# Slots


async def test_the_current_week_has_no_past_days_or_times(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    doctor = await doctor_id(conn)
    week = await (await client.get(f"/api/doctors/{doctor}/slots")).json()
    assert week["week_start"] == "2026-11-30"
    assert (week["prev_week"], week["next_week"]) == (None, "2026-12-07")
    days = week["days"]
    assert [d["weekday_short"] for d in days] == ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб"]
    assert [d["count"] for d in days] == [0, 0, 19, 24, 24, 24]
    assert [d["open"] for d in days] == [False, False, True, True, True, True]
    assert days[2]["slots"][0] == "10:30"
    assert days[3]["slots"][-1] == "19:30"
    assert all(d["count"] == len(d["slots"]) for d in days)


async def test_a_sunday_asks_for_the_week_before_it(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    doctor = await doctor_id(conn)
    week = await (await client.get(f"/api/doctors/{doctor}/slots?week_of=2026-12-06")).json()
    assert week["week_start"] == "2026-11-30"
    following = await (await client.get(f"/api/doctors/{doctor}/slots?week_of=2026-12-07")).json()
    assert following["prev_week"] == "2026-11-30"
    assert [d["count"] for d in following["days"]] == [24] * 6


async def test_a_doctor_with_own_hours(client: TestClient, conn: asyncpg.Connection) -> None:
    doctor = await doctor_id(conn, "lebedeva-natalya")  # Mon, Wed, Fri 09:00-15:00
    week = await (await client.get(f"/api/doctors/{doctor}/slots?week_of=2026-12-07")).json()
    assert [d["count"] for d in week["days"]] == [12, 0, 12, 0, 12, 0]
    assert [d["open"] for d in week["days"]] == [True, False, True, False, True, False]
    assert week["days"][0]["slots"][0] == "09:00" and week["days"][0]["slots"][-1] == "14:30"


async def test_a_fully_booked_day_has_no_slots(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    doctor = await doctor_id(conn)
    for n in range(24):
        at = f"{8 + n // 2:02d}:{30 * (n % 2):02d}"
        assert (await book(client, 2000 + n, doctor, THURSDAY, at, clock)).status == 201
    week = await (await client.get(f"/api/doctors/{doctor}/slots")).json()
    assert [d["count"] for d in week["days"]] == [0, 0, 19, 0, 24, 24]
    # Full, not off: the one day of the week worth waiting for.
    assert [d["open"] for d in week["days"]] == [False, False, True, True, True, True]


async def test_weeks_beyond_the_horizon_are_empty(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    doctor = await doctor_id(conn)
    week = await (await client.get(f"/api/doctors/{doctor}/slots?week_of=2027-01-25")).json()
    # The horizon is 56 days: up to Wednesday 27 January 2027.
    assert [d["count"] for d in week["days"]] == [24, 24, 24, 0, 0, 0]
    assert [d["open"] for d in week["days"]] == [True, True, True, False, False, False]
    assert week["next_week"] is None


@pytest.mark.parametrize(
    "week_of", ["2026-13-01", "tomorrow", "20261207", "2031-01-01", "1900-01-01"]
)
async def test_a_bad_week_of_is_a_422(
    client: TestClient, conn: asyncpg.Connection, week_of: str
) -> None:
    response = await client.get(
        f"/api/doctors/{await doctor_id(conn)}/slots", params={"week_of": week_of}
    )
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "week_of"


async def test_slots_of_an_unknown_doctor_are_404(client: TestClient) -> None:
    assert (await client.get("/api/doctors/9999/slots")).status == 404


# Booking


async def test_booking_a_slot(client: TestClient, conn: asyncpg.Connection, clock: Clock) -> None:
    doctor = await doctor_id(conn)
    response = await book(client, 1001, doctor, THURSDAY, "09:30", clock)
    assert response.status == 201
    body = await response.json()
    assert body["status"] == "confirmed" and body["upcoming"] is True
    assert (body["date"], body["time"]) == (THURSDAY, "09:30")
    assert body["starts_at"] == "2026-12-03T06:30:00Z" and body["ends_at"] == "2026-12-03T07:00:00Z"
    assert body["doctor"]["full_name"].startswith("Волков")
    row = await conn.fetchrow(
        "SELECT user_id, doctor_id, status FROM bookings WHERE id = $1", body["id"]
    )
    assert dict(row) == {"user_id": 1001, "doctor_id": doctor, "status": "confirmed"}
    assert await conn.fetchval("SELECT first_name FROM users WHERE telegram_id = 1001") == "Анна"
    week = await (await client.get(f"/api/doctors/{doctor}/slots")).json()
    assert "09:30" not in week["days"][3]["slots"] and week["days"][3]["count"] == 23


async def test_a_taken_slot_is_409_and_a_busy_patient_is_409(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    doctor, other = await doctor_id(conn), await doctor_id(conn, "ivanova-anna")
    assert (await book(client, 1001, doctor, THURSDAY, "09:30", clock)).status == 201
    taken = await book(client, 1002, doctor, THURSDAY, "09:30", clock)
    assert taken.status == 409
    assert (await taken.json())["code"] == "slot_taken"
    busy = await book(client, 1001, other, THURSDAY, "09:30", clock)
    assert busy.status == 409
    assert (await busy.json())["code"] == "patient_busy"
    assert await booking_count(conn) == 1


@pytest.mark.parametrize(
    ("day", "at", "field"),
    [
        ("2026-12-01", "12:00", "date"),  # yesterday
        ("2026-12-02", "10:00", "time"),  # today, already past
        (THURSDAY, "09:15", "time"),  # off the grid
        (THURSDAY, "07:30", "time"),  # before opening
        (THURSDAY, "20:00", "time"),  # after closing
        ("2026-12-06", "10:00", "date"),  # Sunday
        ("2027-02-01", "10:00", "date"),  # beyond the horizon
    ],
)
async def test_unbookable_times_are_422(
    client: TestClient, conn: asyncpg.Connection, clock: Clock, day: str, at: str, field: str
) -> None:
    response = await book(client, 1001, await doctor_id(conn), day, at, clock)
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["errors"][0]["field"] == field
    assert await booking_count(conn) == 0


async def test_a_doctors_day_off_is_422(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    doctor = await doctor_id(conn, "lebedeva-natalya")  # not on Thursdays
    response = await book(client, 1001, doctor, THURSDAY, "10:00", clock)
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "date"


async def test_an_unknown_doctor_is_404(client: TestClient, clock: Clock) -> None:
    assert (await book(client, 1001, 9999, THURSDAY, "10:00", clock)).status == 404


@pytest.mark.parametrize(
    "body",
    [
        {"doctor_id": 1, "date": THURSDAY},
        {"doctor_id": "one", "date": THURSDAY, "time": "10:00"},
        {"doctor_id": 1, "date": THURSDAY, "time": 10},
        {"doctor_id": 1, "date": "03.12.2026", "time": "10:00"},
        {"doctor_id": 1, "date": THURSDAY, "time": "25:00"},
        {"doctor_id": 1, "date": THURSDAY, "time": "10:00", "user_id": 42},
        {"doctor_id": 2**40, "date": THURSDAY, "time": "10:00"},
        {"doctor_id": -1, "date": THURSDAY, "time": "10:00"},
    ],
)
async def test_ill_typed_bodies_are_422(
    client: TestClient, conn: asyncpg.Connection, clock: Clock, body: dict[str, Any]
) -> None:
    response = await client.post("/api/bookings", json=body, headers=auth(1001, clock=clock))
    assert response.status == 422
    problem = await response.json()
    assert problem["code"] == "validation_error" and problem["errors"]
    assert await booking_count(conn) == 0


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "application/json"),
        (b"doctor_id=1", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_bodies_are_400(
    client: TestClient, clock: Clock, data: bytes, content_type: str
) -> None:
    headers = {**auth(1001, clock=clock), "Content-Type": content_type}
    response = await client.post("/api/bookings", data=data, headers=headers)
    assert response.status == 400
    assert response.content_type == "application/problem+json"


async def test_a_huge_body_is_413(client: TestClient, clock: Clock) -> None:
    headers = {**auth(1001, clock=clock), "Content-Type": "application/json"}
    response = await client.post(
        "/api/bookings", data=b"[" + b"1," * 40_000 + b"1]", headers=headers
    )
    assert response.status == 413
    assert response.content_type == "application/problem+json"


async def test_fifty_patients_racing_for_one_slot_get_one_booking(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    doctor = await doctor_id(conn)
    responses = await asyncio.gather(
        *(book(client, 5000 + n, doctor, THURSDAY, "12:00", clock) for n in range(50))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [409] * 49
    assert await booking_count(conn) == 1


# Listing and cancelling


async def test_a_patient_lists_only_their_own_bookings_upcoming_first(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    doctor = await doctor_id(conn)
    for day, at in ((THURSDAY, "15:00"), (THURSDAY, "11:00"), ("2026-12-04", "09:00")):
        assert (await book(client, 1001, doctor, day, at, clock)).status == 201
    assert (await book(client, 1002, doctor, "2026-12-04", "10:00", clock)).status == 201
    first = await (await client.get("/api/bookings", headers=auth(1001, clock=clock))).json()
    cancel = await client.post(
        f"/api/bookings/{first[0]['id']}/cancel", headers=auth(1001, clock=clock)
    )
    assert cancel.status == 200
    mine = await (await client.get("/api/bookings", headers=auth(1001, clock=clock))).json()
    assert [(b["date"], b["time"], b["status"]) for b in mine] == [
        (THURSDAY, "15:00", "confirmed"),
        ("2026-12-04", "09:00", "confirmed"),
        (THURSDAY, "11:00", "cancelled"),
    ]
    theirs = await (await client.get("/api/bookings", headers=auth(1002, clock=clock))).json()
    assert [b["time"] for b in theirs] == ["10:00"]


async def test_cancelling_frees_the_slot_for_another_patient(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    doctor = await doctor_id(conn)
    booking = await (await book(client, 1001, doctor, THURSDAY, "10:00", clock)).json()
    response = await client.post(
        f"/api/bookings/{booking['id']}/cancel", headers=auth(1001, clock=clock)
    )
    body = await response.json()
    assert (body["status"], body["upcoming"]) == ("cancelled", False) and body["cancelled_at"]
    again = await client.post(
        f"/api/bookings/{booking['id']}/cancel", headers=auth(1001, clock=clock)
    )
    assert again.status == 200 and (await again.json())["status"] == "cancelled"
    assert (await book(client, 1002, doctor, THURSDAY, "10:00", clock)).status == 201


async def test_another_patients_booking_is_404_and_unchanged(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    booking = await (
        await book(client, 1001, await doctor_id(conn), THURSDAY, "10:00", clock)
    ).json()
    intruder = auth(666, clock=clock)
    assert (
        await client.post(f"/api/bookings/{booking['id']}/cancel", headers=intruder)
    ).status == 404
    assert (await client.get(f"/api/bookings/{booking['id']}", headers=intruder)).status == 404
    assert (
        await client.post("/api/bookings/99999999999999999999/cancel", headers=intruder)
    ).status == 404
    assert (
        await conn.fetchval("SELECT status FROM bookings WHERE id = $1", booking["id"])
        == "confirmed"
    )
    own = await client.get(f"/api/bookings/{booking['id']}", headers=auth(1001, clock=clock))
    assert (await own.json())["id"] == booking["id"]


async def test_a_started_booking_cannot_be_cancelled(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    booking = await (
        await book(client, 1001, await doctor_id(conn), THURSDAY, "10:00", clock)
    ).json()
    clock.now = datetime(2026, 12, 3, 7, 5, tzinfo=UTC)  # 10:05 Moscow
    response = await client.post(
        f"/api/bookings/{booking['id']}/cancel", headers=auth(1001, clock=clock)
    )
    assert response.status == 409
    assert (await response.json())["code"] == "booking_past"
    assert (
        await conn.fetchval("SELECT status FROM bookings WHERE id = $1", booking["id"])
        == "confirmed"
    )


# Authentication


async def test_the_caller_is_whoever_signed_the_init_data(client: TestClient, clock: Clock) -> None:
    me = await client.get("/api/me", headers=auth(user(77, "Ольга", username="olga"), clock=clock))
    assert await me.json() == {
        "id": 77,
        "first_name": "Ольга",
        "last_name": None,
        "username": "olga",
        "language_code": "ru",
        "demo": False,
    }


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "init_data_missing"),
        ({"Authorization": "Bearer abc"}, "init_data_missing"),
        ({"Authorization": "tma "}, "init_data_missing"),
        ({"Authorization": "tma user=1&hash=00"}, "init_data_invalid"),
    ],
)
async def test_missing_or_bad_init_data_is_401(
    client: TestClient, headers: dict[str, str], code: str
) -> None:
    for method, path in (
        ("GET", "/api/me"),
        ("GET", "/api/bookings"),
        ("POST", "/api/bookings"),
        ("POST", "/api/bookings/1/cancel"),
    ):
        response = await client.request(method, path, headers=headers)
        assert response.status == 401, path
        assert (await response.json())["code"] == code


async def test_expired_or_foreign_init_data_is_401(client: TestClient, clock: Clock) -> None:
    old = int((clock.now - timedelta(days=2)).timestamp())
    expired = await client.get("/api/me", headers=auth(1001, auth_date=old))
    assert (await expired.json())["code"] == "init_data_expired"
    foreign = await client.get("/api/me", headers=auth(1001, clock=clock, token="42:another-bot"))
    assert (await foreign.json())["code"] == "init_data_invalid"


async def test_the_demo_identity_is_absent_with_a_bot_token(client: TestClient) -> None:
    response = await client.get("/api/demo/identity")
    assert response.status == 404


async def test_the_demo_identity_signs_in_demo_mode(
    aiohttp_client: Any, dsn: str, clock: Clock
) -> None:
    demo = await aiohttp_client(create_app(make_settings(dsn, bot_token=None), clock=clock))
    identity = await (await demo.get("/api/demo/identity")).json()
    me = await demo.get("/api/me", headers={"Authorization": f"tma {identity['init_data']}"})
    assert me.status == 200
    body = await me.json()
    assert body["demo"] is True and body["id"] == identity["user"]["id"]
    # The demo token is the server's own: the test bot's token does not sign for it.
    assert (
        await demo.get("/api/me", headers=auth(1001, clock=clock, token=BOT_TOKEN))
    ).status == 401


# The clinic's zone


async def test_bookings_in_berlin_take_each_days_offset_across_dst(
    aiohttp_client: Any, dsn: str, conn: asyncpg.Connection
) -> None:
    clock = Clock(datetime(2026, 3, 25, 9, 0, tzinfo=UTC))
    app = create_app(make_settings(dsn, clinic_tz="Europe/Berlin"), clock=clock)
    client = await aiohttp_client(app)
    doctor = await doctor_id(conn)
    saturday = await (await book(client, 1001, doctor, "2026-03-28", "08:00", clock)).json()
    monday = await (await book(client, 1001, doctor, "2026-03-30", "08:00", clock)).json()
    assert saturday["starts_at"] == "2026-03-28T07:00:00Z"
    assert monday["starts_at"] == "2026-03-30T06:00:00Z"
    listed = await (await client.get("/api/bookings", headers=auth(1001, clock=clock))).json()
    assert [(b["date"], b["time"]) for b in listed] == [
        ("2026-03-28", "08:00"),
        ("2026-03-30", "08:00"),
    ]


async def test_a_wall_time_skipped_by_dst_cannot_be_booked(
    aiohttp_client: Any, dsn: str, conn: asyncpg.Connection
) -> None:
    doctor = await doctor_id(conn)
    await conn.execute("INSERT INTO doctor_hours VALUES ($1, 5, '00:00', '02:00')", doctor)
    clock = Clock(datetime(2026, 4, 20, 9, 0, tzinfo=UTC))
    client = await aiohttp_client(
        create_app(make_settings(dsn, clinic_tz="Africa/Cairo"), clock=clock)
    )
    skipped = await book(client, 1001, doctor, "2026-04-24", "00:30", clock)
    assert skipped.status == 422
    assert (await skipped.json())["errors"][0]["field"] == "time"
    kept = await book(client, 1001, doctor, "2026-04-24", "01:00", clock)
    assert (await kept.json())["starts_at"] == "2026-04-23T22:00:00Z"


async def test_contenders_racing_over_many_slots_get_one_booking_each(
    dsn: str, conn: asyncpg.Connection, clock: Clock
) -> None:
    """Many slots raced at once straight through the service: each slot is booked once
    and every other contender gets SlotTaken, never another error. (Inserters racing on
    an exclusion constraint can also deadlock in PostgreSQL under load; bench/booking.py
    drives that over HTTP, and the insert queues on advisory locks to rule it out.)"""
    from clinic import db
    from clinic.booking.models import BookingRequest
    from clinic.booking.service import Bookings, Limits
    from clinic.errors import SlotTaken
    from clinic.users.service import Users

    doctor = await doctor_id(conn)
    pool = await db.create_pool(dsn, min_size=20, max_size=20)
    database = db.Database.of(pool)
    # Each contender books many slots: the patient cap is raised out of the way.
    limits = Limits(max_upcoming=1000)
    bookings = Bookings(database, tz=make_settings(dsn).tz, clock=clock, limits=limits)
    try:
        contenders = range(7000, 7030)
        for n in contenders:
            await Users(database).register(user(n))
        slots = [f"{h:02d}:{m:02d}" for h in range(8, 20) for m in (0, 30)]

        async def attempt(n: int, at: str) -> str:
            request = BookingRequest.model_validate(
                {"doctor_id": doctor, "date": THURSDAY, "time": at}
            )
            try:
                await bookings.create_booking(n, request)
            except SlotTaken:
                return "taken"
            return "booked"

        outcomes = await asyncio.gather(*(attempt(n, at) for at in slots for n in contenders))
    finally:
        await pool.close()
    assert outcomes.count("booked") == len(slots)
    assert outcomes.count("taken") == len(slots) * (len(contenders) - 1)
    assert await booking_count(conn) == len(slots)
