"""Booking under load, against a real `clinic serve` process.

    .venv/bin/python -m bench.booking [--quick] [--concurrency 32] [--duration 10]

Setup: a PostgreSQL server (BENCH_DATABASE_URL or TEST_DATABASE_URL as an admin DSN,
else an embedded one in a temporary directory), two new databases there, each migrated
and holding the demo catalog: one for the server, one for the straight-asyncpg side.
The fake Bot API runs in a process of its own, the server as `python -m clinic serve`
(with --no-worker when that flag exists, so the figures measure booking, not reminders)
with BOT_TOKEN (the benchmark signs initData with it), PUBLIC_URL=https://bench.invalid,
TELEGRAM_API_URL=the fake, TELEGRAM_RATE_LIMIT=0, on a free port. Clients are aiohttp
sessions in this process, each with a connection pool of exactly its concurrency,
opened before the clock starts. initData and bodies are signed and encoded beforehand.

What it measures, in order (DESIGN.md, "Numbers it must reach"):

1. race: for each of 20 slots, 200 different users POST /api/bookings for that one slot
   at once. Per slot: the 201s (must be exactly 1), 409s, 5xx (must be 0) and anything
   else; then the confirmed rows in `bookings` for those slots, read from the database
   (must be one per slot). Each raced request may take 30 s; the first slot that
   gets any other answer ends the race (the verdict is in), and the server is restarted
   so that requests its clients gave up on do not weigh on the next figures.
2. booking throughput at 32 concurrent clients for --duration seconds: each request a
   new user booking a distinct free slot (fetched beforehand from
   /api/doctors/{id}/slots for every doctor and bookable week, today left out, spread
   round-robin over doctor-days), so nearly every answer is a 201. Then, on the other
   database, the same work straight through asyncpg with no HTTP: 32 tasks on a pool
   sized like the server's (Settings.db_pool_min/max), each call
   `clinic.users.service.register` (the server upserts every user it has not seen)
   then `Bookings.create_booking` (what the handler calls). Both sides
   get a short warm-up first (not counted). Goal: HTTP rate / asyncpg rate >= 0.5.
3. GET /api/doctors/{id}/slots?week_of= at 32 concurrent clients for --duration
   seconds, rotating over every doctor and bookable week (by now holding the bookings
   of step 2). Goal: p99 < 15 ms.
4. the server's memory after all that: VmRSS (goal < 150 MB) and VmHWM (peak).

Latencies are measured in this process, from sending a request to reading the whole
answer. The load generator shares the machine's cores with the server and PostgreSQL:
on a 2-core machine the HTTP figures include that contention, as the ratio in the
goal intends. Prints a table (each figure next to its goal: PASS or SHORT) and writes
the raw figures to bench/results/booking.json. Exit status 1 when the race check
fails, 130 when interrupted; a SHORT figure alone does not fail the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import shutil
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import aiohttp
import asyncpg
import orjson

from bench.common import (
    BOT_TOKEN,
    PUBLIC_URL,
    ROOT,
    FakeBotApi,
    Server,
    admin_dsn,
    bench_database,
    bench_settings,
    client_session,
    closed_loop,
    cpu_seconds,
    fake_bot_api,
    free_port,
    log,
    machine,
    open_connections,
    print_table,
    running_server,
    unwind_on_signals,
    verdict,
    write_results,
)
from clinic import db
from clinic.booking.models import BookingRequest
from clinic.booking.service import Bookings
from clinic.booking.slots import last_bookable_day, to_instant, week_start
from clinic.catalog.service import Catalog
from clinic.telegram.models import TelegramUser
from clinic.users.service import Users
from clinic.web import initdata

GOAL_RATIO = 0.5
GOAL_SLOTS_P99_MS = 15.0
GOAL_RSS_MB = 150.0

RACE_USERS = 10_000_000
HTTP_USERS = 20_000_000
DIRECT_USERS = 30_000_000
# Seconds a raced request may take: a healthy race settles in well under one.
RACE_TIMEOUT = 30.0

COUNT_RACE_ROWS = """
SELECT count(b.id)
FROM unnest($1::int[], $2::timestamptz[]) WITH ORDINALITY AS s (doctor_id, starts_at, k)
LEFT JOIN bookings AS b
       ON b.doctor_id = s.doctor_id AND b.starts_at = s.starts_at AND b.status = 'confirmed'
GROUP BY s.k
ORDER BY s.k
"""


@dataclass(frozen=True, slots=True)
class Slot:
    doctor_id: int
    day: date
    at: str  # "HH:MM", clinic time

    def body(self) -> bytes:
        return orjson.dumps(
            {"doctor_id": self.doctor_id, "date": self.day.isoformat(), "time": self.at}
        )

    def request(self) -> BookingRequest:
        return BookingRequest.model_validate(
            {"doctor_id": self.doctor_id, "date": self.day.isoformat(), "time": self.at}
        )


def patient(user_id: int) -> TelegramUser:
    return TelegramUser(
        id=user_id, first_name="Пациент", last_name="Нагрузочный", language_code="ru"
    )


def booking_headers(user: TelegramUser) -> dict[str, str]:
    signed = initdata.sign(user, bot_token=BOT_TOKEN)
    return {"Authorization": f"tma {signed}", "Content-Type": "application/json"}


def bookable_mondays(today: date) -> list[date]:
    first, last = week_start(today), week_start(last_bookable_day(today))
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def spread(slots: list[Slot]) -> list[Slot]:
    """Round-robin over doctor-days, so requests in flight together hit different ones."""
    groups: defaultdict[tuple[date, int], list[Slot]] = defaultdict(list)
    for slot in slots:
        groups[(slot.day, slot.doctor_id)].append(slot)
    layers = itertools.zip_longest(*(groups[key] for key in sorted(groups)))
    return [slot for layer in layers for slot in layer if slot is not None]


# --- the free slots, through the API and through the service ------------------------


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as answer:
        if answer.status != 200:
            raise RuntimeError(f"GET {url}: {answer.status} {await answer.text()}")
        return orjson.loads(await answer.read())


async def api_doctor_ids(session: aiohttp.ClientSession, base: str) -> list[int]:
    ids: list[int] = []
    for spec in await get_json(session, f"{base}/api/specializations"):
        doctors = await get_json(session, f"{base}/api/specializations/{spec['id']}/doctors")
        ids.extend(doctor["id"] for doctor in doctors)
    return sorted(ids)


async def api_free_slots(
    session: aiohttp.ClientSession, base: str, doctors: list[int], mondays: list[date], today: date
) -> list[Slot]:
    async def week(doctor: int, monday: date) -> list[Slot]:
        found = await get_json(session, f"{base}/api/doctors/{doctor}/slots?week_of={monday}")
        return [
            Slot(doctor, date.fromisoformat(day["date"]), at)
            for day in found["days"]
            for at in day["slots"]
        ]

    weeks = await asyncio.gather(*(week(d, m) for d in doctors for m in mondays))
    return [slot for found in weeks for slot in found if slot.day > today]


async def service_free_slots(
    pool: asyncpg.Pool, tz: Any, mondays: list[date], today: date
) -> tuple[list[int], list[Slot]]:
    doctors: list[int] = []
    database = db.Database.of(pool)
    catalog = Catalog(database)
    for spec in await catalog.specializations(search=None):
        found = await catalog.doctors(spec.id)
        doctors.extend(doctor.id for doctor in found)
    doctors.sort()
    slots: list[Slot] = []
    bookings = Bookings(database, tz=tz, clock=lambda: datetime.now(UTC))
    for doctor in doctors:
        for monday in mondays:
            week = await bookings.week_slots(doctor, week_of=monday)
            slots.extend(
                Slot(doctor, day.date, at)
                for day in week.days
                for at in day.slots
                if day.date > today
            )
    return doctors, slots


# --- 1. the race --------------------------------------------------------------------


async def post_booking(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes
) -> str:
    async with session.post(url, data=body, headers=headers) as answer:
        await answer.read()
        return str(answer.status)


async def race(
    server: Server, http_dsn: str, slots: list[Slot], clients: int, tz: Any
) -> dict[str, Any]:
    """Each slot in turn: `clients` new users book it at once. The first slot that goes
    wrong (an answer other than 201/409) ends the race, and the server is restarted."""
    url = f"{server.url}/api/bookings"
    per_slot: list[dict[str, Any]] = []
    async with client_session(clients, timeout=RACE_TIMEOUT) as session:
        await open_connections(session, f"{server.url}/healthz", clients)
        for k, slot in enumerate(slots):
            body = slot.body()
            contenders = [
                booking_headers(patient(RACE_USERS + k * clients + n)) for n in range(clients)
            ]
            began = perf_counter()
            outcomes = await asyncio.gather(
                *(post_booking(session, url, headers, body) for headers in contenders),
                return_exceptions=True,
            )
            seconds = perf_counter() - began
            counted = Counter(
                o if isinstance(o, str) else f"error:{type(o).__name__}" for o in outcomes
            )
            entry: dict[str, Any] = {
                "doctor_id": slot.doctor_id,
                "date": slot.day.isoformat(),
                "time": slot.at,
                "seconds": round(seconds, 3),
                "answers": dict(sorted(counted.items())),
                "created": counted["201"],
                "conflicts": counted["409"],
                "server_errors": sum(n for s, n in counted.items() if s.startswith("5")),
                "other": {
                    s: n
                    for s, n in counted.items()
                    if s not in ("201", "409") and not s.startswith("5")
                },
            }
            per_slot.append(entry)
            if counted.keys() - {"201", "409"}:
                # The server may go on with requests its clients gave up on (they hold
                # its pool): a fresh process gives the next figures a clean start.
                log(f"race: slot {k} went wrong {entry['answers']}: restarting the server")
                await asyncio.to_thread(server.restart)
                break
    raced = slots[: len(per_slot)]
    conn = await asyncpg.connect(http_dsn)
    try:
        instants = [to_instant(s.day, time.fromisoformat(s.at), tz) for s in raced]
        rows = await conn.fetch(COUNT_RACE_ROWS, [s.doctor_id for s in raced], instants)
    finally:
        await conn.close()
    for entry, row in zip(per_slot, rows, strict=True):
        entry["rows_in_db"] = row[0]
    good = [
        e
        for e in per_slot
        if e["created"] == 1 and e["conflicts"] == clients - 1 and e["rows_in_db"] == 1
    ]
    return {
        "slots": len(slots),
        "slots_raced": len(per_slot),
        "clients_per_slot": clients,
        "slots_with_one_201": sum(e["created"] == 1 for e in per_slot),
        "created": sum(e["created"] for e in per_slot),
        "conflicts": sum(e["conflicts"] for e in per_slot),
        "server_errors": sum(e["server_errors"] for e in per_slot),
        "other": sum(sum(e["other"].values()) for e in per_slot),
        "rows_in_db": sum(e["rows_in_db"] for e in per_slot),
        "ok": len(good) == len(slots),
        "per_slot": per_slot,
    }


# --- 2. booking throughput ------------------------------------------------------------


async def http_throughput(
    server: Server, slots: list[Slot], *, concurrency: int, duration: float, warmup: float
) -> dict[str, Any]:
    url = f"{server.url}/api/bookings"
    log(f"signing {len(slots)} booking requests")
    work = iter(
        [(booking_headers(patient(HTTP_USERS + n)), slot.body()) for n, slot in enumerate(slots)]
    )
    async with client_session(concurrency) as session:
        await open_connections(session, f"{server.url}/healthz", concurrency)

        async def book(item: tuple[dict[str, str], bytes]) -> str:
            return await post_booking(session, url, *item)

        await closed_loop(book, work, concurrency=concurrency, duration=warmup)
        run = await closed_loop(
            book, work, concurrency=concurrency, duration=duration, server_pid=server.pid
        )
    return run.summary()


async def direct_throughput(
    dsn: str,
    slots: list[Slot],
    *,
    settings: Any,
    concurrency: int,
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    work = iter([(patient(DIRECT_USERS + n), slot.request()) for n, slot in enumerate(slots)])
    tz = settings.tz
    pool = await db.create_pool(dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    database = db.Database.of(pool)
    users = Users(database)
    bookings = Bookings(database, tz=tz, clock=lambda: datetime.now(UTC))
    try:

        async def book(item: tuple[TelegramUser, BookingRequest]) -> str:
            user, request = item
            await users.register(user)
            await bookings.create_booking(user.id, request)
            return "ok"

        await closed_loop(book, work, concurrency=concurrency, duration=warmup)
        run = await closed_loop(book, work, concurrency=concurrency, duration=duration)
    finally:
        await pool.close()
    return run.summary()


# --- 3. reading a week of slots -------------------------------------------------------


async def slot_reads(
    server: Server, doctors: list[int], mondays: list[date], *, concurrency: int, duration: float
) -> dict[str, Any]:
    urls = [
        f"{server.url}/api/doctors/{doctor}/slots?week_of={monday + timedelta(days=doctor % 6)}"
        for doctor in doctors
        for monday in mondays
    ]
    random.Random(7).shuffle(urls)
    if shutil.which("wrk"):
        return await wrk_reads(server, urls, concurrency=concurrency, duration=duration)
    async with client_session(concurrency) as session:
        await open_connections(session, f"{server.url}/healthz", concurrency)

        async def read(url: str) -> str:
            async with session.get(url) as answer:
                await answer.read()
                return str(answer.status)

        run = await closed_loop(
            read,
            itertools.cycle(urls),
            concurrency=concurrency,
            duration=duration,
            server_pid=server.pid,
        )
    return run.summary()


WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %%d, \\"seconds\\": %%.3f, "
    .. "\\"non_2xx\\": %%d, \\"errors\\": %%d, \\"p50_ms\\": %%.2f, "
    .. "\\"p90_ms\\": %%.2f, \\"p99_ms\\": %%.2f, \\"max_ms\\": %%.2f}\\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


async def wrk_reads(
    server: Server, urls: list[str], *, concurrency: int, duration: float
) -> dict[str, Any]:
    """The same closed loop driven by wrk (C, two threads): the load generator then takes
    a small share of the two cores, so the figures are the server's, not Python's client."""
    base = server.url
    paths = ", ".join(f'"{url.removeprefix(base)}"' for url in urls)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % paths)
    try:
        cpu_before = cpu_seconds(server.pid)
        process = await asyncio.create_subprocess_exec(
            "wrk",
            "-t2",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "-s",
            script.name,
            base,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        server_cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        os.unlink(script.name)
    line = next(text for text in output.decode().splitlines() if text.startswith("JSON "))
    figures: dict[str, Any] = json.loads(line.removeprefix("JSON "))
    ok = figures["requests"] - figures["non_2xx"]
    figures.update(
        rate=round(figures["requests"] / figures["seconds"], 1),
        outcomes={"200": ok, "other": figures["non_2xx"] + figures["errors"]},
        client="wrk",
        server_cpu_ms_per_request=round(server_cpu * 1000 / max(figures["requests"], 1), 3),
    )
    return figures


# --- the run ---------------------------------------------------------------------------


async def measure(
    server: Server, settings: Any, direct_dsn: str, args: argparse.Namespace
) -> dict[str, Any]:
    tz = settings.tz
    today = datetime.now(tz).date()
    mondays = bookable_mondays(today)
    async with client_session(args.concurrency) as session:
        doctors = await api_doctor_ids(session, server.url)
        free = spread(await api_free_slots(session, server.url, doctors, mondays, today))
    log(f"{len(doctors)} doctors, {len(mondays)} weeks, {len(free)} free slots")
    race_slots, free = free[: args.race_slots], free[args.race_slots :]

    log(f"race: {args.race_slots} slots x {args.race_clients} users")
    raced = await race(
        server, settings.database_url.get_secret_value(), race_slots, args.race_clients, tz
    )
    server.check_alive()

    log(f"booking through HTTP: {args.concurrency} clients, {args.duration:g} s")
    http = await http_throughput(
        server, free, concurrency=args.concurrency, duration=args.duration, warmup=args.warmup
    )
    server.check_alive()

    log(f"slots for a week: {args.concurrency} clients, {args.duration:g} s")
    reads = await slot_reads(
        server, doctors, mondays, concurrency=args.concurrency, duration=args.duration
    )
    server.check_alive()
    memory = server.memory_mb()

    log("booking straight through asyncpg")
    pool = await db.create_pool(direct_dsn, min_size=1, max_size=2)
    try:
        _, direct_free = await service_free_slots(pool, tz, mondays, today)
    finally:
        await pool.close()
    # The same slots the HTTP side got: the race's are left out here too.
    direct_free = spread(direct_free)[args.race_slots :]
    direct = await direct_throughput(
        direct_dsn,
        direct_free,
        settings=settings,
        concurrency=args.concurrency,
        duration=args.duration,
        warmup=args.warmup,
    )
    ratio = http["rate"] / direct["rate"] if direct["rate"] else float("nan")
    return {
        "free_slots": len(free) + len(race_slots),
        "doctors": len(doctors),
        "weeks": len(mondays),
        "race": raced,
        "booking_http": http,
        "booking_asyncpg": direct,
        "booking_ratio": round(ratio, 3),
        "slots_read": reads,
        "server_memory_mb": memory,
        "server_restarts": server.restarts,
    }


def report(figures: dict[str, Any], args: argparse.Namespace, pool_max: int) -> bool:
    raced, http, direct = figures["race"], figures["booking_http"], figures["booking_asyncpg"]
    reads, memory, ratio = (
        figures["slots_read"],
        figures["server_memory_mb"],
        figures["booking_ratio"],
    )
    n = raced["slots"]
    created = http["outcomes"].get("201", 0)
    rows = [
        (
            f"race: slots with exactly one 201 ({raced['clients_per_slot']} users each)",
            f"{raced['slots_with_one_201']}/{n}"
            + (f" (stopped after {raced['slots_raced']})" if raced["slots_raced"] < n else ""),
            f"{n}/{n}",
            verdict(raced["slots_with_one_201"] == n and raced["created"] == n),
        ),
        (
            "race: 409s",
            str(raced["conflicts"]),
            str(n * (raced["clients_per_slot"] - 1)),
            verdict(raced["conflicts"] == n * (raced["clients_per_slot"] - 1)),
        ),
        ("race: 5xx", str(raced["server_errors"]), "0", verdict(raced["server_errors"] == 0)),
        ("race: any other answer", str(raced["other"]), "0", verdict(raced["other"] == 0)),
        (
            "race: slowest slot (all answers in)",
            f"{max(e['seconds'] for e in raced['per_slot']):.2f} s",
            "",
            "",
        ),
        (
            "race: rows in bookings for those slots",
            str(raced["rows_in_db"]),
            str(n),
            verdict(raced["rows_in_db"] == n),
        ),
        (
            f"booking via HTTP @{args.concurrency}",
            f"{http['rate']:.0f}/s  p50 {http['p50_ms']:.1f} ms  p99 {http['p99_ms']:.1f} ms",
            "",
            "",
        ),
        (
            "  answers other than 201",
            str(http["requests"] - created),
            "~0",
            verdict(http["requests"] - created <= max(1, http["requests"] // 1000)),
        ),
        (
            f"booking via asyncpg @{args.concurrency} (pool {pool_max})",
            f"{direct['rate']:.0f}/s  p50 {direct['p50_ms']:.1f} ms  p99 {direct['p99_ms']:.1f} ms",
            "",
            "",
        ),
        (
            "  outcomes other than ok",
            str(direct["requests"] - direct["outcomes"].get("ok", 0)),
            "~0",
            verdict(
                direct["requests"] - direct["outcomes"].get("ok", 0)
                <= max(1, direct["requests"] // 1000)
            ),
        ),
        (
            "booking HTTP / asyncpg",
            f"{ratio:.2f}",
            f">= {GOAL_RATIO}",
            verdict(ratio >= GOAL_RATIO),
        ),
        (
            f"slots for a week @{args.concurrency}",
            f"{reads['rate']:.0f}/s  p50 {reads['p50_ms']:.1f} ms",
            "",
            "",
        ),
        (
            "  p99",
            f"{reads['p99_ms']:.1f} ms",
            f"< {GOAL_SLOTS_P99_MS:g} ms",
            verdict(reads["p99_ms"] < GOAL_SLOTS_P99_MS),
        ),
        (
            "  answers other than 200",
            str(reads["requests"] - reads["outcomes"].get("200", 0)),
            "0",
            verdict(reads["requests"] == reads["outcomes"].get("200", 0)),
        ),
        (
            "server RSS after the run (peak)"
            + (" [restarted after the race]" if figures["server_restarts"] else ""),
            f"{memory.get('VmRSS', math.nan):.0f} MB ({memory.get('VmHWM', math.nan):.0f} MB)",
            f"< {GOAL_RSS_MB:g} MB",
            verdict(memory.get("VmRSS", float("inf")) < GOAL_RSS_MB),
        ),
    ]
    print_table("Booking", rows)
    for name in ("booking_http", "booking_asyncpg"):
        if figures[name]["ran_out_of_work"]:
            print(f"note: {name} ran out of free slots before the time was up")
    return bool(raced["ok"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.booking", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="short run: 5 race slots, 2 s phases")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=None, help="seconds per phase (10)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up (1.5)")
    parser.add_argument("--race-slots", type=int, default=None, help="slots raced for (20)")
    parser.add_argument("--race-clients", type=int, default=200, help="users per raced slot")
    args = parser.parse_args(argv)
    quick = {"duration": 2.0, "warmup": 0.5, "race_slots": 5}
    full = {"duration": 10.0, "warmup": 1.5, "race_slots": 20}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    unwind_on_signals()
    started = machine()
    try:
        with contextlib.ExitStack() as stack:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="clinic-bench-")))
            admin, source = stack.enter_context(admin_dsn(scratch))
            prefix = f"clinic_bench_booking_{os.getpid()}"
            http_dsn = stack.enter_context(bench_database(admin, f"{prefix}_http"))
            direct_dsn = stack.enter_context(bench_database(admin, f"{prefix}_direct"))
            fake: FakeBotApi = stack.enter_context(fake_bot_api(BOT_TOKEN, scratch))
            settings = bench_settings(
                database_url=http_dsn,
                bot_token=BOT_TOKEN,
                public_url=PUBLIC_URL,
                telegram_api_url=fake.url,
                telegram_rate_limit=0,
                admin_ids=[],
                host="127.0.0.1",
                port=free_port(),
                miniapp_dist=ROOT / "miniapp" / "dist",
            )
            server = stack.enter_context(running_server(settings, scratch, name="booking"))
            figures = asyncio.run(measure(server, settings, direct_dsn, args))
            server.check_alive()
            bot_calls = fake.get("/_fake/stats")
            log_problems = server.log_problems()
    except KeyboardInterrupt:
        log("interrupted; processes stopped and databases dropped")
        return 130
    results = {
        "benchmark": "booking",
        "machine": started,
        "load_average_after": machine()["load_average"],
        "config": {
            "database": source,
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "race_slots": args.race_slots,
            "race_clients": args.race_clients,
            "db_pool_min": settings.db_pool_min,
            "db_pool_max": settings.db_pool_max,
            "serve_flags": server.flags,
            "server_restarts": server.restarts,
            "quick": args.quick,
        },
        "goals": {"ratio": GOAL_RATIO, "slots_p99_ms": GOAL_SLOTS_P99_MS, "rss_mb": GOAL_RSS_MB},
        **figures,
        "bot_api_calls": bot_calls,
        "server_log_problems": log_problems,
    }
    ok = report(figures, args, settings.db_pool_max)
    if log_problems.get("levels"):
        print(f"server log: {log_problems} (bench/results/booking-server.log)")
    path = write_results("booking", results)
    before, after = started["load_average"], results["load_average_after"]
    print(f"raw figures: {path.relative_to(ROOT)}  (load average before {before}, after {after})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
