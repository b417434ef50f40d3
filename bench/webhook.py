"""Telegram updates through POST /telegram/webhook, against a real `clinic serve` process.

    .venv/bin/python -m bench.webhook [--quick] [--updates 8000] [--users 2000]

Setup: a new database (on BENCH_DATABASE_URL / TEST_DATABASE_URL, else an embedded
PostgreSQL), migrated and seeded; --users patients registered, a third of them with one
to three upcoming bookings (made with Bookings.create_booking). The fake
Bot API (no faults) runs in a process of its own; the server runs as `python -m clinic
serve` (--no-worker when that flag exists) with BOT_TOKEN, PUBLIC_URL=https://bench.invalid
(webhook mode) and TELEGRAM_API_URL=the fake, TELEGRAM_RATE_LIMIT=0.

The updates are real Telegram JSON: callback queries with data `v1:bookings` (the
"📅 Мои записи" button: the bot reads the user's bookings from the database, edits the
message into the summary and answers the callback query), one new update_id each,
round-robin over the users. Each presses the button on a message of its own: before
the clock starts the benchmark has the fake "send" every user the main menu (the
bot's own greeting and keyboard, through the fake's sendMessage), and the update
carries that Message as the fake returned it, so every edit finds its message.
On top, --duplicates (5%) of the update_ids are sent again, each a little later than
its original (as Telegram retries a webhook), mixed into the same stream.

A warm-up of 200 updates (own ids, not counted) comes first. Then 32 senders (one
aiohttp connection each) POST the updates back to back, with the secret token header.
Figures:
- webhook: answers per second and their p50/p99 (the webhook claims the update_id
  in PostgreSQL and hands the work to a task, so this is intake, not processing);
- end to end: distinct updates / (arrival of the last answerCallbackQuery at the fake
  - the first send), the two read off CLOCK_MONOTONIC, which every process on the host
  shares; the fake's progress page is polled every 20 ms until all have arrived;
- exactly once: after a 1 s quiet period, per callback_query_id the number of
  answerCallbackQuery calls the fake saw (each must be exactly 1, re-sent ones
  included), the editMessageText answers (one 200 per update), and the
  processed_updates rows (one per distinct update_id);
- the server's CPU per update and its memory (VmRSS, VmHWM) afterwards.
Prints a table, writes bench/results/webhook.json. Exit status 1 when an update was
lost or processed twice or a webhook call failed, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson

from bench.booking import bookable_mondays, patient, service_free_slots, spread
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
from clinic import db, texts
from clinic.booking.service import Bookings
from clinic.errors import ClinicError
from clinic.telegram import keyboards
from clinic.telegram.models import TelegramUser
from clinic.users.service import Users
from clinic.web.auth import SECRET_HEADER

USERS = 40_000_000
UPDATES = 700_000_000
WARMUP_UPDATES = 200
CALLBACK_DATA = "v1:bookings"
POLL_EVERY = 0.02
QUIET = 1.0


# --- the patients and their bookings ------------------------------------------------


async def prepare_patients(dsn: str, settings: Any, count: int) -> dict[str, int]:
    """Registers `count` users; every third gets one to three upcoming bookings."""
    tz = settings.tz
    today = datetime.now(tz).date()
    pool = await db.create_pool(dsn, min_size=1, max_size=8)
    database = db.Database.of(pool)
    users = Users(database)
    bookings = Bookings(database, tz=tz, clock=lambda: datetime.now(UTC))
    try:
        people = [patient(USERS + n) for n in range(count)]
        for start in range(0, count, 500):
            await asyncio.gather(*(users.register(p) for p in people[start : start + 500]))
        _, free = await service_free_slots(pool, tz, bookable_mondays(today), today)
        slots = iter(spread(free))
        wanted = [(p, 1 + (n // 3) % 3) for n, p in enumerate(people) if n % 3 == 0]
        made = 0

        async def book_for(person: TelegramUser, times: int) -> int:
            done = 0
            while done < times:
                slot = next(slots)
                try:
                    await bookings.create_booking(person.id, slot.request())
                except ClinicError:  # this patient is busy at that hour: the next slot
                    continue
                done += 1
            return done

        for start in range(0, len(wanted), 16):
            made += sum(
                await asyncio.gather(*(book_for(p, k) for p, k in wanted[start : start + 16]))
            )
        return {"users": count, "users_with_bookings": len(wanted), "bookings": made}
    finally:
        await pool.close()


# --- the updates --------------------------------------------------------------------


def telegram_user(person: TelegramUser) -> dict[str, Any]:
    return {
        "id": person.id,
        "is_bot": False,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "language_code": person.language_code,
    }


async def menu_messages(
    fake: FakeBotApi, people: list[TelegramUser], settings: Any, concurrency: int
) -> list[dict[str, Any]]:
    """The main menu, as the bot would have sent it, once per element of `people`."""
    markup = keyboards.main_menu(texts.RU, settings.webapp_url)
    url = fake.method_url("sendMessage")
    out: list[dict[str, Any]] = [{} for _ in people]
    work = iter(enumerate(people))

    async with client_session(concurrency) as session:

        async def send(item: tuple[int, TelegramUser]) -> str:
            k, person = item
            body = {
                "chat_id": person.id,
                "text": texts.RU.greeting(person.first_name),
                "parse_mode": "HTML",
                "reply_markup": markup,
            }
            async with session.post(url, json=body) as answer:
                envelope = orjson.loads(await answer.read())
            if not envelope.get("ok"):
                raise RuntimeError(f"the fake refused sendMessage: {envelope}")
            out[k] = envelope["result"]
            return "ok"

        run = await closed_loop(send, work, concurrency=concurrency, duration=math.inf)
    if run.outcomes.get("ok") != len(people):
        raise RuntimeError(f"could not create the menu messages: {run.outcomes}")
    return out


def callback_update(update_id: int, person: TelegramUser, message: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "update_id": update_id,
            "callback_query": {
                "id": str(4_000_000_000_000_000 + update_id),
                "from": telegram_user(person),
                "message": message,
                "chat_instance": str(-(person.id * 7919 % 10**15)),
                "data": CALLBACK_DATA,
            },
        }
    )


def with_repeats(bodies: list[bytes], share: float, seed: int = 11) -> tuple[list[bytes], int]:
    """The bodies in order, with `share` of them sent again 1-400 positions later."""
    rng = random.Random(seed)
    keyed = [(float(n), body) for n, body in enumerate(bodies)]
    chosen = rng.sample(range(len(bodies)), round(len(bodies) * share))
    keyed += [(n + rng.randint(1, 400) + 0.5, bodies[n]) for n in chosen]
    keyed.sort(key=lambda pair: pair[0])
    return [body for _, body in keyed], len(chosen)


# --- sending and waiting --------------------------------------------------------------


async def wait_answered(
    fake: FakeBotApi, session: aiohttp.ClientSession, expected: int, patience: float
) -> dict[str, Any]:
    """Polls the fake until `expected` answerCallbackQuery calls have arrived."""
    deadline = time.monotonic() + patience
    while True:
        async with session.get(f"{fake.url}/_bench/progress") as answer:
            progress: dict[str, Any] = orjson.loads(await answer.read())
        if progress["answers"] >= expected or time.monotonic() > deadline:
            return progress
        await asyncio.sleep(POLL_EVERY)


async def send_all(
    server: Server,
    fake: FakeBotApi,
    bodies: list[bytes],
    *,
    expected_answers: int,
    concurrency: int,
    secret: str,
    patience: float,
) -> dict[str, Any]:
    url = f"{server.url}/telegram/webhook"
    headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}
    async with client_session(concurrency) as session, client_session(2) as poller:
        await open_connections(session, f"{server.url}/healthz", concurrency)

        async def send(body: bytes) -> str:
            async with session.post(url, data=body, headers=headers) as answer:
                await answer.read()
                return str(answer.status)

        cpu_before = cpu_seconds(server.pid)
        fake_before = cpu_seconds(fake.process.pid)
        client_before = time.process_time()
        first_send = time.monotonic()
        run = await closed_loop(
            send, iter(bodies), concurrency=concurrency, duration=math.inf, server_pid=server.pid
        )
        progress = await wait_answered(fake, poller, expected_answers, patience)
        done = time.monotonic()
        cpu = cpu_seconds(server.pid) - cpu_before
        fake_cpu = cpu_seconds(fake.process.pid) - fake_before
        client_cpu = time.process_time() - client_before
        await asyncio.sleep(QUIET)  # anything late (a second answer) arrives now
    return {
        "webhook": run.summary(),
        "first_send": first_send,
        "seen_done": done,
        "progress": progress,
        "server_cpu_s": cpu,
        "fake_cpu_s": fake_cpu,
        "client_cpu_s": client_cpu,
    }


async def count_processed(dsn: str, ids: list[int]) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM processed_updates WHERE update_id = ANY($1::bigint[])", ids
        )
        return found
    finally:
        await conn.close()


async def measure(
    server: Server, fake: FakeBotApi, settings: Any, dsn: str, args: argparse.Namespace
) -> dict[str, Any]:
    people = [patient(USERS + n) for n in range(args.users)]
    secret = settings.webhook_secret_value()
    total = WARMUP_UPDATES + args.updates
    log(f"the fake sends {total} menu messages to press buttons on")
    owners = [people[n % len(people)] for n in range(total)]
    messages = await menu_messages(fake, owners, settings, args.concurrency)
    ids = [UPDATES + n for n in range(total)]
    bodies = [
        callback_update(i, who, message)
        for i, who, message in zip(ids, owners, messages, strict=True)
    ]

    log(f"warm-up: {WARMUP_UPDATES} updates")
    warm = await send_all(
        server,
        fake,
        bodies[:WARMUP_UPDATES],
        expected_answers=WARMUP_UPDATES,
        concurrency=args.concurrency,
        secret=secret,
        patience=args.timeout,
    )
    if warm["progress"]["answers"] < WARMUP_UPDATES:
        raise RuntimeError(f"the warm-up was not processed: {warm['progress']}")
    server.check_alive()

    stream, repeats = with_repeats(bodies[WARMUP_UPDATES:], args.duplicates)
    log(f"{args.updates} updates (+{repeats} sent twice), {args.concurrency} senders")
    sent = await send_all(
        server,
        fake,
        stream,
        expected_answers=total,
        concurrency=args.concurrency,
        secret=secret,
        patience=args.timeout,
    )
    server.check_alive()
    memory = server.memory_mb()

    answers = fake.get("/_bench/answers")
    per_id: dict[str, int] = answers["answers"]
    statuses: dict[str, dict[str, int]] = answers["statuses"]
    measured = {str(4_000_000_000_000_000 + i) for i in ids[WARMUP_UPDATES:]}
    counts = [per_id.get(cid, 0) for cid in sorted(measured)]
    last_answer = sent["progress"]["last_answer"]
    end_to_end = (last_answer - sent["first_send"]) if last_answer else math.nan
    edits = statuses.get("editMessageText", {})
    sends = statuses.get("sendMessage", {})
    processed_rows = await count_processed(dsn, ids)
    complete = sent["progress"]["answers"] >= total
    return {
        "updates": args.updates,
        "resent": repeats,
        "webhook": sent["webhook"],
        "end_to_end": {
            "complete": complete,
            "seconds": round(end_to_end, 3),
            "updates_per_s": round(args.updates / end_to_end, 1) if complete else None,
            "server_cpu_ms_per_update": round(sent["server_cpu_s"] * 1000 / args.updates, 3),
            "server_cores_busy": round(sent["server_cpu_s"] / end_to_end, 2),
            "fake_bot_api_cores_busy": round(sent["fake_cpu_s"] / end_to_end, 2),
            "benchmark_cores_busy": round(sent["client_cpu_s"] / end_to_end, 2),
            "poll_lag_s": round(sent["seen_done"] - (last_answer or sent["seen_done"]), 3),
        },
        "exactly_once": {
            "answered_once": sum(c == 1 for c in counts),
            "answered_twice_or_more": sum(c > 1 for c in counts),
            "unanswered": sum(c == 0 for c in counts),
            "answers_not_ok": sum(
                n
                for status, n in statuses.get("answerCallbackQuery", {}).items()
                if status != "200"
            ),
            "answers_all_ids": sum(per_id.values()),
            "distinct_ids_all": len(per_id),
            "expected_ids_all": total,
            "processed_updates_rows": processed_rows,
        },
        "bot_api_statuses": statuses,
        "edits_ok": edits.get("200", 0),
        "edits_failed": sum(n for status, n in edits.items() if status != "200"),
        "messages_sent_while_processing": sum(sends.values()) - total,
        "server_memory_mb": memory,
        "warmup_webhook": warm["webhook"],
    }


def report(figures: dict[str, Any], args: argparse.Namespace) -> bool:
    hook, e2e, once = figures["webhook"], figures["end_to_end"], figures["exactly_once"]
    memory = figures["server_memory_mb"]
    bad_answers = hook["requests"] - hook["outcomes"].get("200", 0)
    total = once["expected_ids_all"]
    exactly_once = (
        once["answered_once"] == figures["updates"]
        and once["answered_twice_or_more"] == 0
        and once["answers_all_ids"] == total
        and once["distinct_ids_all"] == total
        and once["processed_updates_rows"] == total
    )
    rate = e2e["updates_per_s"]
    rows = [
        (
            f"webhook answers @{args.concurrency} senders",
            f"{hook['rate']:.0f}/s  p50 {hook['p50_ms']:.1f} ms  p99 {hook['p99_ms']:.1f} ms",
            "",
            "",
        ),
        (
            f"  answers other than 200 (of {hook['requests']})",
            str(bad_answers),
            "0",
            verdict(bad_answers == 0),
        ),
        (
            f"processed end to end ({figures['updates']} updates)",
            f"{rate:.0f}/s in {e2e['seconds']:.2f} s" if rate else "incomplete",
            "all",
            verdict(e2e["complete"]),
        ),
        (
            "  server CPU per update",
            f"{e2e['server_cpu_ms_per_update']:.2f} ms ({e2e['server_cores_busy']:.2f} cores)",
            "",
            "",
        ),
        (
            f"re-sent update_ids ({figures['resent']}): answered twice",
            str(once["answered_twice_or_more"]),
            "0",
            verdict(once["answered_twice_or_more"] == 0),
        ),
        (
            "answerCallbackQuery per distinct update",
            f"{once['answered_once']}/{figures['updates']} once, {once['unanswered']} never",
            "all once",
            verdict(exactly_once),
        ),
        (
            "  answers in all (warm-up included)",
            f"{once['answers_all_ids']} for {once['distinct_ids_all']} ids",
            str(total),
            verdict(once["answers_all_ids"] == total == once["distinct_ids_all"]),
        ),
        (
            "  processed_updates rows",
            str(once["processed_updates_rows"]),
            str(total),
            verdict(once["processed_updates_rows"] == total),
        ),
        (
            "editMessageText ok / failed",
            f"{figures['edits_ok']} / {figures['edits_failed']}",
            f"{total} / 0",
            verdict(figures["edits_ok"] == total and figures["edits_failed"] == 0),
        ),
        (
            "server RSS after the run (peak)",
            f"{memory.get('VmRSS', math.nan):.0f} MB ({memory.get('VmHWM', math.nan):.0f} MB)",
            "< 150 MB",
            verdict(memory.get("VmRSS", math.inf) < 150),
        ),
    ]
    print_table("Webhook", rows)
    return exactly_once and bad_answers == 0 and bool(e2e["complete"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhook", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="1,500 updates from 300 users")
    parser.add_argument("--updates", type=int, default=None, help="distinct updates (8000)")
    parser.add_argument("--users", type=int, default=None, help="distinct users (2000)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duplicates", type=float, default=0.05, help="share sent twice")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for all")
    args = parser.parse_args(argv)
    defaults = {"updates": 1500, "users": 300} if args.quick else {"updates": 8000, "users": 2000}
    for name, value in defaults.items():
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
            dsn = stack.enter_context(bench_database(admin, f"clinic_bench_webhook_{os.getpid()}"))
            fake: FakeBotApi = stack.enter_context(fake_bot_api(BOT_TOKEN, scratch))
            settings = bench_settings(
                database_url=dsn,
                bot_token=BOT_TOKEN,
                public_url=PUBLIC_URL,
                telegram_api_url=fake.url,
                telegram_rate_limit=0,
                admin_ids=[],
                host="127.0.0.1",
                port=free_port(),
                miniapp_dist=ROOT / "miniapp" / "dist",
            )
            log(f"registering {args.users} users and booking for a third of them")
            patients = asyncio.run(prepare_patients(dsn, settings, args.users))
            server = stack.enter_context(running_server(settings, scratch, name="webhook"))
            figures = asyncio.run(measure(server, fake, settings, dsn, args))
            server.check_alive()
            log_problems = server.log_problems()
    except KeyboardInterrupt:
        log("interrupted; processes stopped and databases dropped")
        return 130
    results = {
        "benchmark": "webhook",
        "machine": started,
        "load_average_after": machine()["load_average"],
        "config": {
            "database": source,
            "concurrency": args.concurrency,
            "updates": args.updates,
            "users": args.users,
            "duplicates": args.duplicates,
            "warmup_updates": WARMUP_UPDATES,
            "callback_data": CALLBACK_DATA,
            "db_pool_max": settings.db_pool_max,
            "serve_flags": server.flags,
            "quick": args.quick,
        },
        "patients": patients,
        **figures,
        "server_log_problems": log_problems,
    }
    ok = report(figures, args)
    if log_problems.get("levels"):
        print(f"server log: {log_problems} (bench/results/webhook-server.log)")
    path = write_results("webhook", results)
    before, after = started["load_average"], results["load_average_after"]
    print(f"raw figures: {path.relative_to(ROOT)}  (load average before {before}, after {after})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
