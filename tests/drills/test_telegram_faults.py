"""Drill: the fake Bot API answers 429 to one request in ten and 5xx to one in twenty for
a minute: all reminders go out, none twice, rates respected.

Two `clinic worker` processes share one database (a fresh one on the machine's
PostgreSQL: TEST_DATABASE_URL, else postgres@127.0.0.1:5432, dropped afterwards) and
TELEGRAM_RATE_LIMIT at its default, 25 a second for the whole bot. CHATS patients have
one booking each with its four notifications (confirmation, 24 h, 6 h, 30 min) all due,
so every chat gets four messages, which must arrive at least a second apart. The fake
Bot API runs in a process of its own (tests/drills/support.py) and answers at random
(seeded) 429 with retry_after 1 to 10 % of the calls and 500/502 to 5 %, for STORM
seconds from when the notifications are due (DRILL_STORM_SECONDS, default 60); after that it answers
every call, and the drill waits for the rest.

CHATS is sized so that sending takes about the storm: a 429 holds every replica for
retry_after (the shared bucket is pushed past it), so with one call in ten refused the
bot manages about a quarter of its rate: 5.5 to 6.5 messages a second, measured on this
machine. So 96 chats (384 messages, 60 to 70 s) for each 60 s of storm
(DRILL_FAULT_CHATS overrides).

Judged from the fake's record of every call (arrival time on CLOCK_MONOTONIC):
- every notification is sent, and accepted (200) exactly once; every row ends 'sent';
- in no 1-second window does the fake accept more than the limit + SLACK messages;
- messages accepted for one chat are at least MIN_CHAT_GAP seconds apart;
- a notification refused with 429 is not tried again before retry_after (less 5 %).
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import os
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.drills.support import (
    MACHINE_POSTGRES,
    ClinicProcess,
    clinic_env,
    fake_bot_api_process,
    migrate_and_seed,
    notification_of,
    plan_due_notifications,
    scratch_database,
    start_clinic,
    stop_process,
)

pytestmark = pytest.mark.drill

RATE_LIMIT = 25  # TELEGRAM_RATE_LIMIT's default
SLACK = 2  # messages a second above the limit the check tolerates
MIN_CHAT_GAP = 0.95  # seconds; Telegram's one message a second per chat, less jitter
RATE_429, RATE_5XX, RETRY_AFTER, SEED = 0.10, 0.05, 1.0, 20261128
STORM = float(os.environ.get("DRILL_STORM_SECONDS", "60"))
CHATS = int(os.environ.get("DRILL_FAULT_CHATS", str(max(5, round(96 * STORM / 60)))))
FINISH_WITHIN = 60.0  # seconds after the storm for what is left (retries back off)
FIRST_CHAT = 760_000_001


@pytest.fixture
async def machine_db() -> AsyncIterator[str]:
    admin = os.environ.get("TEST_DATABASE_URL") or MACHINE_POSTGRES
    with scratch_database(admin, f"clinic_drill_faults_{os.getpid()}") as dsn:
        await migrate_and_seed(dsn)
        yield dsn


def busiest_second(times: list[float]) -> tuple[int, float]:
    """The most calls in any 1-second window [t, t + 1), and where it starts."""
    ordered = sorted(times)
    best, at = 0, 0.0
    for i, start in enumerate(ordered):
        count = bisect.bisect_left(ordered, start + 1.0, lo=i) - i
        if count > best:
            best, at = count, start
    return best, at


def gaps_per_chat(calls: list[dict[str, Any]]) -> list[tuple[float, int]]:
    """(gap in seconds, chat) between consecutive calls of each chat."""
    by_chat: dict[int, list[float]] = defaultdict(list)
    for call in calls:
        by_chat[call["chat_id"]].append(call["at"])
    return [
        (later - earlier, chat)
        for chat, times in by_chat.items()
        for earlier, later in itertools.pairwise(sorted(times))
    ]


@pytest.mark.timeout(int(STORM) + 90)
async def test_reminders_through_a_storm_of_429_and_5xx(machine_db: str, tmp_path: Path) -> None:
    faults = ("--rate-429", str(RATE_429), "--rate-5xx", str(RATE_5XX), "--seed", str(SEED))
    async with (
        fake_bot_api_process(tmp_path / "fake.log", *faults) as fake,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http,
    ):
        conn = await asyncpg.connect(machine_db)
        env = clinic_env(machine_db, fake.url, rate_limit=RATE_LIMIT)
        workers: list[ClinicProcess] = []
        try:
            for name in ("worker-a", "worker-b"):
                workers.append(await start_clinic(name, ["worker"], env, tmp_path / f"{name}.log"))
            ids = await plan_due_notifications(conn, list(range(FIRST_CHAT, FIRST_CHAT + CHATS)))
            began = time.monotonic()
            storm_over = False
            statuses: dict[str, int] = {}
            while time.monotonic() - began < STORM + FINISH_WITHIN:
                if not storm_over and time.monotonic() - began >= STORM:
                    await fake.set_faults(http, 0, 0)
                    storm_over, storm_ended = True, time.monotonic()
                statuses = dict(
                    await conn.fetch("SELECT status, count(*) FROM notifications GROUP BY 1")
                )
                if statuses == {"sent": len(ids)}:
                    break
                await asyncio.sleep(0.25)
            done_at = time.monotonic()
            if not storm_over:
                await fake.set_faults(http, 0, 0)
                storm_ended = done_at
            await asyncio.sleep(1.5)  # anything still on its way arrives, and is counted
            calls = await fake.calls(http, "sendMessage")
            counters = {w.name: w.log_tail(3) for w in workers}
        finally:
            await conn.close()
            for worker in workers:
                await stop_process(worker.process)

    attempts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    strays: list[dict[str, Any]] = []
    for call in calls:
        notification = notification_of(call["text"], ids)
        (strays if notification is None else attempts[notification]).append(call)
    accepted_calls = [c for c in calls if c["status"] == 200]
    accepted = Counter(notification_of(c["text"], ids) for c in accepted_calls)
    refused = Counter(str(c["status"]) for c in calls if c["status"] != 200)
    missing = sorted(set(ids.values()) - set(accepted))
    twice = {i: n for i, n in accepted.items() if n > 1}
    peak, peak_at = busiest_second([c["at"] for c in accepted_calls])
    peak_tried, _ = busiest_second([c["at"] for c in calls])
    gaps = sorted(gaps_per_chat(accepted_calls))
    close = [(round(gap, 3), chat) for gap, chat in gaps if gap < MIN_CHAT_GAP]
    early_retries = []
    for notification, tries in attempts.items():
        tries.sort(key=lambda c: c["at"])
        for earlier, later in itertools.pairwise(tries):
            if earlier["status"] == 429 and later["at"] - earlier["at"] < 0.95 * RETRY_AFTER:
                early_retries.append((notification, round(later["at"] - earlier["at"], 3)))
    first = min((c["at"] for c in calls), default=began)
    in_storm = sum(1 for c in accepted_calls if c["at"] < storm_ended)
    print(
        f"\n{len(ids)} notifications to {CHATS} chats, 2 workers, TELEGRAM_RATE_LIMIT"
        f" {RATE_LIMIT}; storm {storm_ended - began:.0f} s (429: {RATE_429:.0%}, 5xx:"
        f" {RATE_5XX:.0%}); all sent {done_at - began:.1f} s after planning"
        f" ({len(ids) / max(done_at - first, 1e-9):.1f}/s), {in_storm} of them during the"
        f" storm; sendMessage calls {len(calls)}, refused {dict(refused)}; statuses"
        f" {statuses}; busiest second: {peak} accepted (at +{peak_at - first:.1f} s),"
        f" {peak_tried} tried; shortest per-chat gaps {[round(g, 3) for g, _ in gaps[:3]]};"
        f" 429s retried early: {len(early_retries)}"
    )
    assert not strays, f"sendMessage calls that are no notification: {strays[:3]}"
    assert refused.get("429") and (refused.get("500", 0) + refused.get("502", 0)), (
        f"the storm did not storm: {dict(refused)}"
    )
    assert statuses == {"sent": len(ids)}, f"not all sent: {statuses}\n{counters}"
    assert not missing, f"{len(missing)} notifications never accepted: {missing[:10]}"
    assert not twice, f"notifications accepted twice or more: {twice}"
    assert peak <= RATE_LIMIT + SLACK, (
        f"{peak} messages accepted within one second (at +{peak_at - first:.2f} s):"
        f" more than the limit {RATE_LIMIT} + {SLACK}"
    )
    assert not close, f"messages to one chat less than {MIN_CHAT_GAP} s apart: {close[:10]}"
    assert not early_retries, f"retried before retry_after: {early_retries[:10]}"
