"""Reminder dispatch throughput, end to end, with one and with two worker processes.

    .venv/bin/python -m bench.dispatch [--rows 20000] [--workers 1 2]

A database of its own on the server of TEST_DATABASE_URL or DATABASE_URL (an admin
DSN), else an embedded PostgreSQL; the fake Bot API in a process of its own with no
faults; workers are `python -m clinic worker` processes with
TELEGRAM_RATE_LIMIT=0. Each run: the workers start and LISTEN, then one transaction
inserts `rows` notifications due at once (over rows/4 chats and bookings) and NOTIFYs;
the rate is rows / (last sent_at - the commit), both read off the database clock.
Duplicates and misses are counted from the messages the fake received. Prints a table
and writes bench/results/dispatch.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import admin_dsn, bench_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "dispatch.json"
TOKEN = "123456789:AAFakeTokenForTests_0123456789abcdef"
NUMBER = re.compile(r"Запись № (\d+)")
# The two kinds whose texts tell them apart (later reminders read alike but for their
# lead time): the confirmation, with its calendar file, and the 24-hour one, which asks.
KINDS = {"Вы записаны": "confirmation", "Вы придёте?": "24h"}

FILL = [
    # CASCADE: and whatever else refers to bookings or users (waitlist, chat cards).
    "TRUNCATE notifications, bookings, users, chat_pace, send_pace RESTART IDENTITY CASCADE",
    """INSERT INTO users (telegram_id, first_name)
       SELECT 10000000 + g, 'Пациент ' || g FROM generate_series(1, $1::int) AS g""",
    """INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at)
       SELECT d.id, 10000000 + g,
              date_trunc('hour', now()) + interval '3 days' + g * interval '30 minutes',
              date_trunc('hour', now()) + interval '3 days' + (g + 1) * interval '30 minutes'
       FROM generate_series(1, $1::int) AS g
       JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM doctors) AS d
         ON d.k = g % (SELECT count(*) FROM doctors)""",
]
DUE = """INSERT INTO notifications (booking_id, chat_id, kind, due_at)
         SELECT b.id, b.user_id, k.kind, now()
         FROM bookings AS b
         CROSS JOIN (VALUES ('confirmation'), ('24h')) AS k (kind)"""


@contextlib.contextmanager
def fake_bot_api() -> Iterator[str]:
    """The fake Bot API in a process of its own; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.bot_api", "--port", "0", "--token", TOKEN],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def fake_get(url: str, path: str) -> Any:
    with urllib.request.urlopen(url + path, timeout=120) as answer:
        return json.load(answer)


def fake_reset(url: str) -> None:
    request = urllib.request.Request(url + "/_fake/reset", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=30):
        pass


class Workers:
    """`count` worker processes; their logs go to files in `logs`."""

    def __init__(self, count: int, *, dsn: str, api_url: str, logs: Path) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api_url,
            "TELEGRAM_RATE_LIMIT": "0",
            "QUIET_HOURS": "",  # measured at any hour
            "CLINIC_TZ": "Europe/Moscow",
        }
        self.logs = [logs / f"worker-{count}-{n}.log" for n in range(count)]
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "clinic", "worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log.open("w"),
            )
            for log in self.logs
        ]

    def wait_listening(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not all("listening for new reminders" in log.read_text() for log in self.logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                raise RuntimeError("a worker did not start: " + self.logs[0].read_text())
            time.sleep(0.05)

    def peak_rss_mb(self) -> list[float]:
        peaks = []
        for process in self.processes:
            status = Path(f"/proc/{process.pid}/status").read_text()
            kilobytes = int(re.search(r"VmHWM:\s+(\d+)", status)[1])  # type: ignore[index]
            peaks.append(round(kilobytes / 1024, 1))
        return peaks

    def stop(self) -> list[dict[str, float]]:
        """Stops the workers; each logs its counters as its last JSON line."""
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=30)
        entries = [
            json.loads(line)
            for log in self.logs
            for line in log.read_text().splitlines()
            if line.startswith("{")
        ]
        return [e["counters"] for e in entries if e.get("message") == "dispatcher stopped"]


def kind_of(text: str) -> str:
    return next((kind for marker, kind in KINDS.items() if marker in text), "?")


async def one_run(dsn: str, api_url: str, *, workers: int, rows: int, logs: Path) -> dict[str, Any]:
    fake_reset(api_url)
    conn = await asyncpg.connect(dsn)
    try:
        for statement in FILL:
            await conn.execute(statement, *([rows // len(KINDS)] if "$1" in statement else []))
        await conn.execute("VACUUM ANALYZE")
        group = Workers(workers, dsn=dsn, api_url=api_url, logs=logs)
        try:
            group.wait_listening()
            async with conn.transaction():
                await conn.execute(DUE)
                await conn.execute("SELECT pg_notify('clinic_notifications', '')")
                # The rows become visible at commit, a moment after this.
                started = await conn.fetchval("SELECT clock_timestamp()")
            deadline = time.monotonic() + 600
            while await conn.fetchval(
                "SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')"
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError("the workers did not finish within 10 minutes")
                await asyncio.sleep(0.1)
            finished = await conn.fetchval("SELECT max(sent_at) FROM notifications")
            statuses = dict(
                await conn.fetch("SELECT status, count(*) FROM notifications GROUP BY status")
            )
            rss = group.peak_rss_mb()
        finally:
            metrics = group.stop()
    finally:
        await conn.close()
    messages = fake_get(api_url, "/_fake/messages")
    received = Counter(
        (m["chat"]["id"], int(NUMBER.search(m["text"])[1]), kind_of(m["text"]))  # type: ignore[index]
        for m in messages
    )
    seconds = (finished - started).total_seconds()
    return {
        "workers": workers,
        "rows": rows,
        "seconds": round(seconds, 3),
        "per_second": round(rows / seconds),
        "received": len(messages),
        "duplicates": sum(count - 1 for count in received.values() if count > 1),
        "missing": rows - len(received),
        "statuses": statuses,
        "worker_peak_rss_mb": rss,
        "worker_metrics": metrics,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    runs = []
    with (
        tempfile.TemporaryDirectory(prefix="clinic-bench-") as scratch,
        admin_dsn(Path(scratch)) as (admin, _),
        bench_database(admin, f"clinic_bench_dispatch_{os.getpid()}") as dsn,
        fake_bot_api() as api_url,
    ):
        for workers in args.workers:
            runs.append(
                asyncio.run(
                    one_run(dsn, api_url, workers=workers, rows=args.rows, logs=Path(scratch))
                )
            )
    header = f"{'workers':>7} {'rows':>7} {'seconds':>8} {'per second':>10} "
    header += f"{'duplicates':>10} {'missing':>7} {'peak RSS MB':>12}"
    print(header)
    for run in runs:
        print(
            f"{run['workers']:>7} {run['rows']:>7} {run['seconds']:>8.2f} "
            f"{run['per_second']:>10} {run['duplicates']:>10} {run['missing']:>7} "
            f"{max(run['worker_peak_rss_mb']):>12}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"goal_per_second": 2000, "runs": runs}, indent=2) + "\n")
    print(f"raw figures: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
