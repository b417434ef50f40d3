"""A soak: one `clinic serve` process under moderate mixed load for minutes; does its
resident memory keep growing?

    .venv/bin/python -m bench.soak [--minutes 10] [--rate 80] [--warmup 60]

Setup (bench/common.py): a new database (BENCH_DATABASE_URL / TEST_DATABASE_URL, else an
embedded PostgreSQL), migrated and seeded, dropped afterwards; the fake Bot API in a
process of its own; the server as `python -m clinic serve` in bot mode (BOT_TOKEN,
PUBLIC_URL=https://bench.invalid, TELEGRAM_API_URL=the fake) WITH its in-process reminder
dispatcher (no --no-worker) at the default TELEGRAM_RATE_LIMIT, so every booking's
confirmation is really sent while the load runs. Everything is on loopback.

The load is open-loop and bounded: --rate requests a second (default 80), started on a
fixed schedule whatever the answers, with at most MAX_IN_FLIGHT outstanding (a request
due when that many are waiting is skipped and counted). Per 16 requests:
  7 GET  /api/doctors/{id}/slots?week_of=...    (the MiniApp's week of slots)
  2 GET  /api/bookings                          (a patient's list)
  2 POST /api/bookings, each followed by POST /api/bookings/{id}/cancel about a second
    later (a confirmation reminder is planned and sent, the rest cancelled)
  5 POST /telegram/webhook: a "📅 Мои записи" callback query from a patient, on the menu
    message the fake holds for them (editMessageText + answerCallbackQuery)
Bookings take slots three to five weeks ahead round-robin over doctors and days, and are
cancelled, so the slots free up again; no two patients are in flight for one instant.

Every --sample seconds (10) the server's VmRSS is read from /proc. Figures: RSS after the
warm-up (the first sample at or after --warmup seconds), at the end, the maximum, and the
growth = (end - after warm-up) / after warm-up; PASS when the growth is at most 10 %.
Also the requests by kind and outcome, their p50/p99, the reminders the fake received and
the warnings in the server log. Prints a table and writes bench/results/soak.json; exit
status 1 when the growth is over 10 % or the server died, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.common import (
    BOT_TOKEN,
    PUBLIC_URL,
    RESULTS_DIR,
    ROOT,
    FakeBotApi,
    Server,
    admin_dsn,
    bench_database,
    bench_settings,
    cpu_seconds,
    fake_bot_api,
    free_port,
    log,
    machine,
    memory_mb,
    percentile,
    print_table,
    unwind_on_signals,
    write_results,
)
from clinic import texts
from clinic.telegram import keyboards
from clinic.telegram.models import TelegramUser
from clinic.web import initdata
from clinic.web.auth import SECRET_HEADER

GROWTH_LIMIT = 0.10
MAX_IN_FLIGHT = 64
PATIENTS = 200
FIRST_PATIENT = 60_000_001
FIRST_UPDATE = 800_000_000
CANCEL_AFTER = 1.0  # seconds between a booking and its cancellation
MIX = ["slots"] * 7 + ["list"] * 2 + ["book"] * 2 + ["webhook"] * 5


@dataclass(frozen=True)
class Slot:
    doctor_id: int
    day: date
    at: str


@dataclass
class Load:
    """What the load did: outcomes and latencies by kind, and what it skipped."""

    outcomes: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    latencies: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    skipped: int = 0
    started: int = 0

    def record(self, kind: str, outcome: str, seconds: float) -> None:
        self.outcomes[kind][outcome] += 1
        self.latencies[kind].append(seconds)

    def summary(self) -> dict[str, Any]:
        return {
            kind: {
                "requests": len(values),
                "p50_ms": round(percentile(sorted(values), 50) * 1000, 1),
                "p99_ms": round(percentile(sorted(values), 99) * 1000, 1),
                "outcomes": dict(sorted(self.outcomes[kind].items())),
            }
            for kind, values in sorted(self.latencies.items())
        }


class Soak:
    """The load generator: state shared by the requests it starts."""

    def __init__(self, base: str, fake: FakeBotApi, settings: Any, slots: list[Slot]) -> None:
        self.base = base
        self.fake = fake
        self.secret = settings.webhook_secret_value()
        self.webapp_url = settings.webapp_url
        self.people = [
            TelegramUser(id=FIRST_PATIENT + n, first_name="Пациент", language_code="ru")
            for n in range(PATIENTS)
        ]
        self.headers = {
            person.id: {"Authorization": f"tma {initdata.sign(person, bot_token=BOT_TOKEN)}"}
            for person in self.people
        }
        self.slots = itertools.cycle(slots)
        self.weeks = sorted({(slot.doctor_id, slot.day) for slot in slots})
        self.turn = itertools.count()
        self.update_ids = itertools.count(FIRST_UPDATE)
        self.menus: dict[int, dict[str, Any]] = {}
        self.load = Load()
        self.cancels: set[asyncio.Task[None]] = set()

    def next_person(self) -> TelegramUser:
        return self.people[next(self.turn) % PATIENTS]

    async def timed(
        self, kind: str, session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
    ) -> Any:
        began = time.perf_counter()
        body: Any = None
        try:
            async with session.request(method, url, **kwargs) as answer:
                raw = await answer.read()
                outcome = str(answer.status)
                if answer.content_type.endswith("json"):
                    body = orjson.loads(raw)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            outcome = type(exc).__name__
        self.load.record(kind, outcome, time.perf_counter() - began)
        return body if outcome.startswith("2") else None

    async def slots_read(self, session: aiohttp.ClientSession) -> None:
        doctor, day = self.weeks[next(self.turn) % len(self.weeks)]
        url = f"{self.base}/api/doctors/{doctor}/slots?week_of={day.isoformat()}"
        await self.timed("slots", session, "GET", url)

    async def bookings_list(self, session: aiohttp.ClientSession) -> None:
        person = self.next_person()
        url = f"{self.base}/api/bookings"
        await self.timed("list", session, "GET", url, headers=self.headers[person.id])

    async def book_then_cancel(self, session: aiohttp.ClientSession) -> None:
        person, slot = self.next_person(), next(self.slots)
        body = {"doctor_id": slot.doctor_id, "date": slot.day.isoformat(), "time": slot.at}
        headers = self.headers[person.id]
        made = await self.timed(
            "book", session, "POST", f"{self.base}/api/bookings", json=body, headers=headers
        )
        if made is not None:
            await asyncio.sleep(CANCEL_AFTER)
            url = f"{self.base}/api/bookings/{made['id']}/cancel"
            await self.timed("cancel", session, "POST", url, headers=headers)

    async def webhook(self, session: aiohttp.ClientSession) -> None:
        person = self.next_person()
        update_id = next(self.update_ids)
        update = {
            "update_id": update_id,
            "callback_query": {
                "id": f"soak-{update_id}",
                "from": {"id": person.id, "is_bot": False, "first_name": person.first_name},
                "message": self.menus[person.id],
                "chat_instance": str(person.id * 7),
                "data": "v1:bookings",
            },
        }
        headers = {SECRET_HEADER: self.secret}
        url = f"{self.base}/telegram/webhook"
        await self.timed("webhook", session, "POST", url, json=update, headers=headers)

    async def prepare(self, session: aiohttp.ClientSession) -> None:
        """Each patient's menu message, sent through the fake as the bot would."""
        markup = keyboards.main_menu(texts.RU, self.webapp_url)

        async def menu(person: TelegramUser) -> None:
            body = {
                "chat_id": person.id,
                "text": texts.RU.greeting(person.first_name),
                "parse_mode": "HTML",
                "reply_markup": markup,
            }
            async with session.post(self.fake.method_url("sendMessage"), json=body) as answer:
                self.menus[person.id] = orjson.loads(await answer.read())["result"]

        await asyncio.gather(*(menu(person) for person in self.people))

    async def run(self, session: aiohttp.ClientSession, rate: float, seconds: float) -> None:
        """Starts requests on a fixed schedule for `seconds`; at most MAX_IN_FLIGHT wait."""
        kinds = {
            "slots": self.slots_read,
            "list": self.bookings_list,
            "book": self.book_then_cancel,
            "webhook": self.webhook,
        }
        in_flight: set[asyncio.Task[None]] = set()
        schedule = itertools.cycle(MIX)
        began = time.monotonic()
        for n in itertools.count():
            due = began + n / rate
            if due - began >= seconds:
                break
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            kind = next(schedule)
            if len(in_flight) >= MAX_IN_FLIGHT:
                self.load.skipped += 1
                continue
            task = asyncio.create_task(kinds[kind](session))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            self.load.started += 1
        if in_flight:
            await asyncio.wait(in_flight, timeout=30)


async def free_slots(session: aiohttp.ClientSession, base: str) -> list[Slot]:
    """Free slots three to five weeks ahead, dealt round-robin over doctors and days so
    that the bookings in flight together are for different doctors and instants."""
    async with session.get(f"{base}/api/specializations") as answer:
        specializations = await answer.json()
    doctors: list[int] = []
    for spec in specializations:
        async with session.get(f"{base}/api/specializations/{spec['id']}/doctors") as answer:
            doctors.extend(doctor["id"] for doctor in await answer.json())
    today = datetime.now().date()
    groups: defaultdict[tuple[date, int], list[Slot]] = defaultdict(list)
    for doctor in sorted(doctors):
        for weeks in (3, 4, 5):
            week_of = (today + timedelta(weeks=weeks)).isoformat()
            url = f"{base}/api/doctors/{doctor}/slots?week_of={week_of}"
            async with session.get(url) as answer:
                week = await answer.json()
            for day in week["days"]:
                for at in day["slots"]:
                    slot = Slot(doctor, date.fromisoformat(day["date"]), at)
                    groups[(slot.day, doctor)].append(slot)
    layers = itertools.zip_longest(*(groups[key] for key in sorted(groups)))
    return [slot for layer in layers for slot in layer if slot is not None]


async def soak(
    server: Server, fake: FakeBotApi, settings: Any, args: argparse.Namespace
) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        slots = await free_slots(session, server.url)
        load = Soak(server.url, fake, settings, slots)
        await load.prepare(session)
        samples: list[dict[str, float]] = []
        cpu_before = cpu_seconds(server.pid)
        began = time.monotonic()

        async def sample() -> None:
            while True:
                server.check_alive()
                memory = memory_mb(server.pid)
                samples.append({"t": round(time.monotonic() - began, 1), **memory})
                log(f"t={samples[-1]['t']:>6.1f} s  VmRSS {memory['VmRSS']} MB")
                await asyncio.sleep(args.sample)

        sampler = asyncio.create_task(sample())
        try:
            await load.run(session, args.rate, args.minutes * 60)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        elapsed = time.monotonic() - began
        server.check_alive()
        samples.append({"t": round(elapsed, 1), **memory_mb(server.pid)})
        cpu = cpu_seconds(server.pid) - cpu_before
    stats = fake.get("/_fake/stats")
    warm = next((s for s in samples if s["t"] >= args.warmup), samples[-1])
    end = samples[-1]
    growth = (end["VmRSS"] - warm["VmRSS"]) / warm["VmRSS"]
    return {
        "seconds": round(elapsed, 1),
        "requests_started": load.load.started,
        "requests_skipped": load.load.skipped,
        "rate": round(load.load.started / elapsed, 1),
        "server_cores_busy": round(cpu / elapsed, 2),
        "requests": load.load.summary(),
        "reminders_sent": stats["by_method"].get("sendMessage", {}).get("200", 0) - PATIENTS,
        "fake_bot_api": stats["by_method"],
        "rss_mb": {
            "after_warmup": warm["VmRSS"],
            "after_warmup_at_s": warm["t"],
            "end": end["VmRSS"],
            "max": max(s["VmRSS"] for s in samples),
            "peak_hwm": end.get("VmHWM"),
            "growth_pct": round(growth * 100, 2),
        },
        "samples": samples,
        "pass": growth <= GROWTH_LIMIT,
    }


@contextlib.contextmanager
def serving_with_dispatcher(settings: Any, scratch: Path) -> Iterator[Server]:
    """`clinic serve` with its in-process reminder dispatcher (no --no-worker); its log
    kept as bench/results/soak-server.log."""
    workdir = scratch / "server"
    workdir.mkdir(exist_ok=True)
    server = Server(settings, workdir, scratch / "server.log")
    server.command = [sys.executable, "-m", "clinic", "serve"]
    server.flags = []
    try:
        server.start()
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(server.logfile, RESULTS_DIR / "soak-server.log")


def report(figures: dict[str, Any]) -> None:
    rss = figures["rss_mb"]
    rows = [
        ("duration", f"{figures['seconds']:.0f} s", "", ""),
        ("load", f"{figures['rate']} req/s", "50-100 req/s", ""),
        ("skipped (in-flight cap)", str(figures["requests_skipped"]), "", ""),
        ("server CPU", f"{figures['server_cores_busy']} cores", "", ""),
        ("reminders sent", str(figures["reminders_sent"]), "", ""),
    ]
    for kind, seen in figures["requests"].items():
        outcomes = ",".join(f"{k}:{v}" for k, v in seen["outcomes"].items())
        rows.append((f"{kind} p50/p99", f"{seen['p50_ms']}/{seen['p99_ms']} ms", outcomes, ""))
    rows += [
        (
            f"RSS after warm-up ({rss['after_warmup_at_s']:.0f} s)",
            f"{rss['after_warmup']} MB",
            "",
            "",
        ),
        ("RSS at the end", f"{rss['end']} MB", "", ""),
        ("RSS max", f"{rss['max']} MB", "< 150 MB", ""),
        ("RSS growth", f"{rss['growth_pct']} %", "<= 10 %", "PASS" if figures["pass"] else "FAIL"),
    ]
    print_table("Soak: one clinic serve process (with its dispatcher)", rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=80.0, help="requests a second")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the baseline")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    unwind_on_signals()
    started = machine()
    try:
        with contextlib.ExitStack() as stack:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="clinic-soak-")))
            admin, source = stack.enter_context(admin_dsn(scratch))
            dsn = stack.enter_context(bench_database(admin, f"clinic_bench_soak_{os.getpid()}"))
            fake = stack.enter_context(fake_bot_api(BOT_TOKEN, scratch))
            settings = bench_settings(
                database_url=dsn,
                bot_token=BOT_TOKEN,
                public_url=PUBLIC_URL,
                telegram_api_url=fake.url,
                admin_ids=[],
                host="127.0.0.1",
                port=free_port(),
                miniapp_dist=ROOT / "miniapp" / "dist",
            )
            server = stack.enter_context(serving_with_dispatcher(settings, scratch))
            log(f"soak: {args.minutes:g} min at {args.rate:g} req/s, RSS every {args.sample:g} s")
            figures = asyncio.run(soak(server, fake, settings, args))
            log_problems = server.log_problems()
    except KeyboardInterrupt:
        log("interrupted; processes stopped and databases dropped")
        return 130
    results = {
        "benchmark": "soak",
        "machine": started,
        "load_average_after": machine()["load_average"],
        "config": {
            "database": source,
            "minutes": args.minutes,
            "rate": args.rate,
            "warmup_s": args.warmup,
            "sample_s": args.sample,
            "mix": dict(Counter(MIX)),
            "max_in_flight": MAX_IN_FLIGHT,
            "telegram_rate_limit": settings.telegram_rate_limit,
            "serve_command": " ".join(server.command[1:]),
        },
        **figures,
        "server_log_problems": log_problems,
    }
    report(figures)
    if log_problems.get("levels"):
        print(f"server log: {log_problems} (bench/results/soak-server.log)")
    path = write_results("soak", results)
    print(f"raw figures: {path.relative_to(ROOT)}")
    return 0 if figures["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
