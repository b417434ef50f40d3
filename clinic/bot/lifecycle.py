"""The bot's life in the app: its Bot API client (or the demo outbox), start and stop.

On start: setWebhook with the secret (PUBLIC_URL set) or long polling, the /start
command, the menu button to the MiniApp, and "Бот запущен!" to ADMIN_IDS; on stop
"Бот остановлен!". A failure of any of these is logged and the app keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from datetime import timedelta
from typing import Any

import aiohttp

from clinic import db
from clinic.booking.service import Bookings
from clinic.bot import repo
from clinic.bot.context import BotContext
from clinic.bot.intake import Intake
from clinic.bot.polling import ALLOWED_UPDATES, poll
from clinic.config import Settings
from clinic.metrics import Metrics
from clinic.staff.service import Staff
from clinic.telegram.botapi import BotApi, BotApiError
from clinic.telegram.outbox import DemoOutbox, Sender
from clinic.texts import EN, RU
from clinic.users.service import Users
from clinic.waitlist.service import Waitlist

log = logging.getLogger("clinic.telegram")

UPDATE_RETENTION = timedelta(days=7)
PURGE_EVERY = 3600.0
SWEEP_EVERY = 15.0
DRAIN_TIMEOUT = 10.0


async def announce_start(api: BotApi, settings: Settings) -> None:
    steps = [
        (
            "setMyCommands",
            api.set_my_commands([{"command": "start", "description": RU("bot.command_start")}]),
        ),
        (
            "setMyCommands",
            api.set_my_commands(
                [{"command": "start", "description": EN("bot.command_start")}], language_code="en"
            ),
        ),
    ]
    if settings.public_url:
        steps.insert(
            0,
            (
                "setWebhook",
                api.set_webhook(
                    f"{settings.public_url}/telegram/webhook",
                    secret_token=settings.webhook_secret_value(),
                    allowed_updates=ALLOWED_UPDATES,
                ),
            ),
        )
    if settings.webapp_url:
        steps.append(
            (
                "setChatMenuButton",
                api.set_chat_menu_button(text=RU("bot.menu_button"), url=settings.webapp_url),
            )
        )
    for name, step in steps:
        try:
            await step
        except BotApiError as exc:
            log.warning("%s failed: %s", name, exc)
    await tell_admins(api, settings, RU("bot.started"))


async def tell_admins(api: BotApi, settings: Settings, text: str) -> None:
    for admin in settings.admin_ids:
        try:
            await api.send_message(admin, text)
        except BotApiError as exc:
            log.warning("could not tell admin %d: %s", admin, exc)


async def purge_updates_now_and_then(intake: Intake) -> None:
    while True:
        try:
            await repo.purge_updates(intake.database.pool, retention=UPDATE_RETENTION)
        except Exception:
            log.exception("purging processed updates failed")
        await asyncio.sleep(PURGE_EVERY)


async def sweep_lapsed_updates(intake: Intake) -> None:
    """Takes over, now and then, updates a dead replica acknowledged but never finished."""
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        try:
            await intake.sweep()
        except Exception:
            log.exception("sweeping unfinished updates failed")


@contextlib.asynccontextmanager
async def background(*coroutines: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Bot:
    """The bot in the app: where its messages go (the Bot API, or the demo outbox), the
    intake of its updates, and what it does on start and stop.

    Built before the event loop runs; `running()` opens the Bot API session and starts
    the background work, for the app's lifetime.
    """

    def __init__(
        self,
        settings: Settings,
        database: db.Database,
        *,
        bookings: Bookings,
        users: Users,
        waitlist: Waitlist,
        staff: Staff,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self._database = database
        self._bookings = bookings
        self._users = users
        self._waitlist = waitlist
        self._staff = staff
        self._metrics = metrics
        # Demo mode only: what the bot would have sent.
        self.outbox = DemoOutbox() if settings.bot_token is None else None
        self._sender: Sender | None = self.outbox
        self._intake: Intake | None = None

    @property
    def sender(self) -> Sender:
        if self._sender is None:
            raise RuntimeError("the bot is not running")
        return self._sender

    @property
    def intake(self) -> Intake:
        """Takes Telegram updates exactly once and processes them."""
        if self._intake is None:
            raise RuntimeError("the bot is not running")
        return self._intake

    def _start_intake(self, sender: Sender) -> Intake:
        context = BotContext(
            bookings=self._bookings,
            users=self._users,
            waitlist=self._waitlist,
            staff=self._staff,
            sender=sender,
            settings=self.settings,
            metrics=self._metrics,
            database=self._database,
        )
        self._sender = sender
        self._intake = Intake(context, self._database)
        return self._intake

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        settings = self.settings
        if self.outbox is not None:
            intake = self._start_intake(self.outbox)
            async with background(sweep_lapsed_updates(intake)):
                yield
            await intake.drain(DRAIN_TIMEOUT)
            return

        token = settings.bot_token.get_secret_value() if settings.bot_token else ""
        async with aiohttp.ClientSession() as session:
            api = BotApi(session, token, settings.telegram_api_url)
            intake = self._start_intake(api)
            work = [
                announce_start(api, settings),
                purge_updates_now_and_then(intake),
                sweep_lapsed_updates(intake),
            ]
            if not settings.public_url:
                work.append(poll(api, intake))
            async with background(*work):
                yield
            await intake.drain(DRAIN_TIMEOUT)
            await tell_admins(api, settings, RU("bot.stopped"))
