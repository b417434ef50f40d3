"""Booking under load, against a real `clinic serve` process, beside the reference
transaction straight through asyncpg.

    .venv/bin/python -m bench.booking [--quick] [--workers N] [--no-race] [--duration 10]

Setup: a PostgreSQL server (BENCH_DATABASE_URL or TEST_DATABASE_URL as an admin DSN,
else an embedded one in a temporary directory), two new databases there, each migrated,
holding the demo catalog and the same copies of its doctors (same hours, in one extra
specialization, "bench-copies"), as many as it takes for every booking of the run to
have a free slot of its own (--expect-rate bookings a second, times --margin): one for
the server, one for the reference. The fake Bot API runs in a process of its own, the
server as `python -m clinic serve` (with --no-worker when that flag exists, so the
figures measure booking, not reminders; with `--workers N` when asked and the flag
exists, else one process and a note saying so) with BOT_TOKEN (the benchmark signs
initData with it), PUBLIC_URL=https://bench.invalid, TELEGRAM_API_URL=the fake,
TELEGRAM_RATE_LIMIT=0, on a free port.

The load client is wrk (-t2 -c32 --latency, a Lua script that walks requests formatted
beforehand) when `wrk` is on PATH, else aiohttp in this process (a closed loop of 32
workers); the report says which. wrk costs the server's two cores far less than a
Python client, so its figures are closer to the server's own.

What it measures, in order (DESIGN.md, "Numbers it must reach"):

1. race (unless --no-race): for each of 20 slots, 200 different users POST
   /api/bookings for that one slot at once (aiohttp). Per slot: the 201s (must be
   exactly 1), 409s, 5xx (must be 0) and anything else; then the confirmed rows in
   `bookings` for those slots (must be one per slot). Each raced request may take 30 s;
   the first slot that gets any other answer ends the race, and the server is restarted
   so that requests its clients gave up on do not weigh on the next figures.
2. booking through HTTP at 32 connections: each request a new user booking a distinct
   free slot (read beforehand from /api/doctors/{id}/slots for every doctor and
   bookable week, today left out, spread round-robin over doctor-days), each
   (Authorization, body) pair sent once, so nearly every answer is a 201; wrk's
   threads take disjoint shares. A warm-up of --warmup seconds (users not seen
   before) sizes the timed run: duration x its rate x --margin pairs. Then, untimed,
   each of those users GETs /api/me once (as the MiniApp does on opening; it registers
   them), the user who will book first last; then --duration seconds timed. A thread
   whose pairs run out stops rather than send one twice, and the run is refused.
3. the reference, on the other database: 32 asyncio tasks on an asyncpg pool made and
   sized like the server's (clinic.db.create_pool, Settings.db_pool_min/max), each
   iteration the transaction written out below (REFERENCE_BOOKING and
   REFERENCE_NOTIFICATIONS) for a distinct free slot (the same list as the HTTP side)
   and a user inserted beforehand; a warm-up, then --duration seconds. Goal:
   HTTP rate / reference rate >= 0.5 (one server process).
4. GET /api/doctors/{id}/slots?week_of= at 32 connections for --duration seconds,
   rotating over the demo doctors and bookable weeks (by now holding the bookings of
   step 2), after an untimed warm-up of --warmup seconds (step 2 dropped the cached
   weeks of every doctor it booked with; the first reads compute them again). Goal:
   p99 < 10 ms.
5. the catalog at 32 connections for --duration seconds (after a warm-up as in 4),
   rotating over GET /api/specializations, /api/specializations/{id}/doctors for each
   demo specialization and /api/doctors/{id} for each demo doctor. Goal: a rate at
   least that of the slots.
6. the server's memory after all that: VmRSS (goal < 150 MB) and VmHWM (peak), summed
   over its process tree (with N workers: the supervisor and the N workers; a sum of
   peaks).

The copies of doctors stay out of steps 4 and 5, so the catalog read is the demo
clinic's. Latencies are wrk's (or this process's: from sending a request to reading the
whole answer). The client shares the machine's cores with the server and PostgreSQL.
Prints a table (each figure next to its goal: PASS or SHORT; with N > 1 workers,
"(no goal)") and writes the raw figures to bench/results/booking.json (with --workers N
above 1: booking-workersN.json). Exit status 1 when the race check fails, 2 when free
slots run short (rerun with a higher --expect-rate), 130 when interrupted; a SHORT
figure alone does not fail the run.
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
import re
import resource
import shutil
import subprocess
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
from clinic.booking.slots import (
    DEFAULT_HOURS,
    SLOT,
    WORKDAYS,
    last_bookable_day,
    to_instant,
    week_start,
)
from clinic.catalog.service import Catalog
from clinic.telegram.models import TelegramUser
from clinic.web import initdata

GOAL_RATIO = 0.5
GOAL_SLOTS_P99_MS = 10.0
GOAL_RSS_MB = 150.0

WRK_THREADS = 2
# Seconds wrk waits for one answer before counting a timeout.
WRK_TIMEOUT = "10s"

RACE_USERS = 10_000_000
WARMUP_USERS = 20_000_000
HTTP_USERS = 25_000_000
REFERENCE_USERS = 30_000_000
# Seconds a raced request may take: a healthy race settles in well under one.
RACE_TIMEOUT = 30.0
# How many callers the server remembers as verified (initdata.Verifier's capacity) and as
# registered (users.service.Users'): more users than that in one run, and some of them
# pay the signature check, or the upsert's round trip, again when they book.
SERVER_VERIFIED_MEMORY = 10_000
SERVER_REGISTERED_MEMORY = 50_000

COPIES_SLUG = "bench-copies"

# --- the reference transaction -------------------------------------------------------
#
# DESIGN.md's "minimal transaction straight through asyncpg": what a booking cannot do
# without. One transaction of two statements: the booking row, which both exclusion
# constraints of `bookings` check (bookings_doctor_no_overlap: the doctor's slot is
# free; bookings_patient_no_overlap: the patient is not booked elsewhere then), then its
# four notification rows in one statement over unnest: the confirmation, due now, and
# the reminders 24 h, 6 h and 30 min before the start (what sql/booking.sql's `book`
# plans through plan_messages, quiet hours off). The patient is a `users` row inserted
# beforehand, outside the clock. No HTTP, no JSON, no initData, no checks of hours, days
# off or caps: the server does all of that besides, in one statement.
REFERENCE_BOOKING = """
INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at)
VALUES ($1::int, $2::bigint, $3::timestamptz, $4::timestamptz)
RETURNING id
"""
REFERENCE_NOTIFICATIONS = """
INSERT INTO notifications (booking_id, chat_id, kind, due_at)
SELECT $1::bigint, $2::bigint, m.kind, m.due_at
FROM unnest($3::text[], $4::timestamptz[]) AS m (kind, due_at)
"""
REFERENCE_KINDS = ["confirmation", "24h", "6h", "30m"]
REMINDER_LEADS = (timedelta(hours=24), timedelta(hours=6), timedelta(minutes=30))

# The reference's patients, one per booking, inserted before the clock starts.
INSERT_USERS = """
INSERT INTO users (telegram_id, first_name, last_name, language_code)
SELECT id, 'Пациент', 'Нагрузочный', 'ru'
FROM generate_series($1::bigint, $2::bigint) AS id
"""

# --- the bench databases: copies of the demo doctors -----------------------------------

# Bookable half-hour slots of every doctor on days $1..$2 (their own weekly hours, else
# the clinic's default $3-$4 on the weekdays $5), before any booking: for sizing only.
COUNT_SLOTS = """
SELECT count(DISTINCT d.id)::int AS doctors,
       coalesce(sum(extract(epoch FROM w.ends - w.starts) / 1800), 0)::bigint AS slots
FROM doctors AS d
CROSS JOIN generate_series($1::date, $2::date, interval '1 day') AS g (day)
CROSS JOIN LATERAL (
    SELECT h.starts, h.ends
    FROM doctor_hours AS h
    WHERE h.doctor_id = d.id AND h.weekday = extract(isodow FROM g.day)
    UNION ALL
    SELECT $3::time, $4::time
    WHERE NOT EXISTS (SELECT 1 FROM doctor_hours AS h WHERE h.doctor_id = d.id)
) AS w
WHERE extract(isodow FROM g.day) = ANY ($5::int[])
"""

ADD_COPIES_SPECIALIZATION = """
INSERT INTO specializations (slug, name, description)
VALUES ($1::text, 'Копии врачей (нагрузочный тест)', '')
RETURNING id
"""

# $2 copies of the doctors there are, round robin by id, in specialization $1, each
# with the weekly hours of the doctor copied.
ADD_DOCTOR_COPIES = """
WITH originals AS (
    SELECT d.*, row_number() OVER (ORDER BY d.id) AS k, count(*) OVER () AS n
    FROM doctors AS d
),
wanted AS (
    SELECT c.c, o.id AS original, o.slug || '-copy-' || c.c AS slug, o.last_name,
           o.first_name, o.middle_name, o.title, o.experience_years, o.description, o.photo
    FROM generate_series(1, $2::int) AS c (c)
    JOIN originals AS o ON o.k = (c.c - 1) % o.n + 1
),
copies AS (
    INSERT INTO doctors (slug, specialization_id, last_name, first_name, middle_name,
                         title, experience_years, description, photo)
    SELECT w.slug, $1::int, w.last_name, w.first_name, w.middle_name, w.title,
           w.experience_years, w.description, w.photo
    FROM wanted AS w
    ORDER BY w.c
    RETURNING id, slug
)
INSERT INTO doctor_hours (doctor_id, weekday, starts, ends)
SELECT c.id, h.weekday, h.starts, h.ends
FROM copies AS c
JOIN wanted AS w ON w.slug = c.slug
JOIN doctor_hours AS h ON h.doctor_id = w.original
"""

DOCTOR_IDS = "SELECT array_agg(id || ':' || slug ORDER BY id) FROM doctors"

COUNT_RACE_ROWS = """
SELECT count(b.id)
FROM unnest($1::int[], $2::timestamptz[]) WITH ORDINALITY AS s (doctor_id, starts_at, k)
LEFT JOIN bookings AS b
       ON b.doctor_id = s.doctor_id AND b.starts_at = s.starts_at AND b.status = 'confirmed'
GROUP BY s.k
ORDER BY s.k
"""

COUNT_WRITTEN = """
SELECT (SELECT count(*) FROM bookings WHERE status = 'confirmed') AS bookings,
       (SELECT count(*) FROM notifications) AS notifications
"""


class OutOfSlots(RuntimeError):
    """The run would need more free slots than the bench databases hold."""


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


def authorization(user: TelegramUser) -> str:
    return f"tma {initdata.sign(user, bot_token=BOT_TOKEN)}"


def booking_headers(user: TelegramUser) -> dict[str, str]:
    return {"Authorization": authorization(user), "Content-Type": "application/json"}


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


# --- preparing the databases ----------------------------------------------------------


def slots_needed(args: argparse.Namespace) -> int:
    """Free slots one side may use: the race's, and the warm-up and timed run at
    --expect-rate bookings a second with --margin to spare."""
    race: int = 0 if args.no_race else args.race_slots
    run: float = (args.warmup + args.duration) * args.expect_rate * args.margin
    return race + math.ceil(run) + 4 * int(args.concurrency)


async def copies_wanted(dsn: str, needed: int, today: date) -> tuple[int, int]:
    """(how many copies of doctors make `needed` free slots, slots without them)."""
    opens, closes = DEFAULT_HOURS[min(WORKDAYS)]
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            COUNT_SLOTS,
            today + timedelta(days=1),
            last_bookable_day(today),
            opens,
            closes,
            list(WORKDAYS),
        )
    finally:
        await conn.close()
    assert row is not None
    doctors, slots = int(row["doctors"]), int(row["slots"])
    if slots >= needed or not doctors:
        return 0, slots
    return math.ceil((needed - slots) / (slots / doctors)), slots


async def add_doctor_copies(dsn: str, copies: int) -> str:
    """`copies` copies of the doctors, in a specialization of their own; returns the
    doctors' ids and slugs (the same on both bench databases, or the run is refused)."""
    conn = await asyncpg.connect(dsn)
    try:
        if copies:
            async with conn.transaction():
                spec = await conn.fetchval(ADD_COPIES_SPECIALIZATION, COPIES_SLUG)
                await conn.execute(ADD_DOCTOR_COPIES, spec, copies)
        return str(await conn.fetchval(DOCTOR_IDS))
    finally:
        await conn.close()


# --- the catalog and the free slots, through the API -----------------------------------


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as answer:
        if answer.status != 200:
            raise RuntimeError(f"GET {url}: {answer.status} {await answer.text()}")
        return orjson.loads(await answer.read())


@dataclass
class Clinic:
    """What the API lists: the demo catalog's specializations and doctors, and every
    doctor (copies too)."""

    specializations: list[int]
    demo_doctors: list[int]
    doctors: list[int]


async def api_clinic(session: aiohttp.ClientSession, base: str) -> Clinic:
    specs, demo, every = [], [], []
    for spec in await get_json(session, f"{base}/api/specializations"):
        doctors = await get_json(session, f"{base}/api/specializations/{spec['id']}/doctors")
        ids = [doctor["id"] for doctor in doctors]
        every.extend(ids)
        if spec["slug"] != COPIES_SLUG:
            specs.append(spec["id"])
            demo.extend(ids)
    return Clinic(sorted(specs), sorted(demo), sorted(every))


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
    """Every doctor and their free slots, through the services (for bench/webhook.py)."""
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


# --- the load client: wrk, or aiohttp ---------------------------------------------------

# bench/booking.py's wrk script. After "--": a mode, a file and the number of threads.
#   once FILE N: each line of FILE is one request, sent at most once: a method, a path,
#     an Authorization value and a body (may be empty), tab-separated. Thread k of N
#     takes lines k, k + N, k + 2N, ... When its lines run out the thread stops (and
#     counts that) rather than send one twice.
#   cycle FILE N: each line a path to GET; round robin, each thread from its own start.
# Requests are formatted in init(), before the clock starts. Each thread counts the
# answers by status; done() reads every thread's counts (setup() kept the threads) and
# prints them as one line of JSON.
WRK_SCRIPT = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local mode, file, count = args[1], args[2], tonumber(args[3])
  once = mode == "once"
  prepared, statuses, taken, ran_out = {}, {}, 0, 0
  local n = 0
  for line in io.lines(file) do
    if not once then
      prepared[#prepared + 1] = wrk.format("GET", line)
    elseif n % count == id - 1 then
      local method, path, auth, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {["Authorization"] = auth}
      if body == "" then
        body = nil
      else
        headers["Content-Type"] = "application/json"
      end
      prepared[#prepared + 1] = wrk.format(method, path, headers, body)
    end
    n = n + 1
  end
  lines = #prepared
  if once then
    nxt = 1
  else
    nxt = math.floor((id - 1) * lines / count) % lines + 1
  end
  idle = wrk.format("GET", "/healthz")
end

function request()
  local r = prepared[nxt]
  if once then
    if r == nil then
      ran_out = ran_out + 1
      wrk.thread:stop()
      return idle
    end
    prepared[nxt] = nil
    nxt = nxt + 1
    taken = taken + 1
    return r
  end
  nxt = nxt % lines + 1
  return r
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local out = {}
  for _, t in ipairs(threads) do
    local parts = {}
    for status, n in pairs(t:get("statuses")) do
      parts[#parts + 1] = string.format('"%d": %d', status, n)
    end
    out[#out + 1] = string.format(
      '{"statuses": {%s}, "taken": %d, "lines": %d, "ran_out": %d}',
      table.concat(parts, ", "), t:get("taken"), t:get("lines"), t:get("ran_out"))
  end
  io.write("BENCH-THREADS [" .. table.concat(out, ", ") .. "]\n")
end
"""

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def wrk_version(path: str) -> str:
    """ "4.1.0" from `wrk -v` ("wrk debian/4.1.0-3+b2 [epoll] ..."), else what it says."""
    shown = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=10)
    first = (shown.stdout + shown.stderr).strip().splitlines()[:1]
    found = re.search(r"(\d+\.\d+(?:\.\d+)?)", first[0]) if first else None
    return found[1] if found else (first[0] if first else "?")


@dataclass(frozen=True)
class LoadClient:
    """wrk when there is one (on PATH, or Debian's /usr/bin/wrk), else aiohttp."""

    wrk: str | None
    version: str = ""

    @classmethod
    def find(cls, *, python: bool = False) -> LoadClient:
        found = None if python else shutil.which("wrk") or shutil.which("/usr/bin/wrk")
        return cls(found, wrk_version(found)) if found else cls(None)

    @property
    def name(self) -> str:
        return f"wrk {self.version}" if self.wrk else "python (aiohttp)"


def ms(value: str, unit: str) -> float:
    return round(float(value) * _UNITS_MS[unit], 3)


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/sec, the latency distribution (--latency), socket errors and non-2xx
    answers from wrk's report, and the per-thread counts the script's done() printed."""
    figures: dict[str, Any] = {}
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not total or not rate:
        raise RuntimeError(f"wrk printed no summary:\n{output[-3000:]}")
    figures["requests"] = int(total[1])
    figures["seconds"] = round(ms(total[2], total[3]) / 1000, 3)
    figures["rate"] = round(float(rate[1]), 1)
    for p, value, unit in re.findall(
        r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M
    ):
        figures[f"p{p}_ms"] = ms(value, unit)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    names = ("connect", "read", "write", "timeout")
    figures["socket_errors"] = (
        dict(zip(names, map(int, errors.groups()), strict=True))
        if errors
        else dict.fromkeys(names, 0)
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    figures["non_2xx_3xx"] = int(non_2xx[1]) if non_2xx else 0
    threads_line = re.search(r"^BENCH-THREADS (.*)$", output, re.M)
    threads = json.loads(threads_line[1]) if threads_line else []
    statuses: Counter[str] = Counter()
    for thread in threads:
        statuses.update(thread["statuses"])
    figures["statuses"] = dict(sorted(statuses.items()))
    figures["taken"] = sum(t["taken"] for t in threads)
    figures["ran_out"] = any(t["ran_out"] for t in threads)
    return figures


@dataclass(frozen=True)
class Request:
    """One request of a walk: sent once."""

    method: str
    path: str
    authorization: str
    body: bytes = b""

    def line(self) -> str:
        return "\t".join((self.method, self.path, self.authorization, self.body.decode()))


class Load:
    """Runs the closed loops against one server, with wrk or aiohttp."""

    def __init__(
        self, client: LoadClient, server: Server, scratch: Path, *, concurrency: int
    ) -> None:
        self.client = client
        self.server = server
        self.scratch = scratch
        self.concurrency = concurrency
        self.script = scratch / "bench.lua"
        self.script.write_text(WRK_SCRIPT)
        self._files = itertools.count(1)

    async def once(self, requests: list[Request], *, duration: float) -> dict[str, Any]:
        """Each request sent at most once, for `duration` seconds or until they run out
        (`ran_out` true then: a thread, or a worker, found none left)."""
        if self.client.wrk:
            return await self._wrk("once", [r.line() for r in requests], duration)
        return await self._python_once(requests, duration)

    async def cycle(self, paths: list[str], *, duration: float) -> dict[str, Any]:
        """GETs of `paths` round robin for `duration` seconds."""
        if self.client.wrk:
            return await self._wrk("cycle", paths, duration)
        return await self._python_cycle(paths, duration)

    async def _wrk(self, mode: str, lines: list[str], duration: float) -> dict[str, Any]:
        assert self.client.wrk is not None
        data = self.scratch / f"wrk-{next(self._files)}-{mode}.txt"
        data.write_text("".join(f"{line}\n" for line in lines))
        command = [
            self.client.wrk,
            f"-t{WRK_THREADS}",
            f"-c{self.concurrency}",
            f"-d{max(1, math.ceil(duration))}s",
            "--latency",
            "--timeout",
            WRK_TIMEOUT,
            "-s",
            str(self.script),
            self.server.url,
            "--",
            mode,
            str(data),
            str(WRK_THREADS),
        ]
        cpu_before = self.server.cpu_seconds()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await process.communicate()
        server_cpu = self.server.cpu_seconds() - cpu_before
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        client_cpu = (children.ru_utime - children_before.ru_utime) + (
            children.ru_stime - children_before.ru_stime
        )
        text = output.decode(errors="replace")
        if process.returncode != 0:
            raise RuntimeError(f"wrk exited with {process.returncode}:\n{text[-3000:]}")
        figures = parse_wrk(text)
        count = max(figures["requests"], 1)
        figures.update(
            client=self.client.name,
            server_cpu_ms_per_request=round(server_cpu * 1000 / count, 3),
            server_cores_busy=round(server_cpu / figures["seconds"], 2),
            client_cpu_ms_per_request=round(client_cpu * 1000 / count, 3),
            wrk_report=text,
        )
        return figures

    def _from_run(self, summary: dict[str, Any]) -> dict[str, Any]:
        """A closed_loop summary in the shape of parse_wrk's."""
        outcomes: dict[str, int] = summary["outcomes"]
        statuses = {k: v for k, v in outcomes.items() if k.isdigit()}
        errors = {k: v for k, v in outcomes.items() if not k.isdigit()}
        return {
            **{k: v for k, v in summary.items() if k != "outcomes"},
            "statuses": statuses,
            "socket_errors": errors,
            "non_2xx_3xx": sum(v for k, v in statuses.items() if not k.startswith(("2", "3"))),
            "ran_out": summary["ran_out_of_work"],
            "client": self.client.name,
        }

    async def _python_once(self, requests: list[Request], duration: float) -> dict[str, Any]:
        base = self.server.url
        async with client_session(self.concurrency) as session:
            await open_connections(session, f"{base}/healthz", self.concurrency)

            async def send(request: Request) -> str:
                headers = {"Authorization": request.authorization}
                if request.body:
                    headers["Content-Type"] = "application/json"
                async with session.request(
                    request.method, base + request.path, data=request.body or None, headers=headers
                ) as answer:
                    await answer.read()
                    return str(answer.status)

            run = await closed_loop(
                send,
                iter(requests),
                concurrency=self.concurrency,
                duration=duration,
                server_pid=self.server.pid,
            )
        figures = self._from_run(run.summary())
        figures["taken"] = figures["requests"]
        return figures

    async def _python_cycle(self, paths: list[str], duration: float) -> dict[str, Any]:
        base = self.server.url
        async with client_session(self.concurrency) as session:
            await open_connections(session, f"{base}/healthz", self.concurrency)

            async def read(path: str) -> str:
                async with session.get(base + path) as answer:
                    await answer.read()
                    return str(answer.status)

            run = await closed_loop(
                read,
                itertools.cycle(paths),
                concurrency=self.concurrency,
                duration=duration,
                server_pid=self.server.pid,
            )
        return self._from_run(run.summary())


def others(figures: dict[str, Any], expected: str) -> int:
    """Answers other than `expected`, and requests with no answer (socket errors)."""
    statuses: dict[str, int] = figures["statuses"]
    errors: dict[str, int] = figures["socket_errors"]
    return sum(statuses.values()) - statuses.get(expected, 0) + sum(errors.values())


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


# --- 2. booking through HTTP -------------------------------------------------------------


def booking_requests(slots: list[Slot], first_user: int) -> list[Request]:
    """One new user per slot, their initData signed now."""
    return [
        Request("POST", "/api/bookings", authorization(patient(first_user + n)), slot.body())
        for n, slot in enumerate(slots)
    ]


async def open_miniapp(server: Server, requests: list[Request], concurrency: int) -> Counter[str]:
    """GET /api/me once for each booking's user (the MiniApp does on opening; it registers
    the user), untimed. The user who books first goes last: the server's memories of
    recent callers then hold as many of the first bookers as they can."""
    url = f"{server.url}/api/me"
    outcomes: Counter[str] = Counter()
    work = iter(reversed(requests))
    async with client_session(concurrency) as session:

        async def worker() -> None:
            for request in work:
                headers = {"Authorization": request.authorization}
                async with session.get(url, headers=headers) as answer:
                    await answer.read()
                    outcomes[str(answer.status)] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes


async def http_booking(
    load: Load, free: list[Slot], args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The warm-up, then the timed run on as many fresh users as the warm-up's rate
    says it needs; (timed figures, what was done around them)."""
    warmup_count = min(len(free), math.ceil(args.warmup * args.expect_rate * args.margin))
    warmup_slots, free = free[:warmup_count], free[warmup_count:]
    log(f"booking warm-up: {args.warmup:g} s, up to {warmup_count} new users")
    warm = await load.once(booking_requests(warmup_slots, WARMUP_USERS), duration=args.warmup)
    if warm["ran_out"]:
        raise OutOfSlots(
            f"the warm-up used all its {warmup_count} slots in {args.warmup:g} s "
            f"(--expect-rate {args.expect_rate:g} x --margin {args.margin:g} too low)"
        )
    wanted = math.ceil(args.duration * warm["rate"] * args.margin)
    if wanted > len(free):
        raise OutOfSlots(
            f"the timed run needs {wanted} free slots ({args.duration:g} s x "
            f"{warm['rate']:.0f}/s x {args.margin:g}), {len(free)} are left: raise --expect-rate"
        )
    log(f"signing {wanted} bookings of new users; each opens the MiniApp (GET /api/me)")
    timed = booking_requests(free[:wanted], HTTP_USERS)
    opened = await open_miniapp(load.server, timed, args.concurrency)
    if set(opened) != {"200"}:
        raise RuntimeError(f"GET /api/me before booking: {dict(opened)}")
    load.server.check_alive()
    log(f"booking through HTTP: {args.concurrency} connections, {args.duration:g} s")
    figures = await load.once(timed, duration=args.duration)
    if figures["ran_out"]:
        raise OutOfSlots(
            f"the timed run used all {wanted} prepared bookings before its end "
            f"(rerun with a higher --margin than {args.margin:g})"
        )
    around = {
        "warmup": {k: v for k, v in warm.items() if k != "wrk_report"},
        "prepared": wanted,
        "opened_miniapp": dict(opened),
        "users_beyond_verified_memory": max(0, wanted - SERVER_VERIFIED_MEMORY),
        "users_beyond_registered_memory": max(0, wanted - SERVER_REGISTERED_MEMORY),
    }
    return figures, around


# --- 3. the reference ---------------------------------------------------------------------


async def reference_booking(
    dsn: str, slots: list[Slot], *, settings: Any, args: argparse.Namespace
) -> dict[str, Any]:
    """REFERENCE_BOOKING and REFERENCE_NOTIFICATIONS in one transaction per slot, each
    for a user of its own inserted beforehand: a warm-up, then the timed run."""
    tz = settings.tz
    work = []
    for n, slot in enumerate(slots):
        starts = to_instant(slot.day, time.fromisoformat(slot.at), tz)
        if starts is not None:
            work.append((slot.doctor_id, REFERENCE_USERS + n, starts, starts + SLOT))
    pool = await db.create_pool(dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    try:
        await pool.execute(INSERT_USERS, REFERENCE_USERS, REFERENCE_USERS + len(slots) - 1)

        async def book(item: tuple[int, int, datetime, datetime]) -> str:
            doctor, user, starts, ends = item
            due = [datetime.now(UTC), *(starts - lead for lead in REMINDER_LEADS)]
            async with pool.acquire() as conn, conn.transaction():
                booking = await conn.fetchval(REFERENCE_BOOKING, doctor, user, starts, ends)
                await conn.execute(REFERENCE_NOTIFICATIONS, booking, user, REFERENCE_KINDS, due)
            return "ok"

        items = iter(work)
        warm = await closed_loop(book, items, concurrency=args.concurrency, duration=args.warmup)
        warm_rate = warm.summary()["rate"]
        left = len(work) - len(warm.latencies)
        if warm.exhausted or args.duration * warm_rate * args.margin > left:
            raise OutOfSlots(
                f"the reference needs {args.duration:g} s x {warm_rate:.0f}/s x {args.margin:g} "
                f"free slots, {left} are left: raise --expect-rate"
            )
        log(f"reference: {args.concurrency} tasks, {args.duration:g} s")
        run = await closed_loop(book, items, concurrency=args.concurrency, duration=args.duration)
        if run.exhausted:
            raise OutOfSlots(f"the reference ran out of free slots (--margin {args.margin:g})")
        written = await pool.fetchrow(COUNT_WRITTEN)
    finally:
        await pool.close()
    summary = run.summary()
    summary["written"] = dict(written) if written else {}
    summary["warmup"] = warm.summary()
    return summary


async def count_written(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(COUNT_WRITTEN)
    finally:
        await conn.close()
    return dict(row) if row else {}


# --- 4 and 5. reads -----------------------------------------------------------------------


def slot_paths(doctors: list[int], mondays: list[date]) -> list[str]:
    paths = [
        f"/api/doctors/{doctor}/slots?week_of={monday + timedelta(days=doctor % 6)}"
        for doctor in doctors
        for monday in mondays
    ]
    random.Random(7).shuffle(paths)
    return paths


def catalog_paths(clinic: Clinic) -> list[str]:
    return [
        "/api/specializations",
        *(f"/api/specializations/{spec}/doctors" for spec in clinic.specializations),
        *(f"/api/doctors/{doctor}" for doctor in clinic.demo_doctors),
    ]


async def read_load(
    load: Load, what: str, paths: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """`paths` round robin for --duration seconds, after --warmup seconds untimed: the
    booking run has just dropped the cached weeks of every doctor it booked with, and
    the figure is the steady state of reads, not their first computation."""
    c, warmup, duration = args.concurrency, args.warmup, args.duration
    log(f"{what}: warm-up {warmup:g} s, then {c} connections, {duration:g} s")
    await load.cycle(paths, duration=args.warmup)
    return await load.cycle(paths, duration=args.duration)


# --- the run ---------------------------------------------------------------------------


async def measure(
    server: Server,
    settings: Any,
    reference_dsn: str,
    client: LoadClient,
    scratch: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    tz = settings.tz
    today = datetime.now(tz).date()
    mondays = bookable_mondays(today)
    async with client_session(args.concurrency) as session:
        clinic = await api_clinic(session, server.url)
        free = spread(await api_free_slots(session, server.url, clinic.doctors, mondays, today))
    log(
        f"{len(clinic.doctors)} doctors ({len(clinic.demo_doctors)} of the demo), "
        f"{len(mondays)} weeks, {len(free)} free slots"
    )
    # The reference database holds the same doctors and no bookings: the same slots are
    # free there, and it gets them in the same order, less the race's.
    reference_free = list(free)
    load = Load(client, server, scratch, concurrency=args.concurrency)

    raced = None
    if not args.no_race:
        race_slots, free = free[: args.race_slots], free[args.race_slots :]
        reference_free = reference_free[args.race_slots :]
        log(f"race: {args.race_slots} slots x {args.race_clients} users")
        raced = await race(
            server, settings.database_url.get_secret_value(), race_slots, args.race_clients, tz
        )
        server.check_alive()

    http, around = await http_booking(load, free, args)
    server.check_alive()
    http["written"] = await count_written(settings.database_url.get_secret_value())

    slots = await read_load(
        load, "slots for a week", slot_paths(clinic.demo_doctors, mondays), args
    )
    server.check_alive()
    catalog = await read_load(load, "catalog", catalog_paths(clinic), args)
    server.check_alive()
    memory = server.tree_memory_mb()

    log("the reference transaction, straight through asyncpg (the server idles)")
    reference = await reference_booking(reference_dsn, reference_free, settings=settings, args=args)
    ratio = http["rate"] / reference["rate"] if reference["rate"] else math.nan
    return {
        "client": client.name,
        "workers": server.workers,
        "free_slots": len(reference_free) + (0 if args.no_race else args.race_slots),
        "doctors": len(clinic.doctors),
        "demo_doctors": len(clinic.demo_doctors),
        "weeks": len(mondays),
        "race": raced,
        "booking_http": http,
        "booking_http_setup": around,
        "booking_reference": reference,
        "booking_ratio": round(ratio, 3),
        "slots_read": slots,
        "catalog_read": catalog,
        "server_memory_mb": memory,
        "server_restarts": server.restarts,
    }


def race_rows(raced: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    n = raced["slots"]
    return [
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
    ]


def latency(figures: dict[str, Any]) -> str:
    return (
        f"{figures['rate']:.0f}/s  p50 {figures['p50_ms']:.1f} ms  p99 {figures['p99_ms']:.1f} ms"
    )


def report(figures: dict[str, Any], args: argparse.Namespace, pool_max: int) -> bool:
    raced, http = figures["race"], figures["booking_http"]
    reference, ratio = figures["booking_reference"], figures["booking_ratio"]
    slots, catalog = figures["slots_read"], figures["catalog_read"]
    memory, workers = figures["server_memory_mb"], figures["workers"]
    goals = workers == 1  # DESIGN.md's numbers are for one server process

    def goal(text: str, ok: bool) -> tuple[str, str]:
        return (text, verdict(ok)) if goals else ("(no goal)", "")

    c = args.concurrency
    http_other = others(http, "201")
    reference_other = reference["requests"] - reference["outcomes"].get("ok", 0)
    rows = race_rows(raced) if raced else []
    rows += [
        (f"booking via HTTP @{c} ({figures['client']})", latency(http), "", ""),
        (
            "  answers other than 201 (and socket errors)",
            str(http_other),
            "~0",
            verdict(http_other <= max(1, http["requests"] // 1000)),
        ),
        (f"reference transaction @{c} (pool {pool_max})", latency(reference), "", ""),
        (
            "  outcomes other than ok",
            str(reference_other),
            "~0",
            verdict(reference_other <= max(1, reference["requests"] // 1000)),
        ),
        (
            "booking HTTP / reference",
            f"{ratio:.2f}",
            *goal(f">= {GOAL_RATIO}", ratio >= GOAL_RATIO),
        ),
        (f"slots for a week @{c}", f"{slots['rate']:.0f}/s  p50 {slots['p50_ms']:.1f} ms", "", ""),
        (
            "  p99",
            f"{slots['p99_ms']:.1f} ms",
            *goal(f"< {GOAL_SLOTS_P99_MS:g} ms", slots["p99_ms"] < GOAL_SLOTS_P99_MS),
        ),
        (
            "  answers other than 200",
            str(others(slots, "200")),
            "0",
            verdict(others(slots, "200") == 0),
        ),
        (f"catalog @{c}", latency(catalog), "", ""),
        (
            "  catalog rate / slots rate",
            f"{catalog['rate'] / slots['rate']:.2f}" if slots["rate"] else "nan",
            *goal(">= 1", catalog["rate"] >= slots["rate"]),
        ),
        (
            "  answers other than 200",
            str(others(catalog, "200")),
            "0",
            verdict(others(catalog, "200") == 0),
        ),
        (
            "server RSS after the run (peak)"
            + (f", sum of {memory['processes']} processes" if memory["processes"] > 1 else "")
            + (" [restarted after the race]" if figures["server_restarts"] else ""),
            f"{memory['VmRSS']:.0f} MB ({memory['VmHWM']:.0f} MB)",
            *goal(f"< {GOAL_RSS_MB:g} MB", memory["VmRSS"] < GOAL_RSS_MB),
        ),
    ]
    print_table(
        f"Booking ({workers} server process{'es' if workers > 1 else ''}, {figures['client']})",
        rows,
    )
    setup = figures["booking_http_setup"]
    for key, memory, paid in (
        ("users_beyond_verified_memory", SERVER_VERIFIED_MEMORY, "their initData verified"),
        ("users_beyond_registered_memory", SERVER_REGISTERED_MEMORY, "registered"),
    ):
        if beyond := setup[key]:
            print(
                f"note: {beyond} of the timed bookings' users were more than the server "
                f"remembers ({memory}): they had {paid} again"
            )
    return bool(raced["ok"]) if raced else True


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.booking", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="short run: 5 race slots, 2 s phases")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=None, help="seconds per phase (10)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up (2)")
    parser.add_argument("--race-slots", type=int, default=None, help="slots raced for (20)")
    parser.add_argument("--race-clients", type=int, default=200, help="users per raced slot")
    parser.add_argument("--no-race", action="store_true", help="skip the race")
    parser.add_argument(
        "--workers", type=int, default=1, help="`clinic serve --workers N` when it has the flag"
    )
    parser.add_argument(
        "--expect-rate",
        type=float,
        default=3000.0,
        help="bookings a second either side may reach, to size the free slots (3000)",
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=3.0,
        # 3: a timed run has gone twice as fast as its cold two-second warm-up.
        help="free slots to spare: x the rate (3)",
    )
    parser.add_argument("--python-client", action="store_true", help="aiohttp even with wrk")
    args = parser.parse_args(argv)
    quick = {"duration": 2.0, "warmup": 1.0, "race_slots": 5}
    full = {"duration": 10.0, "warmup": 2.0, "race_slots": 20}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    unwind_on_signals()
    started = machine()
    name = "booking" if args.workers == 1 else f"booking-workers{args.workers}"
    client = LoadClient.find(python=args.python_client)
    log(f"load client: {client.name}")
    try:
        with contextlib.ExitStack() as stack:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="clinic-bench-")))
            admin, source = stack.enter_context(admin_dsn(scratch))
            prefix = f"clinic_bench_booking_{os.getpid()}"
            http_dsn = stack.enter_context(bench_database(admin, f"{prefix}_http"))
            reference_dsn = stack.enter_context(bench_database(admin, f"{prefix}_reference"))
            settings = bench_settings(database_url=http_dsn)
            today = datetime.now(settings.tz).date()
            copies, demo_slots = asyncio.run(copies_wanted(http_dsn, slots_needed(args), today))
            log(f"{demo_slots} slots in the demo catalog; adding {copies} copies of doctors")
            catalogs = [
                asyncio.run(add_doctor_copies(dsn, copies)) for dsn in (http_dsn, reference_dsn)
            ]
            if catalogs[0] != catalogs[1]:
                raise RuntimeError("the two bench databases got different doctor ids")
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
            server = stack.enter_context(
                running_server(settings, scratch, name=name, workers=args.workers)
            )
            if args.workers > 1 and server.workers == 1:
                log(f"clinic serve has no --workers flag: running one process, not {args.workers}")
            figures = asyncio.run(measure(server, settings, reference_dsn, client, scratch, args))
            server.check_alive()
            bot_calls = fake.get("/_fake/stats")
            log_problems = server.log_problems()
    except KeyboardInterrupt:
        log("interrupted; processes stopped and databases dropped")
        return 130
    except OutOfSlots as exc:
        log(f"not enough free slots: {exc}")
        return 2
    results = {
        "benchmark": "booking",
        "machine": started,
        "load_average_after": machine()["load_average"],
        "config": {
            "database": source,
            "client": client.name,
            "concurrency": args.concurrency,
            "wrk_threads": WRK_THREADS if client.wrk else None,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "race": not args.no_race,
            "race_slots": args.race_slots,
            "race_clients": args.race_clients,
            "workers_asked": args.workers,
            "workers": server.workers,
            "expect_rate": args.expect_rate,
            "margin": args.margin,
            "doctor_copies": copies,
            "db_pool_min": settings.db_pool_min,
            "db_pool_max": settings.db_pool_max,
            "serve_flags": server.flags,
            "server_restarts": server.restarts,
            "quick": args.quick,
        },
        "goals": {
            "ratio": GOAL_RATIO,
            "slots_p99_ms": GOAL_SLOTS_P99_MS,
            "catalog_vs_slots_rate": 1.0,
            "rss_mb": GOAL_RSS_MB,
            "apply": server.workers == 1,
        },
        "reference_sql": [REFERENCE_BOOKING.strip(), REFERENCE_NOTIFICATIONS.strip()],
        **figures,
        "bot_api_calls": bot_calls,
        "server_log_problems": log_problems,
    }
    ok = report(figures, args, settings.db_pool_max)
    if log_problems.get("levels"):
        print(f"server log: {log_problems} (bench/results/{name}-server.log)")
    path = write_results(name, results)
    before, after = started["load_average"], results["load_average_after"]
    print(f"raw figures: {path.relative_to(ROOT)}  (load average before {before}, after {after})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
