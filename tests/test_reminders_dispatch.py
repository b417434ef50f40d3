"""The reminder dispatcher against the fake Bot API over loopback HTTP, on a real database.

Time is driven by the rows: a test makes a row due by inserting or updating it with
due_at = now(), never by sleeping for hours. Dispatchers poll only every 10 s here, so
anything that happens sooner was woken by NOTIFY (or by a due time the dispatcher read).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import pytest

from clinic import db, texts
from clinic.booking.models import BookingRequest
from clinic.booking.service import Bookings
from clinic.dispatch.dispatcher import Dispatcher
from clinic.dispatch.policy import Pace, RetryPolicy
from clinic.dispatch.worker import running
from clinic.reminders import render, repo
from clinic.reminders import service as reminders
from clinic.reminders.service import JobTable
from clinic.telegram.botapi import BotApi
from tests.fakes.bot_api import FakeBotApi

MOSCOW = ZoneInfo("Europe/Moscow")


# --- helpers, also used by test_reminders_workers.py -----------------------------------


async def eventually(probe: Callable[[], Any], *, within: float = 10.0) -> Any:
    """Polls `probe` (plain or async) until it gives something truthy, for `within` s."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not within {within} s: {probe}")
        await asyncio.sleep(0.02)


async def add_users(conn: asyncpg.Connection, chats: Sequence[int]) -> None:
    await conn.execute(
        "INSERT INTO users (telegram_id, first_name) SELECT u, 'Пациент' FROM unnest($1::bigint[])"
        " AS u ON CONFLICT DO NOTHING",
        list(set(chats)),
    )


async def add_bookings(
    conn: asyncpg.Connection,
    chats: Sequence[int],
    *,
    starts_in: timedelta = timedelta(days=10),
    doctor: str = "smirnova-olga",
) -> list[tuple[int, int]]:
    """A booking for each chat (its user) with one doctor, 30 minutes apart from
    `starts_in` on, after that doctor's earlier ones; returns (booking, chat) pairs."""
    await add_users(conn, chats)
    rows = await conn.fetch(
        """INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at)
           SELECT d.id, c.chat, t.at, t.at + interval '30 minutes'
           FROM doctors AS d,
                unnest($1::bigint[]) WITH ORDINALITY AS c (chat, n),
                LATERAL (SELECT now() + $2::interval + (c.n - 1 + (
                    SELECT count(*) FROM bookings AS b WHERE b.doctor_id = d.id))
                    * interval '30 minutes' AS at) AS t
           WHERE d.slug = $3
           ORDER BY c.n
           RETURNING id, user_id""",
        list(chats),
        starts_in,
        doctor,
    )
    return [(row["id"], row["user_id"]) for row in rows]


async def add_due(
    conn: asyncpg.Connection,
    bookings: Sequence[tuple[int, int]],
    kinds: Sequence[str] = ("confirmation",),
    *,
    due_in: timedelta = timedelta(0),
) -> list[int]:
    """Notifications of these kinds for each booking, due at now() + due_in."""
    rows = await conn.fetch(
        """INSERT INTO notifications (booking_id, chat_id, kind, due_at)
           SELECT b.booking, b.chat, k.kind, now() + $4::interval
           FROM unnest($1::bigint[], $2::bigint[]) AS b (booking, chat)
           CROSS JOIN unnest($3::text[]) AS k (kind)
           RETURNING id""",
        [b for b, _ in bookings],
        [c for _, c in bookings],
        list(kinds),
        due_in,
    )
    return [row["id"] for row in rows]


async def wake(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_notify($1, '')", reminders.CHANNEL)


async def statuses(conn: asyncpg.Connection, ids: Sequence[int]) -> list[str]:
    rows = await conn.fetch(
        "SELECT status FROM notifications WHERE id = ANY($1::bigint[]) ORDER BY id", list(ids)
    )
    return [row["status"] for row in rows]


def all_in(conn: asyncpg.Connection, ids: Sequence[int], status: str) -> Callable[[], Any]:
    async def probe() -> bool:
        return set(await statuses(conn, ids)) == {status}

    return probe


async def counted(dispatcher: Dispatcher, **expected: float) -> None:
    """Waits for the counters: they move just after the settling transaction commits."""
    metrics = dispatcher.metrics
    await eventually(lambda: all(getattr(metrics, k) == v for k, v in expected.items()), within=5)


def sends(fake: FakeBotApi, chat_id: int | None = None) -> list[Any]:
    return [c for c in fake.calls_to("sendMessage") if chat_id in (None, c.params["chat_id"])]


class Dispatchers:
    """Starts in-process dispatchers, each with a pool of its own; stops them at the end."""

    def __init__(self, dsn: str, sender: BotApi, stack: AsyncExitStack) -> None:
        self.dsn, self.sender, self.stack = dsn, sender, stack

    async def start(self, **options: Any) -> Dispatcher:
        pool = await db.create_pool(self.dsn, min_size=1, max_size=4)
        self.stack.push_async_callback(pool.close)
        settings: dict[str, Any] = {
            "renderers": render.renderers(MOSCOW, webapp_url="https://clinic.test/"),
            "pace": Pace(rate=0),
            "retry": RetryPolicy(backoff=0.2, max_attempts=4),
            "poll_interval": 10.0,
            "grace": 1.0,
            **options,
        }
        jobs = JobTable(db.Database.of(pool, self.dsn))
        dispatcher = Dispatcher(jobs, self.sender, listen_dsn=self.dsn, **settings)
        await self.stack.enter_async_context(running(dispatcher))
        await asyncio.wait_for(dispatcher.wait_listening(), 10)
        return dispatcher


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def api(fake: FakeBotApi) -> AsyncIterator[BotApi]:
    async with aiohttp.ClientSession() as session:
        yield BotApi(session, fake.token, fake.url, request_timeout=5.0)


@pytest.fixture
async def dispatchers(dsn: str, api: BotApi) -> AsyncIterator[Dispatchers]:
    async with AsyncExitStack() as stack:
        yield Dispatchers(dsn, api, stack)


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    created = await db.create_pool(dsn, min_size=1, max_size=2)
    yield created
    await created.close()


def workday_ahead(days: int) -> date:
    day = datetime.now(MOSCOW).date() + timedelta(days=days)
    return day if day.isoweekday() <= 6 else day + timedelta(days=1)


def bookings_on(pool: asyncpg.Pool) -> Bookings:
    return Bookings(db.Database.of(pool), tz=MOSCOW, clock=lambda: datetime.now(UTC))


async def book_via_service(pool: asyncpg.Pool, conn: asyncpg.Connection, user: int) -> Any:
    await add_users(conn, [user])
    doctor = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    request = BookingRequest(doctor_id=doctor, date=f"{workday_ahead(3)}", time="10:00")
    return await bookings_on(pool).create_booking(user, request)


# --- sending ------------------------------------------------------------------------


async def test_a_booking_sends_its_confirmation_at_once(
    dispatchers: Dispatchers, fake: FakeBotApi, pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    dispatcher = await dispatchers.start()
    started = asyncio.get_running_loop().time()
    booking = await book_via_service(pool, conn, 1001)
    ids = await conn.fetch("SELECT id FROM notifications ORDER BY due_at")
    confirmation, reminder_24h = ids[0]["id"], ids[1]["id"]
    await eventually(all_in(conn, [confirmation], "sent"), within=5)
    assert asyncio.get_running_loop().time() - started < 5  # woken by NOTIFY, not the poll
    messages = fake.sent_messages(1001)
    day = f"{workday_ahead(3):%d.%m.%Y}"
    text = messages[0]["text"]
    assert text.startswith(texts.RU("reminder.confirmation_header"))
    assert f"Запись № {booking.id}" in text and day in text and "10:00" in text
    buttons = [
        b.get("callback_data") or b["web_app"]["url"]
        for row in messages[0]["reply_markup"]["inline_keyboard"]
        for b in row
    ]
    assert buttons == [
        f"v1:cancel:{booking.id}",
        f"https://clinic.test/bookings/{booking.id}/reschedule",
    ]
    row = await conn.fetchrow(
        "SELECT status, attempts, sent_at FROM notifications"
        " WHERE booking_id = $1 AND kind = 'confirmation'",
        booking.id,
    )
    assert (row["status"], row["attempts"]) == ("sent", 1) and row["sent_at"] is not None

    await conn.execute(
        "UPDATE notifications SET due_at = now() WHERE booking_id = $1 AND kind = '24h'",
        booking.id,
    )
    await wake(conn)
    await eventually(all_in(conn, [reminder_24h], "sent"))
    messages = fake.sent_messages(1001)[1:]
    assert messages[0]["text"].startswith(texts.RU("reminder.header"))
    assert f"Приём {workday_ahead(3):%d.%m} в 10:00." in messages[0]["text"]  # its lead now
    assert texts.RU("reminder.come_question") in messages[0]["text"]
    assert f"Запись № {booking.id}" in messages[0]["text"]
    left = await conn.fetch(
        "SELECT kind, status FROM notifications WHERE booking_id = $1 ORDER BY due_at",
        booking.id,
    )
    assert [(r["kind"], r["status"]) for r in left] == [
        ("confirmation", "sent"),
        ("24h", "sent"),
        ("6h", "pending"),
        ("30m", "pending"),
    ]
    await counted(dispatcher, sent=2)
    assert len(sends(fake)) == 2


async def test_cancelled_and_begun_bookings_are_not_reminded(
    dispatchers: Dispatchers, fake: FakeBotApi, pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    dispatcher = await dispatchers.start()
    booking = await book_via_service(pool, conn, 1001)
    await eventually(lambda: fake.sent_messages(1001))
    await eventually(
        all_in(conn, [await conn.fetchval("SELECT min(id) FROM notifications")], "sent")
    )
    await bookings_on(pool).cancel_booking(1001, booking.id)
    # Cancelled behind the service's back: the claim still refuses to send.
    [behind] = await add_bookings(conn, [1002])
    [orphan] = await add_due(conn, [behind], due_in=timedelta(hours=1))
    await conn.execute(
        "UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = $1", behind[0]
    )
    # A 30-minute reminder whose visit has begun (the dispatcher was down, say).
    [begun] = await add_bookings(
        conn, [1003], starts_in=timedelta(minutes=-20), doctor="ivanova-anna"
    )
    [late] = await add_due(conn, [begun], ["30m"], due_in=timedelta(hours=1))
    [sentinel] = await add_due(conn, await add_bookings(conn, [1004]), due_in=timedelta(hours=1))

    await conn.execute("UPDATE notifications SET due_at = now() - interval '1 second'")
    await wake(conn)
    await eventually(all_in(conn, [sentinel], "sent"))
    await eventually(all_in(conn, [orphan, late], "cancelled"))
    cancelled = await conn.fetch(
        "SELECT kind, status FROM notifications WHERE booking_id = $1 ORDER BY due_at, id",
        booking.id,
    )
    assert {(r["kind"], r["status"]) for r in cancelled} == {
        ("confirmation", "sent"),
        ("cancelled", "sent"),  # the patient is told of their own cancellation
        ("24h", "cancelled"),
        ("6h", "cancelled"),
        ("30m", "cancelled"),
    }
    assert [len(sends(fake, chat)) for chat in (1001, 1002, 1003, 1004)] == [2, 0, 0, 1]
    assert sends(fake, 1001)[1].params["text"].startswith(f"Запись № {booking.id}")
    await counted(dispatcher, skipped=2)


async def test_a_notice_waits_until_the_cards_of_its_booking_in_flight_are_settled(
    pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    """A move right after booking: its notice must know the confirmation's message id to
    take that card's buttons away, so it is not claimed while the confirmation is sent."""

    async def claim() -> list[Any]:
        return await repo.claim_due(
            pool,
            batch=10,
            lease_seconds=30,
            rate=0,
            burst=0,
            chat_interval_seconds=0,
            slot_seconds=1800,
        )

    [(booking, chat)] = await add_bookings(conn, [4242])
    [confirmation] = await add_due(conn, [(booking, chat)])
    [leased] = await claim()
    assert (leased.id, leased.status) == (confirmation, "sending")
    # The move cancels what is not sent yet; the confirmation in flight reaches the chat
    # anyway, so it is left to be settled as sent.
    assert await repo.cancel_pending(pool, booking_id=booking) == 0
    assert await statuses(conn, [confirmation]) == ["sending"]
    [moved] = await add_due(conn, [(booking, chat)], ["moved"])
    assert await claim() == []  # the confirmation is on its way: no message id yet
    await repo.settle(
        pool,
        ids=[confirmation],
        leases=[leased.leased_until],
        statuses=["sent"],
        delays=[0.0],
        refunds=[0],
        errors=[None],
        chat_interval_seconds=0,
        message_ids=[777],
    )
    [notice] = await claim()
    assert (notice.id, notice.kind, notice.cards) == (moved, "moved", [777])


@pytest.mark.parametrize("rate", [0, 20])
async def test_a_429_is_retried_after_retry_after(
    dispatchers: Dispatchers, fake: FakeBotApi, conn: asyncpg.Connection, rate: float
) -> None:
    fake.fail_next("sendMessage", 429, retry_after=1)
    dispatcher = await dispatchers.start(pace=Pace(rate=rate))
    [row] = await add_due(conn, await add_bookings(conn, [2001]))
    await wake(conn)
    await eventually(all_in(conn, [row], "sent"))
    first, second = sends(fake)
    assert (first.status, second.status) == (429, 200)
    assert second.monotonic - first.monotonic >= 0.95
    attempts, error = await conn.fetchrow(
        "SELECT attempts, last_error FROM notifications WHERE id = $1", row
    )
    assert attempts == 1 and "429" in error  # the 429 did not count as an attempt
    await counted(dispatcher, rate_limited=1, sent=1)


async def test_server_and_network_errors_are_retried_with_backoff(
    dispatchers: Dispatchers, fake: FakeBotApi, conn: asyncpg.Connection
) -> None:
    fake.fail_next("sendMessage", 500)
    fake.fail_next("sendMessage", 502, body=b"<html>502 Bad Gateway</html>")  # not JSON
    dispatcher = await dispatchers.start(retry=RetryPolicy(backoff=0.2, max_attempts=4))
    [row] = await add_due(conn, await add_bookings(conn, [2001]))
    await wake(conn)
    await eventually(all_in(conn, [row], "sent"))
    calls = sends(fake)
    assert [c.status for c in calls] == [500, 502, 200]
    # Backoff with jitter: 0.1-0.2 s after the first failure, 0.2-0.4 s after the second.
    assert calls[1].monotonic - calls[0].monotonic >= 0.1
    assert calls[2].monotonic - calls[1].monotonic >= 0.2
    assert await conn.fetchval("SELECT attempts FROM notifications WHERE id = $1", row) == 3
    await counted(dispatcher, retried=2, sent=1)


async def test_it_gives_up_after_the_last_attempt_and_on_a_400(
    dispatchers: Dispatchers, fake: FakeBotApi, conn: asyncpg.Connection
) -> None:
    fake.fail_chat(2001, 500)
    fake.fail_chat(2002, 400)
    dispatcher = await dispatchers.start(retry=RetryPolicy(backoff=0.1, max_attempts=3))
    rows = await add_due(conn, await add_bookings(conn, [2001, 2002]))
    await wake(conn)
    await eventually(all_in(conn, rows, "failed"))
    assert (len(sends(fake, 2001)), len(sends(fake, 2002))) == (3, 1)
    errors = await conn.fetch(
        "SELECT attempts, last_error FROM notifications WHERE id = ANY($1) ORDER BY id", rows
    )
    assert errors[0]["attempts"] == 3 and "500" in errors[0]["last_error"]
    assert "400" in errors[1]["last_error"]
    await counted(dispatcher, failed=2, retried=2)


async def test_a_403_blocks_the_user_and_cancels_their_other_reminders(
    dispatchers: Dispatchers, fake: FakeBotApi, conn: asyncpg.Connection
) -> None:
    fake.fail_chat(3001, 403)
    first, second, other = await add_bookings(conn, [3001, 3001, 3002])
    [confirmation] = await add_due(conn, [first])
    later = await add_due(conn, [first, second, other], ["24h"], due_in=timedelta(days=1))
    dispatcher = await dispatchers.start()
    await wake(conn)
    await eventually(all_in(conn, [confirmation], "failed"))
    assert await statuses(conn, later) == ["cancelled", "cancelled", "pending"]
    blocked = await conn.fetch("SELECT telegram_id, blocked_at FROM users ORDER BY 1")
    assert [(r["telegram_id"], r["blocked_at"] is not None) for r in blocked] == [
        (3001, True),
        (3002, False),
    ]
    assert len(sends(fake, 3001)) == 1
    assert "403" in await conn.fetchval(
        "SELECT last_error FROM notifications WHERE id = $1", confirmation
    )
    await counted(dispatcher, blocked=1, failed=1)


# --- pace -------------------------------------------------------------------------------


async def test_two_replicas_keep_the_per_chat_and_the_global_rate(
    dispatchers: Dispatchers, fake: FakeBotApi, conn: asyncpg.Connection
) -> None:
    pace = Pace(rate=20, chat_interval=1.0)
    chats = list(range(4001, 4021))
    rows = await add_due(conn, await add_bookings(conn, chats), ["confirmation", "24h"])
    replicas = [await dispatchers.start(pace=pace) for _ in range(2)]
    await wake(conn)
    await eventually(all_in(conn, rows, "sent"), within=20)
    calls = sends(fake)
    assert len(calls) == 40 and {c.status for c in calls} == {200}
    for chat in chats:
        first, second = sorted(c.wall_time for c in calls if c.params["chat_id"] == chat)
        assert second - first >= 0.99, chat
    arrivals = sorted(c.wall_time for c in calls)
    busiest = max(sum(1 for t in arrivals if start <= t < start + 1) for start in arrivals)
    # The bucket grants at most burst + rate in any second of claims; arrivals may bunch
    # by the spread of send latencies, a token or two.
    assert busiest <= pace.rate + pace.burst + 2
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - pace.burst) / pace.rate * 0.9
    await eventually(lambda: sum(d.metrics.sent for d in replicas) == 40, within=5)


# --- time -------------------------------------------------------------------------------


def last_sunday_of_march(year: int) -> date:
    day = date(year, 3, 31)
    return day - timedelta(days=day.isoweekday() % 7)


async def test_the_24h_reminder_is_24_real_hours_before_across_dst(
    dispatchers: Dispatchers, fake: FakeBotApi, conn: asyncpg.Connection
) -> None:
    """Berlin moves to summer time on the last Sunday of March, at 01:00 UTC."""
    berlin = ZoneInfo("Europe/Berlin")
    year = datetime.now(UTC).year
    if last_sunday_of_march(year) <= datetime.now(UTC).date() + timedelta(days=2):
        year += 1
    sunday = last_sunday_of_march(year)
    monday_visit = datetime.combine(sunday + timedelta(days=1), time(8), berlin)  # 06:00 UTC
    sunday_visit = datetime.combine(sunday, time(12), berlin)  # 10:00 UTC
    await conn.execute("INSERT INTO users (telegram_id, first_name) VALUES (5001, 'Анна')")
    planned = {}
    for visit in (monday_visit, sunday_visit):
        booking = await conn.fetchval(
            "INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at)"
            " VALUES ((SELECT min(id) FROM doctors), 5001, $1::timestamptz,"
            " $1::timestamptz + interval '30 minutes')"
            " RETURNING id",
            visit,
        )
        async with conn.transaction():
            reminders_of = await reminders.plan(
                conn, booking_id=booking, chat_id=5001, starts_at=visit, now=datetime.now(UTC)
            )
        planned[visit] = (booking, {r.kind: r.due_at for r in reminders_of})

    monday, due = planned[monday_visit]
    assert due["24h"] == datetime.combine(sunday, time(6), UTC)  # 08:00 summer time, Sunday
    assert due["6h"] == datetime.combine(sunday + timedelta(days=1), time(0), UTC)
    assert due["30m"] == datetime.combine(sunday + timedelta(days=1), time(5, 30), UTC)
    _, across = planned[sunday_visit]
    # 24 real hours before 12:00 summer time is 11:00 winter time on the Saturday.
    assert across["24h"] == datetime.combine(sunday - timedelta(days=1), time(10), UTC)
    assert across["24h"].astimezone(berlin).strftime("%H:%M") == "11:00"

    await conn.execute("UPDATE notifications SET status = 'cancelled' WHERE kind = 'confirmation'")
    await dispatchers.start(renderers=render.renderers(berlin, webapp_url=None))
    await conn.execute(
        "UPDATE notifications SET due_at = now() WHERE booking_id = $1 AND kind = '24h'", monday
    )
    await wake(conn)
    await eventually(
        lambda: conn.fetchval("SELECT count(*) FROM notifications WHERE status = 'sent'")
    )
    [message] = fake.sent_messages(5001)
    assert texts.RU("reminder.come_question") in message["text"]
    assert f"{sunday + timedelta(days=1):%d.%m.%Y} в 08:00" in message["text"]


# --- lifecycle --------------------------------------------------------------------------


async def test_stopping_gives_unsent_leases_back_at_once(
    dispatchers: Dispatchers, fake: FakeBotApi, dsn: str, api: BotApi, conn: asyncpg.Connection
) -> None:
    fake.stall("sendMessage", 30)
    rows = await add_due(conn, await add_bookings(conn, list(range(6001, 6011))))
    async with AsyncExitStack() as stack:
        first = await Dispatchers(dsn, api, stack).start(concurrency=2, grace=0.2)
        await wake(conn)
        await eventually(lambda: len(sends(fake)) == 2)
        assert await statuses(conn, rows) == ["sending"] * 10
    leases = await conn.fetch(
        "SELECT status, attempts, leased_until FROM notifications WHERE id = ANY($1)", rows
    )
    assert {tuple(r) for r in leases} == {("pending", 0, None)}
    assert first.metrics.released == 10

    fake.stall("sendMessage", 0)
    started = asyncio.get_running_loop().time()
    await dispatchers.start()
    await eventually(all_in(conn, rows, "sent"))
    assert asyncio.get_running_loop().time() - started < 5
    assert sum(c.status == 200 for c in sends(fake)) == 10


async def test_the_listener_reconnects_when_its_connection_drops(
    dispatchers: Dispatchers, fake: FakeBotApi, conn: asyncpg.Connection
) -> None:
    await dispatchers.start(poll_interval=30.0)
    listening = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND query LIKE 'LISTEN%'"
    )
    old = await conn.fetchval(listening)
    assert await conn.fetchval("SELECT pg_terminate_backend($1)", old)
    await eventually(lambda: conn.fetchval(listening + " AND pid <> $1", old))
    [row] = await add_due(conn, await add_bookings(conn, [7001]))
    started = asyncio.get_running_loop().time()
    await wake(conn)
    await eventually(all_in(conn, [row], "sent"))
    assert asyncio.get_running_loop().time() - started < 5


async def test_old_sent_and_cancelled_rows_are_purged(
    dispatchers: Dispatchers, conn: asyncpg.Connection
) -> None:
    bookings = await add_bookings(conn, [8001])
    kinds = ("confirmation", "24h", "6h", "30m")
    ids = dict(zip(kinds, await add_due(conn, bookings, kinds), strict=True))
    for kind, status, age in [
        ("confirmation", "sent", 40),
        ("24h", "cancelled", 40),
        ("6h", "failed", 40),
        ("30m", "sent", 1),
    ]:
        await conn.execute(
            "UPDATE notifications SET status = $2, due_at = now() - $3 * interval '1 day',"
            " sent_at = CASE WHEN $2 = 'sent' THEN now() END WHERE id = $1",
            ids[kind],
            status,
            age,
        )
    await conn.execute("INSERT INTO chat_pace VALUES (8001, now() - interval '1 hour')")
    await dispatchers.start(retention=timedelta(days=30))

    async def purged() -> bool:
        left = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM notifications) AS rows,"
            " (SELECT count(*) FROM chat_pace) AS chats"
        )
        return (left["rows"], left["chats"]) == (2, 0)

    await eventually(purged)
    kept = await conn.fetch("SELECT kind FROM notifications ORDER BY kind")
    assert [r["kind"] for r in kept] == ["30m", "6h"]


class CountedClaims(JobTable):
    claims = 0

    async def claim(self, **options: Any) -> Any:
        CountedClaims.claims += 1
        return await super().claim(**options)


async def test_while_throttled_wake_ups_do_not_each_cost_a_claim(
    dsn: str, api: BotApi, conn: asyncpg.Connection
) -> None:
    """A burst of bookings (each a wake-up) while the rate limit holds rows back: the
    dispatcher claims once a tick (tokens come no sooner), not once a wake-up."""
    await add_due(conn, await add_bookings(conn, list(range(9001, 9041))))
    pool = await db.create_pool(dsn, min_size=1, max_size=4)
    try:
        jobs = CountedClaims(db.Database.of(pool, dsn))
        pace = Pace(rate=5)  # a token each 0.2 s: the 40 rows take 8 s
        dispatcher = Dispatcher(
            jobs,
            api,
            renderers=render.renderers(MOSCOW, webapp_url="https://clinic.test/"),
            listen_dsn=dsn,
            pace=pace,
            poll_interval=10.0,
        )
        async with running(dispatcher):
            await asyncio.wait_for(dispatcher.wait_listening(), 10)
            await asyncio.sleep(0.5)
            CountedClaims.claims = 0
            started = asyncio.get_running_loop().time()
            for _ in range(100):  # 100 wake-ups in a second
                await wake(conn)
                await asyncio.sleep(0.01)
            claims = CountedClaims.claims
            ticks = (asyncio.get_running_loop().time() - started) / pace.tick
            sent = await conn.fetchval(
                "SELECT count(*) FROM notifications WHERE status = 'sent' AND chat_id > 9000"
            )
    finally:
        await pool.close()
    # Each tick: the claim that takes its token, and one that finds none left; a claim
    # per wake-up would be over 100.
    assert claims <= 2 * ticks + 2, (claims, ticks)
    assert 0 < sent < 40  # paced: some went, most still wait
