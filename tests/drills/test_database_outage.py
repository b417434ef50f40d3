"""Drill: PostgreSQL restarts while 32 clients book and read.

Requests during the outage get 503 problem+json quickly (no hang), the app recovers
without a restart once the database is back, no booking is half-written and no
reminder is lost. The database is a private PostgreSQL (never the machine's one).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import pytest

from tests.drills.support import (
    PrivatePostgres,
    auth_header,
    clinic_server,
    migrate_and_seed,
    percentile,
    private_postgres,
)

pytestmark = pytest.mark.drill

CLIENTS = 32
FIRST_USER = 880_000_001
WARM_UP = 4.0  # seconds of load before PostgreSQL stops
OUTAGE = 5.0  # seconds PostgreSQL stays down
AFTER = 10.0  # seconds of load after it is back
PAUSE = 0.1  # between one client's rounds

CLIENT_TIMEOUT = 20.0  # no answer by then: the app hangs
ANSWER_503_WITHIN = 5.0  # a 503 must come back this fast
ANSWER_DURING_OUTAGE_WITHIN = 5.0  # any answer to a request sent while the database is down
RECOVER_WITHIN = 15.0  # from PostgreSQL accepting connections to a successful booking
SETTLED = 4.0  # the last seconds of the run: no 503 any more
TZ = ZoneInfo("Europe/Moscow")
API_PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Slot:
    doctor_id: int
    day: date
    time: str  # "HH:MM", clinic time


@dataclass
class Answer:
    client: int
    what: str  # "book", "slots", "bookings", "readyz"
    sent: float  # monotonic
    elapsed: float
    status: int | None = None  # None: no HTTP answer at all
    content_type: str = ""
    body: Any = None
    error: str | None = None
    slot: Slot | None = None  # what a "book" request asked for

    @property
    def done(self) -> float:
        return self.sent + self.elapsed


@dataclass
class Timeline:
    stop_sent: float = 0.0
    stopped: float = 0.0
    start_sent: float = 0.0
    started: float = 0.0
    end: float = 0.0


@dataclass
class Booked:
    user_id: int
    slot: Slot
    body: dict[str, Any]


@dataclass
class Record:
    answers: list[Answer] = field(default_factory=list)
    readyz: list[Answer] = field(default_factory=list)
    booked: list[Booked] = field(default_factory=list)


@pytest.fixture
async def private_db() -> AsyncIterator[PrivatePostgres]:
    scratch = Path(tempfile.mkdtemp(prefix="clinic-drill-pg-"))
    try:
        with private_postgres(scratch) as pg:
            await migrate_and_seed(pg.dsn)
            yield pg
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


async def call(
    session: aiohttp.ClientSession,
    client: int,
    what: str,
    method: str,
    url: str,
    **kwargs: Any,
) -> Answer:
    sent = time.monotonic()
    answer = Answer(client, what, sent, 0.0)
    try:
        async with session.request(method, url, **kwargs) as response:
            answer.status = response.status
            answer.content_type = response.content_type
            raw = await response.read()
            if response.content_type.endswith("json"):
                try:
                    answer.body = await response.json(content_type=None)
                except ValueError:
                    answer.body = raw[:200]
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        answer.error = f"{type(exc).__name__}: {exc}"
    answer.elapsed = time.monotonic() - sent
    return answer


async def plan_slots(session: aiohttp.ClientSession, base: str) -> dict[int, list[Slot]]:
    """Free slots two and three weeks ahead, dealt so that no client ever holds two
    slots at the same time (a patient cannot be in two places: that 409 is not wanted)."""
    async with session.get(f"{base}/api/specializations") as response:
        assert response.status == 200, await response.text()
        specializations = await response.json()
    doctors: list[int] = []
    for spec in specializations:
        async with session.get(f"{base}/api/specializations/{spec['id']}/doctors") as response:
            assert response.status == 200, await response.text()
            doctors.extend(doctor["id"] for doctor in await response.json())
    today = datetime.now(TZ).date()
    slots: list[Slot] = []
    for doctor_id in doctors:
        for ahead in (14, 21):
            week_of = (today + timedelta(days=ahead)).isoformat()
            url = f"{base}/api/doctors/{doctor_id}/slots?week_of={week_of}"
            async with session.get(url) as response:
                assert response.status == 200, await response.text()
                week = await response.json()
            for day in week["days"]:
                slots.extend(
                    Slot(doctor_id, date.fromisoformat(day["date"]), at) for at in day["slots"]
                )
    # The slots of one instant (one per doctor) go to different clients; 20 doctors
    # and 32 clients, so no client holds two slots at the same time.
    instants = {at: index for index, at in enumerate(sorted({(s.day, s.time) for s in slots}))}
    rank = {doctor_id: index for index, doctor_id in enumerate(doctors)}
    assert len(doctors) <= CLIENTS, "more doctors than clients: a client would double-book"
    dealt: dict[int, list[Slot]] = {client: [] for client in range(CLIENTS)}
    for slot in sorted(slots, key=lambda s: (s.day, s.time, s.doctor_id)):
        dealt[(instants[(slot.day, slot.time)] + rank[slot.doctor_id]) % CLIENTS].append(slot)
    return dealt


async def patient(
    client: int, base: str, slots: list[Slot], record: Record, stop: asyncio.Event
) -> None:
    """One MiniApp user: books the next slot of their own, reads a week, lists bookings."""
    user_id = FIRST_USER + client
    headers = auth_header(user_id)
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    pending = list(slots)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        while not stop.is_set():
            if pending:
                slot = pending.pop(0)
                body = {
                    "doctor_id": slot.doctor_id,
                    "date": slot.day.isoformat(),
                    "time": slot.time,
                }
                answer = await call(
                    session, client, "book", "POST", f"{base}/api/bookings", json=body
                )
                answer.slot = slot
                record.answers.append(answer)
                if answer.status == 201:
                    record.booked.append(Booked(user_id, slot, answer.body))
                doctor_id, week_of = slot.doctor_id, slot.day.isoformat()
            else:
                doctor_id, week_of = slots[0].doctor_id, slots[0].day.isoformat()
            url = f"{base}/api/doctors/{doctor_id}/slots?week_of={week_of}"
            record.answers.append(await call(session, client, "slots", "GET", url))
            record.answers.append(
                await call(session, client, "bookings", "GET", f"{base}/api/bookings")
            )
            await asyncio.sleep(PAUSE)


async def watch_readiness(base: str, record: Record, stop: asyncio.Event) -> None:
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while not stop.is_set():
            record.readyz.append(await call(session, -1, "readyz", "GET", f"{base}/readyz"))
            await asyncio.sleep(0.25)


async def restart_database(pg: PrivatePostgres, timeline: Timeline) -> None:
    await asyncio.sleep(WARM_UP)
    timeline.stop_sent = time.monotonic()
    await asyncio.to_thread(pg.stop)
    timeline.stopped = time.monotonic()
    await asyncio.sleep(OUTAGE)
    timeline.start_sent = time.monotonic()
    await asyncio.to_thread(pg.start)
    timeline.started = time.monotonic()
    await asyncio.sleep(AFTER)
    timeline.end = time.monotonic()


def describe(answer: Answer, origin: float) -> str:
    return (
        f"{answer.what} at +{answer.sent - origin:.2f}s took {answer.elapsed:.2f}s: "
        f"{answer.status} {answer.content_type} {answer.error or ''} {str(answer.body)[:160]}"
    )


async def read_database(dsn: str) -> tuple[list[asyncpg.Record], list[asyncpg.Record] | None]:
    conn = await asyncpg.connect(dsn)
    try:
        bookings = await conn.fetch(
            "SELECT id, doctor_id, user_id, starts_at, ends_at, status, created_at, cancelled_at"
            " FROM bookings ORDER BY id"
        )
        if await conn.fetchval("SELECT to_regclass('notifications') IS NOT NULL"):
            notifications = await conn.fetch(
                "SELECT booking_id, chat_id, kind, status FROM notifications ORDER BY id"
            )
        else:
            notifications = None
    finally:
        await conn.close()
    return bookings, notifications


@pytest.mark.timeout(150)
async def test_postgres_restart_under_load(private_db: PrivatePostgres, tmp_path: Path) -> None:
    async with clinic_server(private_db.dsn, tmp_path / "server.log") as server:
        base = server.base_url
        async with aiohttp.ClientSession(
            headers=auth_header(FIRST_USER), timeout=aiohttp.ClientTimeout(total=30)
        ) as session:
            dealt = await plan_slots(session, base)
        assert all(dealt.values()), "every client needs free slots of its own"

        record, timeline, stop = Record(), Timeline(), asyncio.Event()
        origin = time.monotonic()
        load = [
            asyncio.create_task(patient(client, base, dealt[client], record, stop))
            for client in range(CLIENTS)
        ]
        load.append(asyncio.create_task(watch_readiness(base, record, stop)))
        try:
            await restart_database(private_db, timeline)
        finally:
            stop.set()
            results = await asyncio.gather(*load, return_exceptions=True)
        crashed = [r for r in results if isinstance(r, BaseException)]
        assert not crashed, f"load tasks failed: {crashed!r}"
        still_running = server.process.poll() is None
        log_tail = server.log_tail()

    report = summarise(record, timeline, origin)
    print(report["text"])
    found = judge(record, timeline, origin, report)
    if still_running:
        found += await check_database(private_db.dsn, record.booked, record.answers, origin)
    else:
        found.append("the server process died during the drill")
    assert not found, "\n".join([report["text"], *found, "server log:", log_tail])


def judge(record: Record, timeline: Timeline, origin: float, report: dict[str, Any]) -> list[str]:
    """What went wrong, from the answers: every finding, not just the first."""
    found: list[str] = []
    api = record.answers

    def check(ok: object, what: str, examples: list[str] | None = None) -> None:
        if not ok:
            found.append(what + (f": {examples[:8]}" if examples else ""))

    # Every request got an HTTP answer: no reset, no timeout.
    unanswered = [describe(a, origin) for a in api + record.readyz if a.status is None]
    check(not unanswered, f"{len(unanswered)} requests got no answer", unanswered)

    # Only successes and 503: never a 500.
    odd = [describe(a, origin) for a in api if a.status and a.status >= 500 and a.status != 503]
    check(not odd, f"{len(odd)} server errors other than 503", odd)

    # No client error either: every slot is dealt once, to a client free at that time,
    # so a 409 would mean a double booking or a booking written behind a failed request.
    refused = [describe(a, origin) for a in api if a.status and 400 <= a.status < 500]
    check(not refused, f"{len(refused)} unexpected client errors", refused)

    # Every 503 is problem+json saying the database is unavailable, and comes back fast.
    unavailable = [a for a in api if a.status == 503]
    check(unavailable, "no request saw the outage: the drill did not drill")
    not_problem = [
        describe(a, origin)
        for a in unavailable
        if a.content_type != API_PROBLEM
        or not isinstance(a.body, dict)
        or a.body.get("code") != "database_unavailable"
    ]
    check(not not_problem, "503s that are not database_unavailable problems", not_problem)
    slow_503 = [describe(a, origin) for a in unavailable if a.elapsed >= ANSWER_503_WITHIN]
    check(not slow_503, f"{len(slow_503)} 503s took {ANSWER_503_WITHIN}s or more", slow_503)

    # Nothing sent while the database was down waited long for its answer.
    during = [a for a in api if timeline.stop_sent <= a.sent <= timeline.started]
    slow = [describe(a, origin) for a in during if a.elapsed >= ANSWER_DURING_OUTAGE_WITHIN]
    check(not slow, f"{len(slow)} requests hung during the outage", slow)

    # Once PostgreSQL is back, the same process books again, soon, and settles.
    recovered = report["booking_recovery"]
    check(
        recovered is not None and recovered < RECOVER_WITHIN,
        f"no successful booking within {RECOVER_WITHIN}s of the restart (first: {recovered})",
    )
    late = timeline.end - SETTLED
    late_503 = [describe(a, origin) for a in api if a.status == 503 and a.sent > late]
    check(not late_503, f"still 503 in the last {SETTLED}s of the run", late_503)

    # /readyz said so: 503 while the database was down, 200 after.
    down = [
        a for a in record.readyz if timeline.stopped <= a.sent and a.done <= timeline.start_sent
    ]
    check(
        down and all(a.status == 503 for a in down),
        "/readyz was not 503 throughout the outage",
        [describe(a, origin) for a in down],
    )
    final = [a for a in record.readyz if a.sent > late]
    check(
        final and all(a.status == 200 for a in final),
        "/readyz was not 200 at the end",
        [describe(a, origin) for a in final],
    )
    return found


async def check_database(
    dsn: str, booked: list[Booked], api: list[Answer], origin: float
) -> list[str]:
    """The database holds exactly the bookings that got 201, each complete, none lost."""
    found: list[str] = []
    rows, notifications = await read_database(dsn)
    created = {b.body["id"]: b for b in booked}
    if len(created) != len(booked):
        found.append("the app gave one id to two bookings")
    stored = {row["id"]: row for row in rows}
    extra = sorted(set(stored) - set(created))
    missing = sorted(set(created) - set(stored))
    if missing:
        found.append(f"bookings answered 201 but not stored: {missing}")
    if extra:
        asked = {a.slot: a for a in api if a.what == "book" and a.slot is not None}
        for booking_id in extra:
            row = stored[booking_id]
            local = row["starts_at"].astimezone(TZ)
            slot = Slot(row["doctor_id"], local.date(), local.strftime("%H:%M"))
            answer = asked.get(slot)
            told = describe(answer, origin) if answer else "no request asked for it"
            found.append(f"booking {booking_id} {slot} is stored, but its request got: {told}")
    for booking_id, made in created.items():
        row = stored.get(booking_id)
        if row is None:
            continue
        local = row["starts_at"].astimezone(TZ)
        complete = (
            row["status"] == "confirmed"
            and row["cancelled_at"] is None
            and row["user_id"] == made.user_id
            and row["doctor_id"] == made.slot.doctor_id == made.body["doctor"]["id"]
            and (local.date(), local.strftime("%H:%M")) == (made.slot.day, made.slot.time)
            and row["ends_at"] - row["starts_at"] == timedelta(minutes=30)
            and row["created_at"] is not None
        )
        if not complete:
            found.append(f"booking {booking_id} is not what was booked: {dict(row)} vs {made}")
    if notifications is None:
        return found
    kinds: dict[int, set[str]] = {}
    owners = {booking_id: row["user_id"] for booking_id, row in stored.items()}
    for note in notifications:
        kinds.setdefault(note["booking_id"], set()).add(note["kind"])
        if note["chat_id"] != owners.get(note["booking_id"]):
            found.append(f"a reminder to someone other than the patient: {dict(note)}")
    for booking_id, made in created.items():
        planned = {reminder["kind"] for reminder in made.body.get("reminders", [])}
        have = kinds.get(booking_id, set())
        if "confirmation" not in have or have != planned:
            found.append(f"booking {booking_id}: reminders planned {planned}, stored {have}")
    for booking_id in extra:  # written, though not answered 201: written whole, at least?
        if "confirmation" not in kinds.get(booking_id, set()):
            found.append(f"booking {booking_id} is stored without its confirmation reminder")
    return found


def summarise(record: Record, timeline: Timeline, origin: float) -> dict[str, Any]:
    api = record.answers
    statuses = Counter((a.what, a.status) for a in api)
    unavailable = [a.elapsed for a in api if a.status == 503]
    books_after = sorted(
        a.done for a in api if a.what == "book" and a.status == 201 and a.sent >= timeline.started
    )
    any_after = sorted(
        a.done
        for a in api
        if a.status is not None and 200 <= a.status < 300 and a.sent >= timeline.started
    )
    ready_after = sorted(
        a.done for a in record.readyz if a.status == 200 and a.sent >= timeline.started
    )
    last_503 = max((a.done for a in api if a.status == 503), default=None)
    booking_recovery = books_after[0] - timeline.started if books_after else None
    lines = [
        f"requests: {len(api)}, readyz probes: {len(record.readyz)}, "
        f"bookings 201: {len(record.booked)}",
        f"by (kind, status): {dict(sorted(statuses.items(), key=str))}",
        f"postgres stop took {timeline.stopped - timeline.stop_sent:.2f}s "
        f"(at +{timeline.stop_sent - origin:.2f}s); start took "
        f"{timeline.started - timeline.start_sent:.2f}s (at +{timeline.start_sent - origin:.2f}s)",
        f"503s: {len(unavailable)}, latency p50 {percentile(unavailable, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(unavailable, 0.99) * 1000:.0f} ms, "
        f"max {max(unavailable, default=0) * 1000:.0f} ms",
        "recovery after PostgreSQL was up: first 2xx "
        + (f"{any_after[0] - timeline.started:.2f}s" if any_after else "never")
        + ", first booking "
        + (f"{booking_recovery:.2f}s" if booking_recovery is not None else "never")
        + ", readyz 200 "
        + (f"{ready_after[0] - timeline.started:.2f}s" if ready_after else "never")
        + ", last 503 "
        + (f"{last_503 - timeline.started:+.2f}s" if last_503 is not None else "none"),
    ]
    return {"text": "\n".join(lines), "booking_recovery": booking_recovery}
