"""Dispatchers as real processes (`python -m clinic worker`) against the fake
Bot API of this test, over loopback HTTP, on a real database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from clinic import texts
from clinic.telegram.botapi import BotApi
from tests.fakes.bot_api import FakeBotApi
from tests.test_reminders_dispatch import (
    Dispatchers,
    add_bookings,
    add_due,
    all_in,
    counted,
    eventually,
    sends,
    statuses,
    wake,
)

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"Запись № (\d+)")
# The two kinds whose texts tell them apart (later reminders read alike but for their
# lead time): the confirmation, and the 24-hour reminder, which asks.
KIND_OF = {
    texts.RU("reminder.confirmation_header"): "confirmation",
    texts.RU("reminder.come_question"): "24h",
}


def kind_of(text: str) -> str:
    return next(kind for marker, kind in KIND_OF.items() if marker in text)


class Worker:
    """One worker process; its log goes to a file."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process, self.log = process, log

    def listening(self) -> bool:
        if self.process.returncode is not None:
            pytest.fail(f"the worker exited: {self.log.read_text()}")
        return "listening for new reminders" in self.log.read_text()

    def metrics(self) -> dict[str, float]:
        entries = [
            json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")
        ]
        stopped = next(e for e in entries if e["message"] == "dispatcher stopped")
        counters: dict[str, float] = stopped["counters"]
        return counters

    async def stop(self, signum: signal.Signals = signal.SIGTERM) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signum)
        return await asyncio.wait_for(self.process.wait(), 30)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def dispatchers(dsn: str, fake: FakeBotApi) -> AsyncIterator[Dispatchers]:
    async with aiohttp.ClientSession() as session, AsyncExitStack() as stack:
        yield Dispatchers(dsn, BotApi(session, fake.token, fake.url), stack)


@pytest.fixture
async def start_worker(
    dsn: str,
    fake: FakeBotApi,
    tmp_path: Path,
) -> AsyncIterator[Callable[[], Awaitable[Worker]]]:
    workers: list[Worker] = []
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.url,
        "TELEGRAM_RATE_LIMIT": "0",
        "QUIET_HOURS": "",  # whatever the hour the suite runs at
        "CLINIC_TZ": "Europe/Moscow",
    }

    async def start() -> Worker:
        log = tmp_path / f"worker-{len(workers)}.log"
        with log.open("w") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "clinic",
                "worker",
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=sink,
            )
        worker = Worker(process, log)
        workers.append(worker)
        await eventually(worker.listening, within=20)
        return worker

    yield start
    for worker in workers:
        await worker.stop(signal.SIGKILL)


async def test_a_worker_killed_mid_batch_loses_nothing(
    start_worker: Callable[[], Awaitable[Worker]],
    fake: FakeBotApi,
    dispatchers: Dispatchers,
    conn: asyncpg.Connection,
) -> None:
    fake.stall("sendMessage", 60)  # every answer is held: the batch stays in flight
    chats = list(range(9001, 9021))
    rows = await add_due(conn, await add_bookings(conn, chats))
    worker = await start_worker()
    await wake(conn)
    await eventually(lambda: len(sends(fake)) == len(rows), within=15)
    assert await worker.stop(signal.SIGKILL) == -signal.SIGKILL
    assert await statuses(conn, rows) == ["sending"] * len(rows)

    fake.stall("sendMessage", 0)
    survivor = await dispatchers.start()
    # While the dead worker's leases hold, the survivor leaves its rows alone...
    [sentinel] = await add_due(conn, await add_bookings(conn, [9100]))
    await wake(conn)
    await eventually(all_in(conn, [sentinel], "sent"))
    assert await statuses(conn, rows) == ["sending"] * len(rows)
    # ...and when they end (time moved on by moving the leases), it sends them.
    await conn.execute(
        "UPDATE notifications SET leased_until = now() - interval '1 millisecond'"
        " WHERE status = 'sending'"
    )
    await wake(conn)
    await eventually(all_in(conn, rows, "sent"))
    answered = Counter(c.params["chat_id"] for c in sends(fake) if c.status == 200)
    assert answered == Counter([*chats, 9100])
    attempts = await conn.fetch("SELECT attempts FROM notifications WHERE id = ANY($1)", rows)
    assert {r["attempts"] for r in attempts} == {2}
    await counted(survivor, sent=len(rows) + 1)


async def test_two_workers_send_2000_reminders_each_exactly_once(
    start_worker: Callable[[], Awaitable[Worker]],
    fake: FakeBotApi,
    conn: asyncpg.Connection,
) -> None:
    # Each answer takes 20 ms, so neither worker can take every batch alone.
    fake.stall("sendMessage", 0.02)
    fake.stall("sendDocument", 0.02)
    bookings = await add_bookings(conn, list(range(100_001, 101_001)))
    workers = [await start_worker(), await start_worker()]
    async with conn.transaction():
        rows = await add_due(conn, bookings, ["confirmation", "24h"])
        await wake(conn)
    assert len(rows) == 2000
    await eventually(all_in(conn, rows, "sent"), within=40)
    for worker in workers:
        assert await worker.stop() == 0

    received = Counter(
        (m["chat"]["id"], int(NUMBER.search(m["text"])[1]), kind_of(m["text"]))  # type: ignore[index]
        for m in fake.sent_messages()
    )
    assert len(received) == 2000
    assert max(received.values()) == 1, "sent twice"
    assert {booking for _, booking, _ in received} == {b for b, _ in bookings}
    sent = [worker.metrics()["sent"] for worker in workers]
    assert sum(sent) == 2000 and min(sent) > 0, sent


async def test_a_stopped_worker_lets_its_sends_in_flight_finish(
    start_worker: Callable[[], Awaitable[Worker]],
    fake: FakeBotApi,
    conn: asyncpg.Connection,
) -> None:
    fake.stall("sendMessage", 0.5)
    rows = await add_due(conn, await add_bookings(conn, list(range(9201, 9211))))
    worker = await start_worker()
    await wake(conn)
    await eventually(lambda: len(sends(fake)) == len(rows), within=15)
    assert await worker.stop() == 0  # SIGTERM: sends in flight get up to 5 s to finish
    assert await statuses(conn, rows) == ["sent"] * len(rows)
    assert worker.metrics()["sent"] == len(rows)
    assert len(sends(fake)) == len(rows)
