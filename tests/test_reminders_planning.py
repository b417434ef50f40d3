"""Booking plans its reminders in its own transaction; cancelling cancels them in its own.

(`aiohttp_client` comes after `dsn` in every signature: fixtures are torn down in
reverse, so the app stops before its database is dropped.)

Reminders are planned on the database clock, which is the real one; so these tests
book visits relative to the real time, on an app whose clock is the real time too. To
have a slot at any hour of any day, the doctor works 00:00-23:30 Monday to Saturday,
and the clinic's zone is a fixed offset in which the visit falls on one of those days.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp.test_utils import TestClient

from clinic import db, keys
from clinic.app import create_app
from clinic.listen import Notifier
from clinic.reminders import service as reminders
from tests.conftest import BOT_TOKEN, Clock, auth, make_settings
from tests.fakes.bot_api import FakeBotApi
from tests.test_reminders_dispatch import eventually

OFFSETS = {"confirmation": None, "24h": 24 * 60, "6h": 6 * 60, "30m": 30}


def half_hour_after(delay: timedelta) -> datetime:
    """The first :00 or :30 (UTC) at least `delay` from now."""
    at = datetime.now(UTC) + delay
    hour = at.replace(minute=0, second=0, microsecond=0)
    return next(
        hour + timedelta(minutes=m) for m in (0, 30, 60) if hour + timedelta(minutes=m) >= at
    )


def zone_for(visit: datetime) -> ZoneInfo:
    """A whole-hour zone in which `visit` is Monday to Saturday, 00:00-23:00."""
    for hours in range(-12, 15):
        zone = ZoneInfo(f"Etc/GMT{-hours:+d}")  # Etc/GMT-3 is UTC+3
        local = visit.astimezone(zone)
        if local.isoweekday() <= 6 and local.strftime("%H:%M") <= "23:00":
            return zone
    raise AssertionError(f"no zone puts {visit} on a working day")


async def doctor_open_all_day(conn: asyncpg.Connection) -> int:
    doctor: int = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    await conn.execute(
        "INSERT INTO doctor_hours (doctor_id, weekday, starts, ends)"
        " SELECT $1, d, '00:00', '23:30' FROM generate_series(1, 6) AS d",
        doctor,
    )
    return doctor


@dataclass
class Visit:
    """An app in a zone that makes `starts_at` bookable, and a doctor free then."""

    client: TestClient
    clock: Clock
    tz: ZoneInfo
    doctor: int
    starts_at: datetime

    async def book(self, who: int) -> Any:
        local = self.starts_at.astimezone(self.tz)
        return await self.client.post(
            "/api/bookings",
            json={"doctor_id": self.doctor, "date": f"{local:%Y-%m-%d}", "time": f"{local:%H:%M}"},
            headers=auth(who, clock=self.clock),
        )

    async def cancel(self, who: int, booking_id: int) -> Any:
        return await self.client.post(
            f"/api/bookings/{booking_id}/cancel", headers=auth(who, clock=self.clock)
        )


async def open_visit(
    dsn: str, conn: asyncpg.Connection, aiohttp_client: Any, delay: timedelta
) -> Visit:
    starts_at = half_hour_after(delay)
    zone = zone_for(starts_at)
    clock = Clock(datetime.now(UTC))
    # No dispatcher: these tests read what was planned, so nothing may be claimed meanwhile.
    app = create_app(make_settings(dsn, clinic_tz=zone.key), clock=clock, worker=False)
    client = await aiohttp_client(app)
    return Visit(client, clock, zone, await doctor_open_all_day(conn), starts_at)


async def rows_of(conn: asyncpg.Connection, booking_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT kind, due_at, status, chat_id, attempts FROM notifications"
        " WHERE booking_id = $1 ORDER BY due_at",
        booking_id,
    )


def expected_due(kind: str, starts_at: datetime) -> datetime | None:
    minutes = OFFSETS[kind]
    return None if minutes is None else starts_at - timedelta(minutes=minutes)


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_visit_days_ahead_gets_all_four(
    dsn: str, conn: asyncpg.Connection, aiohttp_client: Any
) -> None:
    visit = await open_visit(dsn, conn, aiohttp_client, timedelta(days=3))
    before = datetime.now(UTC)
    response = await visit.book(1001)
    after = datetime.now(UTC)
    assert response.status == 201
    body = await response.json()
    planned = body["reminders"]
    assert [r["kind"] for r in planned] == ["confirmation", "24h", "6h", "30m"]
    assert all(r["status"] == "pending" for r in planned)
    confirmation = parse_instant(planned[0]["due_at"])
    assert before - timedelta(seconds=5) <= confirmation <= after + timedelta(seconds=5)
    for reminder in planned[1:]:
        assert parse_instant(reminder["due_at"]) == expected_due(reminder["kind"], visit.starts_at)

    rows = await rows_of(conn, body["id"])
    assert [(r["kind"], r["due_at"]) for r in rows] == [
        (r["kind"], parse_instant(r["due_at"])) for r in planned
    ]
    assert {r["chat_id"] for r in rows} == {1001}
    # Not due yet, so no dispatcher can have touched them.
    assert [(r["status"], r["attempts"]) for r in rows[1:]] == [("pending", 0)] * 3


async def test_a_visit_in_two_hours_gets_the_confirmation_and_the_30_minute_one(
    dsn: str, conn: asyncpg.Connection, aiohttp_client: Any
) -> None:
    visit = await open_visit(dsn, conn, aiohttp_client, timedelta(hours=2))
    response = await visit.book(1001)
    assert response.status == 201
    body = await response.json()
    assert [r["kind"] for r in body["reminders"]] == ["confirmation", "30m"]
    assert parse_instant(body["reminders"][1]["due_at"]) == visit.starts_at - timedelta(minutes=30)
    assert [r["kind"] for r in await rows_of(conn, body["id"])] == ["confirmation", "30m"]


async def test_a_409_plans_nothing(dsn: str, conn: asyncpg.Connection, aiohttp_client: Any) -> None:
    visit = await open_visit(dsn, conn, aiohttp_client, timedelta(days=3))
    first = await visit.book(1001)
    assert first.status == 201
    taken = await visit.book(1002)
    assert taken.status == 409
    assert await conn.fetchval("SELECT count(*) FROM notifications") == 4
    assert await conn.fetchval("SELECT count(*) FROM notifications WHERE chat_id = 1002") == 0


async def test_cancelling_cancels_the_pending_ones_in_the_same_transaction(
    dsn: str, conn: asyncpg.Connection, aiohttp_client: Any
) -> None:
    visit = await open_visit(dsn, conn, aiohttp_client, timedelta(days=3))
    booking = await (await visit.book(1001)).json()

    # Another transaction holds one reminder row: the cancel must wait for it, and
    # while it waits its cancelled booking is not visible to anyone.
    holder = await asyncpg.connect(dsn)
    try:
        hold = holder.transaction()
        await hold.start()
        await holder.execute(
            "SELECT 1 FROM notifications WHERE booking_id = $1 AND kind = '6h' FOR UPDATE",
            booking["id"],
        )
        cancelling = asyncio.ensure_future(visit.cancel(1001, booking["id"]))
        for _ in range(500):
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting:
                break
            await asyncio.sleep(0.01)
        assert waiting >= 1
        status = "SELECT status FROM bookings WHERE id = $1"
        assert await conn.fetchval(status, booking["id"]) == "confirmed"
        await hold.rollback()
        response = await cancelling
    finally:
        await holder.close()

    assert response.status == 200
    body = await response.json()
    assert body["status"] == "cancelled"
    assert [(r["kind"], r["status"]) for r in body["reminders"]] == [
        ("confirmation", "cancelled"),
        ("24h", "cancelled"),
        ("6h", "cancelled"),
        ("30m", "cancelled"),
    ]
    assert await conn.fetchval(status, booking["id"]) == "cancelled"
    left = {(r["kind"], r["status"]) for r in await rows_of(conn, booking["id"])}
    # Every reminder is cancelled with it; the patient is told of the cancellation.
    reminders = {kind for kind, status in left if status == "cancelled"}
    assert reminders == {"confirmation", "24h", "6h", "30m"}
    assert [kind for kind, status in left if status != "cancelled"] == ["cancelled"]


async def test_a_sent_reminder_stays_sent_when_the_booking_is_cancelled(
    dsn: str, conn: asyncpg.Connection, aiohttp_client: Any
) -> None:
    visit = await open_visit(dsn, conn, aiohttp_client, timedelta(days=3))
    booking = await (await visit.book(1001)).json()
    await conn.execute(
        "UPDATE notifications SET status = 'sent', sent_at = now(), leased_until = NULL"
        " WHERE booking_id = $1 AND kind = 'confirmation'",
        booking["id"],
    )
    body = await (await visit.cancel(1001, booking["id"])).json()
    assert [r["status"] for r in body["reminders"]] == ["sent"] + ["cancelled"] * 3
    again = await (await visit.cancel(1001, booking["id"])).json()
    assert again["reminders"] == body["reminders"]


async def test_a_booking_wakes_this_process_dispatcher_at_once_and_the_others_after(
    dsn: str, conn: asyncpg.Connection, aiohttp_client: Any
) -> None:
    """The confirmation goes out at once: the process that booked wakes its own
    dispatcher; other replicas' hear one NOTIFY sent after the commit (one inside the
    booking's transaction would serialise commits)."""
    heard: list[str] = []
    await conn.add_listener(reminders.CHANNEL, lambda *args: heard.append(args[3]))
    starts_at = half_hour_after(timedelta(days=3))
    zone = zone_for(starts_at)
    async with FakeBotApi(BOT_TOKEN) as fake:
        settings = make_settings(dsn, clinic_tz=zone.key, telegram_api_url=fake.url)
        app = create_app(settings, clock=lambda: datetime.now(UTC))
        visit = Visit(
            await aiohttp_client(app),
            Clock(datetime.now(UTC)),
            zone,
            await doctor_open_all_day(conn),
            starts_at,
        )
        await app[keys.dispatcher].wait_listening()
        await asyncio.sleep(0.2)  # past its first claim: now it sleeps for its poll (5 s)
        started = asyncio.get_running_loop().time()
        assert (await visit.book(1001)).status == 201
        await eventually(lambda: fake.sent_messages(1001), within=10)
        assert asyncio.get_running_loop().time() - started < 2.5
        # The booking's NOTIFY (empty payload) came before this one:
        await conn.execute("SELECT pg_notify($1, 'probe')", reminders.CHANNEL)
        await eventually(lambda: "probe" in heard)
        assert heard == ["", "probe"]


async def test_pokes_that_come_together_cost_one_notify(dsn: str, conn: asyncpg.Connection) -> None:
    heard: list[str] = []
    await conn.add_listener("clinic_test_pokes", lambda *args: heard.append(args[3]))
    database = db.Database(dsn, min_size=1, max_size=2)
    await database.open()
    notifier = Notifier(database, channel="clinic_test_pokes", spacing=0.05)
    try:
        async with notifier.running():
            for _ in range(100):  # a burst of bookings committing at once
                notifier.poke()
            await eventually(lambda: notifier.sent == 1)
            await asyncio.sleep(0.2)  # no other comes
            assert notifier.sent == 1
            notifier.poke()  # a later one
            await eventually(lambda: notifier.sent == 2)
        await eventually(lambda: len(heard) == 2)
        assert heard == ["", ""]
    finally:
        await database.close()
