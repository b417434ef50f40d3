"""Running the dispatcher: as a background task of the web app, or as a process of its own.

`python -m clinic.reminders.worker` runs one from the environment (DATABASE_URL,
BOT_TOKEN, TELEGRAM_API_URL, TELEGRAM_RATE_LIMIT, CLINIC_TZ) until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
from aiohttp import web

from clinic import db, logs
from clinic.config import Settings
from clinic.reminders.dispatcher import Dispatcher
from clinic.reminders.policy import Pace
from clinic.telegram.botapi import BotApi
from clinic.telegram.outbox import DemoOutbox, Sender
from clinic.web import keys

log = logging.getLogger("clinic.reminders")

CONCURRENCY = 100  # sends in flight per process; also the HTTP connection limit


def database_url(settings: Settings) -> str:
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not set")
    return settings.database_url.get_secret_value()


def build_dispatcher(pool: asyncpg.Pool, sender: Sender, settings: Settings) -> Dispatcher:
    return Dispatcher(
        pool,
        sender,
        dsn=database_url(settings),
        tz=settings.tz,
        pace=Pace(rate=settings.telegram_rate_limit),
        concurrency=CONCURRENCY,
    )


@contextlib.asynccontextmanager
async def running(dispatcher: Dispatcher) -> AsyncIterator[Dispatcher]:
    """The dispatcher as a task for the block's duration; cancelled and awaited after."""
    task = asyncio.create_task(dispatcher.run(), name="reminders-dispatcher")
    try:
        yield dispatcher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: after the pool and the sender exist."""
    dispatcher = build_dispatcher(app[keys.pool], app[keys.sender], app[keys.settings])
    app[keys.metrics].dispatch.source = dispatcher.metrics
    async with running(dispatcher):
        yield


async def run_worker(settings: Settings) -> None:
    """A dispatcher process: its own pool and HTTP session, until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    pool = await db.create_pool(database_url(settings), min_size=1, max_size=4)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            sender: Sender
            if settings.bot_token is None:
                log.warning("no BOT_TOKEN: reminders go to an in-memory demo outbox")
                sender = DemoOutbox()
            else:
                token = settings.bot_token.get_secret_value()
                sender = BotApi(session, token, settings.telegram_api_url)
            dispatcher = build_dispatcher(pool, sender, settings)
            async with running(dispatcher):
                await stop.wait()
    finally:
        await pool.close()


def main() -> None:
    settings = Settings()
    logs.configure(
        secrets=[s.get_secret_value() for s in (settings.bot_token, settings.database_url) if s]
    )
    if settings.database_url is None:
        sys.exit("clinic.reminders.worker: DATABASE_URL is not set")
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
