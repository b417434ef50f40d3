"""Drill: the app through a real PgBouncer in transaction mode, and a PostgreSQL restart
behind it.

Debian's pgbouncer (1.18 on bookworm: no protocol-level prepared statements) runs on a
loopback port with a generated config in front of a private PostgreSQL (pgserver's,
never the machine's one). `clinic serve` in bot mode, with its dispatcher, gets
DATABASE_URL through PgBouncer and DATABASE_DIRECT_URL straight to PostgreSQL (LISTEN,
migrations); it then keeps no asyncpg statement cache. Patients book through the API;
the confirmations must reach the fake Bot API (woken by NOTIFY, not by the poll). Then
PostgreSQL stops for a few seconds and starts again under the same load: the same app
process books again, every request gets an answer (2xx, or a quick 503 problem), no
booking is lost or written twice, every booking answered 201 gets exactly one
confirmation, and the LISTEN connection comes back.

Needs `apt-get install pgbouncer`; skipped (with that reason) without it.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from clinic import texts
from tests.drills.support import (
    PGBOUNCER,
    FakeProcess,
    PgBouncer,
    PrivatePostgres,
    auth_header,
    clinic_env,
    fake_bot_api_process,
    free_port,
    migrate_and_seed,
    percentile,
    pgbouncer,
    private_postgres,
    start_clinic,
    stop_process,
)
from tests.drills.test_database_outage import API_PROBLEM, Answer, Slot, call, plan_slots

pytestmark = [
    pytest.mark.drill,
    pytest.mark.skipif(
        PGBOUNCER is None, reason="pgbouncer not installed: apt-get install pgbouncer"
    ),
]

PATIENTS = 16
FIRST_USER = 880_000_001  # plan_slots deals from the outage drill's users
WARM_UP = 3.0  # seconds of load before PostgreSQL stops
OUTAGE = 4.0  # seconds PostgreSQL stays down
AFTER = 10.0  # seconds of load after it is back
PAUSE = 0.2  # between one patient's rounds
CLIENT_TIMEOUT = 30.0  # no answer by then: the app hangs
ANSWER_503_WITHIN = 8.0  # PgBouncer holds a query up to query_wait_timeout (5 s)
RECOVER_WITHIN = 10.0  # from PostgreSQL accepting connections to a 201
SETTLED = 3.0  # the last seconds of the run: no 503 any more
CONFIRMED_WITHIN = 3.0  # a booking's confirmation at the fake; the poll alone takes up to 5 s
_NUMBER = re.compile(r"Запись № (\d+)")


@dataclass
class Run:
    answers: list[Answer] = field(default_factory=list)
    booked: dict[int, float] = field(default_factory=dict)  # booking id -> when 201 came


@pytest.fixture
async def private_db() -> AsyncIterator[PrivatePostgres]:
    scratch = Path(tempfile.mkdtemp(prefix="clinic-drill-pgbouncer-"))
    try:
        with private_postgres(scratch) as pg:
            await migrate_and_seed(pg.dsn)
            yield pg
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def bouncer(private_db: PrivatePostgres, tmp_path: Path) -> Iterator[PgBouncer]:
    with pgbouncer(
        str(private_db.socket_dir),
        5432,
        tmp_path / "pgbouncer.log",
        run_as=private_db.system_user,
        pool_size=4,
    ) as running:
        yield running


async def test_asyncpg_needs_its_statement_cache_off_through_this_pgbouncer(
    bouncer: PgBouncer,
) -> None:
    """The control: with asyncpg's default cache, named prepared statements land on one
    server connection and are missing on the next, so queries fail; with 0 none do."""
    failures: dict[int, Counter[str]] = {}
    for cache in (100, 0):
        pool = await asyncpg.create_pool(
            bouncer.dsn("clinic"), min_size=8, max_size=8, statement_cache_size=cache
        )
        failed: Counter[str] = Counter()

        async def query(n: int, pool: asyncpg.Pool = pool, failed: Counter[str] = failed) -> None:
            try:
                assert await pool.fetchval("SELECT $1::int + 1", n) == n + 1
            except asyncpg.PostgresError as exc:
                failed[type(exc).__name__] += 1

        await asyncio.gather(*(query(n) for n in range(400)))
        await pool.close()
        failures[cache] = failed
    assert failures[100], "transaction pooling should break asyncpg's named statements"
    assert not failures[0], failures[0]
    (pool_row,) = [row for row in bouncer.show("POOLS") if row["database"] == "clinic"]
    assert pool_row["pool_mode"] == "transaction"


async def patient(index: int, base: str, slots: list[Slot], run: Run, stop: asyncio.Event) -> None:
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    headers = auth_header(FIRST_USER + index)
    pending = list(slots)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        while not stop.is_set() and pending:
            slot = pending.pop(0)
            body = {"doctor_id": slot.doctor_id, "date": slot.day.isoformat(), "time": slot.time}
            answer = await call(session, index, "book", "POST", f"{base}/api/bookings", json=body)
            answer.slot = slot
            run.answers.append(answer)
            if answer.status == 201:
                run.booked[answer.body["id"]] = answer.done
            run.answers.append(await call(session, index, "list", "GET", f"{base}/api/bookings"))
            await asyncio.sleep(PAUSE)


async def confirmations(fake: FakeProcess, http: aiohttp.ClientSession) -> dict[int, list[float]]:
    """Booking number -> arrival times of its confirmation at the fake Bot API."""
    found: dict[int, list[float]] = {}
    for sent in await fake.calls(http, "sendMessage"):
        text = sent["text"] or ""
        number = _NUMBER.search(text)
        if texts.RU("reminder.confirmation_header") in text and number:
            found.setdefault(int(number[1]), []).append(sent["at"])
    return found


@pytest.mark.timeout(180)
async def test_bookings_and_reminders_through_pgbouncer_survive_a_postgres_restart(
    private_db: PrivatePostgres, bouncer: PgBouncer, tmp_path: Path
) -> None:
    async with (
        fake_bot_api_process(tmp_path / "fake.log") as fake,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
    ):
        env = clinic_env(bouncer.dsn("clinic"), fake.url, port=free_port(), rate_limit=0)
        env["DATABASE_DIRECT_URL"] = private_db.dsn
        server = await start_clinic("serve", ["serve"], env, tmp_path / "serve.log")
        try:
            async with aiohttp.ClientSession(
                headers=auth_header(FIRST_USER), timeout=aiohttp.ClientTimeout(total=30)
            ) as reader:
                dealt = await plan_slots(reader, server.base_url)

            # Before: bookings through PgBouncer, confirmations woken by NOTIFY.
            calm = Run()
            await asyncio.gather(
                *(
                    patient(i, server.base_url, dealt[i][:1], calm, asyncio.Event())
                    for i in range(PATIENTS)
                )
            )
            assert len(calm.booked) == PATIENTS, [a.status for a in calm.answers]
            await asyncio.sleep(CONFIRMED_WITHIN)
            sent = await confirmations(fake, http)
            late = {n: sent.get(n) for n, at in calm.booked.items() if not sent.get(n)}
            assert not late, f"no confirmation within {CONFIRMED_WITHIN}s: {late}"

            # The restart, under load.
            run, stop = Run(), asyncio.Event()
            load = [
                asyncio.create_task(patient(i, server.base_url, dealt[i][1:], run, stop))
                for i in range(PATIENTS)
            ]
            await asyncio.sleep(WARM_UP)
            await asyncio.to_thread(private_db.stop)
            await asyncio.sleep(OUTAGE)
            await asyncio.to_thread(private_db.start)
            started = time.monotonic()
            await asyncio.sleep(AFTER)
            end = time.monotonic()
            stop.set()
            await asyncio.gather(*load)

            booked = {**calm.booked, **run.booked}
            deadline = time.monotonic() + 20
            while True:
                sent = await confirmations(fake, http)
                if set(booked) <= set(sent) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            alive = server.process.poll() is None
            log = await asyncio.to_thread(server.log_path.read_text, errors="replace")
            stats = {row["database"]: row for row in bouncer.show("STATS")}
        finally:
            await stop_process(server.process)

    found: list[str] = []

    def check(ok: object, what: str, examples: object = None) -> None:
        if not ok:
            found.append(what + (f": {str(examples)[:600]}" if examples else ""))

    check(alive, "the app process died")
    api = run.answers
    check(not [a for a in api if a.status is None], "requests with no answer", api)
    odd = [(a.what, a.status, a.body) for a in api if a.status not in (200, 201, 503)]
    check(not odd, "answers other than 200, 201 and 503", odd)
    unavailable = [a for a in api if a.status == 503]
    check(unavailable, "no request saw the outage: the drill did not drill")
    check(
        all(
            a.content_type == API_PROBLEM and a.body.get("code") == "database_unavailable"
            for a in unavailable
        ),
        "503s that are not database_unavailable problems",
        unavailable,
    )
    slow = [round(a.elapsed, 2) for a in unavailable if a.elapsed >= ANSWER_503_WITHIN]
    check(not slow, f"503s slower than {ANSWER_503_WITHIN}s", slow)
    after = sorted(at for at in run.booked.values() if at >= started)
    check(
        after and after[0] - started < RECOVER_WITHIN,
        f"no booking within {RECOVER_WITHIN}s of PostgreSQL's start",
        after[:1],
    )
    check(
        not [a for a in unavailable if a.sent > end - SETTLED],
        f"still 503 in the last {SETTLED}s",
    )

    # Exactly the bookings answered 201 are stored; each confirmed once.
    conn = await asyncpg.connect(private_db.dsn)
    try:
        stored = {r["id"] for r in await conn.fetch("SELECT id FROM bookings")}
    finally:
        await conn.close()
    check(
        stored == set(booked),
        "stored bookings differ from those answered 201",
        (sorted(stored - set(booked)), sorted(set(booked) - stored)),
    )
    check(
        not [n for n in booked if n not in sent],
        "bookings never confirmed",
        [n for n in booked if n not in sent],
    )
    check(
        not [n for n, at in sent.items() if len(at) > 1],
        "bookings confirmed twice",
        [n for n, at in sent.items() if len(at) > 1],
    )

    # LISTEN (on the direct URL) came back: bookings made well after the restart are
    # confirmed at NOTIFY speed, not at the poll's.
    latency = [sent[n][0] - at for n, at in run.booked.items() if at > started + 5 and n in sent]
    check(latency, "no booking late enough to tell whether LISTEN came back")
    check(
        percentile(latency, 0.5) < CONFIRMED_WITHIN / 2,
        "confirmations after the restart wait for the poll: LISTEN did not come back",
        [round(x, 2) for x in latency],
    )
    check(log.count("listening for new reminders") >= 2, "no second LISTEN connection")
    check(int(stats["clinic"]["total_xact_count"]) > len(api), "traffic bypassed PgBouncer", stats)

    statuses = Counter((a.what, a.status) for a in api)
    print(
        f"bookings: {len(calm.booked)} before, {len(run.booked)} during/after; {statuses}; "
        f"503 latency p50 {percentile([a.elapsed for a in unavailable], 0.5):.2f}s; "
        f"first booking {after[0] - started if after else None}s after the start; "
        f"confirmation latency after the restart p50 {percentile(latency, 0.5):.2f}s; "
        f"PgBouncer transactions {stats['clinic']['total_xact_count']}"
    )
    assert not found, "\n".join([*found, "server log:", server.log_tail()])
