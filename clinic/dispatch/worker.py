"""Running the dispatcher: as a background task of the web app, or as a process of its
own (`clinic worker`), until SIGTERM, SIGINT or SIGHUP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

import aiohttp

from clinic import db
from clinic.config import Settings
from clinic.dispatch.dispatcher import Dispatcher
from clinic.dispatch.policy import Pace
from clinic.reminders import render as reminders
from clinic.reminders.models import Quiet, Render
from clinic.reminders.service import JobTable
from clinic.staff import render as staff
from clinic.telegram.botapi import BotApi
from clinic.telegram.outbox import DemoOutbox, Sender
from clinic.waitlist import render as waitlist

log = logging.getLogger("clinic.reminders")

CONCURRENCY = 100  # sends in flight per process; also the HTTP connection limit


def quiet_hours(settings: Settings) -> Quiet | None:
    """QUIET_HOURS on the clinic's clock, or None when off."""
    span = settings.quiet
    return Quiet(span[0], span[1], settings.tz) if span else None


def calendar_host(settings: Settings) -> str:
    """The domain of the calendar files' UIDs: this app's, else a local name."""
    return urlsplit(settings.public_url).netloc if settings.public_url else "clinic.local"


def renderers(settings: Settings) -> Mapping[str, Render]:
    """Every kind of message in the job table, rendered by the area that plans it."""
    return {
        **reminders.renderers(
            settings.tz, webapp_url=settings.webapp_url, host=calendar_host(settings)
        ),
        **waitlist.renderers(settings.tz),
        **staff.renderers(settings.tz, webapp_url=settings.webapp_url),
    }


def build_dispatcher(database: db.Database, sender: Sender, settings: Settings) -> Dispatcher:
    return Dispatcher(
        JobTable(database),
        sender,
        renderers=renderers(settings),
        listen_dsn=settings.direct_dsn(),
        quiet=quiet_hours(settings),
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


async def run_worker(settings: Settings) -> None:
    """A dispatcher process: its own pool and HTTP session, until SIGTERM, SIGINT or
    SIGHUP (a closed terminal)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    database = db.Database(
        settings.dsn(), min_size=1, max_size=4, statement_cache_size=settings.statement_cache_size()
    )
    await database.open()
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
            async with running(build_dispatcher(database, sender, settings)):
                await stop.wait()
    finally:
        await database.close()
