"""Drill: a replica is killed with SIGKILL during dispatch and during a burst of webhook
updates: every due reminder is sent at least once and at most once more than the batch
that was in flight; no update is processed twice.

Both halves run real processes on a fresh database of the machine's PostgreSQL
(TEST_DATABASE_URL, else postgres@127.0.0.1:5432), dropped afterwards, against the fake
Bot API in a process of its own (tests/drills/support.py), whose every call is recorded
with its arrival time. What counts as "sent" or "processed" is what reached the fake: a
request Telegram received may have been delivered even when its answer was lost.

Dispatch: two `clinic worker` processes, TELEGRAM_RATE_LIMIT=0 (limits off, as in the
dispatch benchmark: a few thousand rows at 25 a second would take minutes, and with no
pacing a claim takes a whole batch, the largest amount a crash can leave in flight).
Every sendMessage is held STALL seconds by the fake, so batches are in flight when one
worker is SIGKILLed; a replacement is started at once, as a supervisor would.

The bound on duplicates: a claim leases at most `batch_size` rows (500) and a process
keeps at most `pipeline` (2) claimed batches in flight, settling each in one statement
after all its sends; so at the moment of the kill the killed worker held at most 1,000
leased, unsettled rows, and only those can be sent again (after their 30 s lease ends).
The drill measures that set exactly (the rows still leased, under the same lease, long
after the survivors' batches have settled) and asserts: duplicates are only among those
rows, each at most once more, so duplicates <= rows in flight <= 1,000. (The send
concurrency, 100, is no bound: a send that finished still counts as a duplicate while
its batch waits for the batch's other sends before it settles.)

Webhook: two `clinic serve --no-worker` replicas in webhook mode. 3,000 real updates
("📅 Мои записи" callback queries, /start messages with a unique first name each, which
the greeting repeats) go to BOTH replicas at once, as a retrying Telegram behind a load
balancer would, 5 % of them again a little later; replica A is SIGKILLed 40 % into the
stream, and the rest go to B alone. Every Bot API call takes API_STALL seconds, as real
ones do, so updates are being processed when A dies. Processed means: the callback's
answerCallbackQuery, or the greeting, reached the fake. Asserted: nothing processed
twice; every update B answered 200 is processed. An update only A acknowledged may be
lost (Telegram would not send it again): those are counted and printed, not failed.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from clinic import texts
from clinic.config import Settings
from clinic.web.auth import SECRET_HEADER
from tests.drills.support import (
    BOT_TOKEN,
    MACHINE_POSTGRES,
    REMINDER_KINDS,
    ClinicProcess,
    FakeProcess,
    clinic_env,
    fake_bot_api_process,
    free_port,
    migrate_and_seed,
    notification_of,
    plan_due_notifications,
    scratch_database,
    start_clinic,
    stop_process,
)

pytestmark = pytest.mark.drill

# --- dispatch --------------------------------------------------------------------------
BOOKINGS = 2000  # 4,000 due notifications
KINDS = REMINDER_KINDS  # 2 due notifications a patient
STALL = 0.25  # seconds the fake holds every sendMessage answer
KILL_AT = 0.35  # share of the rows sent when one worker is killed
BATCH_SIZE, PIPELINE = 500, 2  # the Dispatcher's defaults, which `clinic worker` uses
IN_FLIGHT_BOUND = BATCH_SIZE * PIPELINE
LEASE = 30.0
FIRST_CHAT = 770_000_001

# --- webhook ---------------------------------------------------------------------------
CALLBACK_USERS = 400
START_USERS = 400
UPDATES = 3000  # two thirds "📅 Мои записи" callback queries, one third /start
RESENT = 0.05  # share of updates sent once more (to both replicas), a little later
RESEND_LAG = 150  # positions in the stream after the original
SENDERS = 24  # concurrent senders; each posts one update to both replicas at once
KILL_AFTER = 0.4  # share of the stream sent when replica A is killed
API_STALL = 0.2  # seconds the fake takes to answer any call (Telegram is not instant)
QUIET = 3.0  # no new call at the fake for this long: processing is over
FIRST_UPDATE = 910_000_000
CALLBACK_FIRST_USER = 780_000_001
START_FIRST_USER = 790_000_001
GREETING_NAME = re.compile(r"Здравствуйте, <b>(\S+)</b>")


@pytest.fixture
async def machine_db() -> AsyncIterator[str]:
    admin = os.environ.get("TEST_DATABASE_URL") or MACHINE_POSTGRES
    with scratch_database(admin, f"clinic_drill_kill_{os.getpid()}") as dsn:
        await migrate_and_seed(dsn)
        yield dsn


# --- dispatch: a worker killed mid-batch ----------------------------------------------


async def leased(conn: asyncpg.Connection) -> dict[int, Any]:
    rows = await conn.fetch("SELECT id, leased_until FROM notifications WHERE status = 'sending'")
    return {row["id"]: row["leased_until"] for row in rows}


@pytest.mark.timeout(150)
async def test_a_worker_killed_mid_dispatch(machine_db: str, tmp_path: Path) -> None:
    stall = ("--stall", f"sendMessage={STALL}")
    async with (
        fake_bot_api_process(tmp_path / "fake.log", *stall) as fake,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http,
    ):
        conn = await asyncpg.connect(machine_db)
        env = clinic_env(machine_db, fake.url, rate_limit=0)
        workers: list[ClinicProcess] = []
        try:
            for name in ("worker-a", "worker-b"):
                workers.append(await start_clinic(name, ["worker"], env, tmp_path / f"{name}.log"))
            victim = workers[0]
            chats = list(range(FIRST_CHAT, FIRST_CHAT + BOOKINGS))
            ids = await plan_due_notifications(conn, chats, KINDS)
            total = len(ids)
            began = time.monotonic()
            arrived = 0
            while arrived < KILL_AT * total:
                assert time.monotonic() - began < 60, f"too slow: {arrived} sends"
                await asyncio.sleep(0.05)
                stats = await fake.stats(http)
                arrived = sum(stats["by_method"].get("sendMessage", {}).values())
            await asyncio.to_thread(victim.kill)
            killed_at = time.monotonic()
            at_kill = await leased(conn)  # the killed worker's rows, and the survivor's
            workers.append(await start_clinic("worker-c", ["worker"], env, tmp_path / "c.log"))
            # The survivors' batches settle within seconds; the dead one's leases last
            # LEASE seconds from their claim: what is still leased, under the same lease,
            # is what the killed worker had in flight.
            await asyncio.sleep(max(0.0, killed_at + 8.0 - time.monotonic()))
            later = await leased(conn)
            orphans = {i for i, lease in at_kill.items() if later.get(i) == lease}
            deadline = killed_at + LEASE + 40
            while True:
                statuses = dict(
                    await conn.fetch("SELECT status, count(*) FROM notifications GROUP BY 1")
                )
                if statuses == {"sent": total} or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            finished = time.monotonic() - began
            attempts = Counter(
                r["attempts"] for r in await conn.fetch("SELECT attempts FROM notifications")
            )
            await asyncio.sleep(1.0)  # nothing more should arrive; give it the chance
            calls = await fake.calls(http, "sendMessage")
        finally:
            await conn.close()
            for worker in workers:
                await stop_process(worker.process)

    sends: Counter[int] = Counter()
    strays = []
    for call in calls:
        notification = notification_of(call["text"], ids)
        if notification is None:
            strays.append(call)
        else:
            sends[notification] += 1
    missing = sorted(set(ids.values()) - set(sends))
    twice = {i: n for i, n in sends.items() if n > 1}
    duplicates = sum(n - 1 for n in twice.values())
    print(
        f"\n{total} notifications, 2 workers + a replacement; worker A SIGKILLed after"
        f" {KILL_AT:.0%} of the sends ({arrived} calls at the fake);"
        f" rows leased at the kill: {len(at_kill)}, of them in flight in the killed worker:"
        f" {len(orphans)} (bound {IN_FLIGHT_BOUND} = batch {BATCH_SIZE} x pipeline"
        f" {PIPELINE}); sendMessage calls {len(calls)}; duplicates {duplicates}"
        f" ({len(twice)} notifications); missing {len(missing)}; statuses {statuses};"
        f" attempts {dict(attempts)}; all sent after {finished:.1f} s"
    )
    assert not strays, f"sendMessage calls that are no notification: {strays[:3]}"
    assert statuses == {"sent": total}, f"rows not sent in the end: {statuses}"
    assert not missing, f"{len(missing)} notifications never sent: {missing[:10]}"
    assert orphans, "the killed worker had nothing in flight: the drill did not drill"
    assert max(twice.values(), default=1) <= 2, f"sent three times or more: {twice}"
    not_in_flight = sorted(set(twice) - orphans)
    assert not not_in_flight, f"sent twice though not in flight at the kill: {not_in_flight}"
    assert duplicates <= len(orphans) <= IN_FLIGHT_BOUND


# --- webhook: a replica killed during a burst of updates -------------------------------


@dataclass
class Delivery:
    """One update of the stream and what each replica answered to it."""

    update: dict[str, Any]
    kind: str  # "callback" or "start"
    key: str  # callback_query id, or the greeted first name
    answers: dict[str, list[int | str]] = field(default_factory=dict)  # replica: statuses

    def acked_by(self, replica: str) -> bool:
        return 200 in self.answers.get(replica, [])


def user(user_id: int, first_name: str) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "ru"}


def build_stream(menus: dict[int, dict[str, Any]]) -> list[Delivery]:
    """UPDATES real Telegram updates: callback queries pressing "📅 Мои записи" on each
    user's own menu message, and /start messages whose sender's first name is unique
    (the greeting carries it, so every greeting names the update it answers)."""
    rng = random.Random(7)
    stream: list[Delivery] = []
    for n in range(UPDATES):
        update_id = FIRST_UPDATE + n
        if n % 3 < 2:
            user_id = CALLBACK_FIRST_USER + rng.randrange(CALLBACK_USERS)
            query_id = f"drill-{update_id}"
            query = {
                "id": query_id,
                "from": user(user_id, "Дрилл"),
                "message": menus[user_id],
                "chat_instance": str(user_id * 7),
                "data": "v1:bookings",
            }
            update = {"update_id": update_id, "callback_query": query}
            stream.append(Delivery(update, "callback", query_id))
        else:
            user_id = START_FIRST_USER + rng.randrange(START_USERS)
            name = f"Гость{update_id}"
            message = {
                "message_id": 10_000 + n,
                "from": user(user_id, name),
                "chat": {"id": user_id, "type": "private", "first_name": name},
                "date": int(time.time()),
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            }
            stream.append(Delivery({"update_id": update_id, "message": message}, "start", name))
    return stream


def with_resends(stream: list[Delivery]) -> list[Delivery]:
    """The stream with RESENT of its updates once more, RESEND_LAG positions later."""
    rng = random.Random(11)
    order: list[Delivery] = []
    later: dict[int, list[Delivery]] = {}
    for position, delivery in enumerate(stream):
        order.append(delivery)
        order.extend(later.pop(position, []))
        if rng.random() < RESENT:
            later.setdefault(position + RESEND_LAG, []).append(delivery)
    for rest in later.values():
        order.extend(rest)
    return order


async def post(
    http: aiohttp.ClientSession, replica: ClinicProcess, delivery: Delivery, secret: str
) -> None:
    url = f"{replica.base_url}/telegram/webhook"
    outcome: int | str
    try:
        async with http.post(url, json=delivery.update, headers={SECRET_HEADER: secret}) as r:
            await r.read()
            outcome = r.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        outcome = type(exc).__name__
    delivery.answers.setdefault(replica.name, []).append(outcome)


async def wait_quiet(fake: FakeProcess, http: aiohttp.ClientSession, within: float) -> None:
    """Until the fake has seen no new call for QUIET seconds (or `within` is over)."""
    deadline = time.monotonic() + within
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        stats = await fake.stats(http)
        if stats["calls"] != last:
            last, since = stats["calls"], time.monotonic()
        elif time.monotonic() - since >= QUIET:
            return
        await asyncio.sleep(0.2)


# Telegram sends an unacknowledged update again; an update the killed replica
# acknowledged but left unfinished is taken over once its lease lapses (60 s) by the
# survivor's sweep (every 15 s).
TAKEOVER_WITHIN = 100.0
MAX_IN_FLIGHT = 256  # clinic.telegram.intake.Intake's max_in_flight


@pytest.mark.timeout(240)
async def test_a_replica_killed_during_a_webhook_burst(machine_db: str, tmp_path: Path) -> None:
    secret = Settings(_env_file=None, bot_token=BOT_TOKEN).webhook_secret_value()
    stall = ("--stall", f"*={API_STALL}")
    async with (
        fake_bot_api_process(tmp_path / "fake.log", *stall) as fake,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=4 * SENDERS),
            timeout=aiohttp.ClientTimeout(total=20),
        ) as http,
    ):
        replicas: list[ClinicProcess] = []
        try:
            for name in ("replica-a", "replica-b"):
                env = clinic_env(machine_db, fake.url, port=free_port())
                replicas.append(
                    await start_clinic(
                        name, ["serve", "--no-worker"], env, tmp_path / f"{name}.log"
                    )
                )
            victim, survivor = replicas
            # Each callback user's menu message, sent through the fake as the bot would.
            callers = range(CALLBACK_FIRST_USER, CALLBACK_FIRST_USER + CALLBACK_USERS)
            sent = await asyncio.gather(
                *(
                    fake.call(http, "sendMessage", chat_id=u, text=texts.RU.greeting("Дрилл"))
                    for u in callers
                )
            )
            menus = dict(zip(callers, sent, strict=True))
            setup_calls = (await fake.stats(http))["calls"]
            stream = build_stream(menus)
            order = with_resends(stream)
            queue = iter(enumerate(order))
            kill_at = int(KILL_AFTER * len(order))
            killed = asyncio.Event()
            killed_after = 0

            async def sender() -> None:
                nonlocal killed_after
                for position, delivery in queue:
                    if position == kill_at:
                        await asyncio.to_thread(victim.kill)
                        killed_after = position
                        killed.set()
                    targets = [survivor] if killed.is_set() else [victim, survivor]
                    random.shuffle(targets)  # who gets the first copy
                    await asyncio.gather(
                        *(post(http, replica, delivery, secret) for replica in targets)
                    )

            began = time.monotonic()
            await asyncio.gather(*(sender() for _ in range(SENDERS)))
            sent_for = time.monotonic() - began
            deadline = time.monotonic() + TAKEOVER_WITHIN
            while time.monotonic() < deadline:
                unacked = [
                    d
                    for d in stream
                    if not d.acked_by(victim.name) and not d.acked_by(survivor.name)
                ]
                if not unacked:
                    break
                await asyncio.gather(*(post(http, survivor, d, secret) for d in unacked))
                await asyncio.sleep(5)
            watcher = await asyncpg.connect(machine_db)
            try:
                while time.monotonic() < deadline and await watcher.fetchval(  # noqa: ASYNC110
                    "SELECT count(*) FROM processed_updates WHERE started_at IS NULL"
                ):
                    await asyncio.sleep(2)
            finally:
                await watcher.close()
            await wait_quiet(fake, http, within=40)
            calls = (await fake.calls(http))[setup_calls:]
            survivor_alive = survivor.process.poll() is None
            conn = await asyncpg.connect(machine_db)
            try:
                claimed = {
                    r["update_id"]
                    for r in await conn.fetch("SELECT update_id FROM processed_updates")
                }
                # Started but never finished: being handled when their replica died.
                died_mid_handling = {
                    r["update_id"]
                    for r in await conn.fetch(
                        "SELECT update_id FROM processed_updates"
                        " WHERE started_at IS NOT NULL AND done_at IS NULL"
                    )
                }
            finally:
                await conn.close()
        finally:
            for replica in replicas:
                await stop_process(replica.process)

    processed: Counter[str] = Counter()
    for call in calls:
        if call["method"] == "answerCallbackQuery":
            processed[str(call["callback_query_id"])] += 1
        elif call["method"] == "sendMessage" and (found := GREETING_NAME.search(call["text"])):
            processed[found[1]] += 1
    twice = {d.key: processed[d.key] for d in stream if processed[d.key] > 1}
    lost_acked = [d for d in stream if d.acked_by(survivor.name) and not processed[d.key]]
    lost_victim_only = [
        d
        for d in stream
        if d.acked_by(victim.name) and not d.acked_by(survivor.name) and not processed[d.key]
    ]
    lost_claimed = sum(d.update["update_id"] in claimed for d in lost_acked)
    never_acked = [
        d for d in stream if not d.acked_by(victim.name) and not d.acked_by(survivor.name)
    ]
    statuses = Counter(
        (replica, str(status))
        for d in order
        for replica, seen in d.answers.items()
        for status in seen
    )
    print(
        f"\n{len(stream)} updates ({len(order) - len(stream)} re-sent), each to both replicas"
        f" until replica A was SIGKILLed at position {killed_after}; sent in {sent_for:.1f} s;"
        f" answers {dict(sorted(statuses.items()))}; processed twice: {len(twice)};"
        f" acknowledged 200 by the survivor but never processed: {len(lost_acked)}"
        f" {dict(Counter(d.kind for d in lost_acked))}"
        f" (claimed in processed_updates: {lost_claimed});"
        f" acknowledged only by the killed replica and lost: {len(lost_victim_only)};"
        f" acknowledged by neither: {len(never_acked)}"
    )
    assert survivor_alive, (
        f"the surviving replica died ({survivor.process.returncode}):\n{survivor.log_tail()}"
    )
    assert killed.is_set(), "the victim was never killed"
    assert not twice, f"updates processed twice: {dict(list(twice.items())[:10])}"
    assert not never_acked, f"{len(never_acked)} updates acknowledged by no replica"
    # At most once: an update the killed replica was in the middle of is not repeated;
    # every other one it acknowledged (queued, not started) must have been taken over.
    not_taken_over = [d for d in lost_victim_only if d.update["update_id"] not in died_mid_handling]
    assert not not_taken_over, (
        f"{len(not_taken_over)} updates the killed replica acknowledged but never started"
        " were not taken over"
    )
    unexplained = [d for d in lost_acked if d.update["update_id"] not in died_mid_handling]
    assert not unexplained, (
        f"{len(unexplained)} updates answered 200 by the surviving replica were never"
        " processed, though no replica had started on them."
        f" E.g. {[d.update['update_id'] for d in unexplained[:10]]}"
    )
    # What at most once costs: the updates the killed replica was handling when it died,
    # bounded by how many one replica handles at once.
    assert len(died_mid_handling) <= MAX_IN_FLIGHT, died_mid_handling
