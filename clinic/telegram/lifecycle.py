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
from aiohttp import web

from clinic.config import Settings
from clinic.telegram import repo, texts
from clinic.telegram.botapi import BotApi, BotApiError
from clinic.telegram.context import BotContext
from clinic.telegram.intake import Intake
from clinic.telegram.outbox import DemoOutbox, Sender
from clinic.telegram.polling import ALLOWED_UPDATES, poll
from clinic.web import keys

log = logging.getLogger("clinic.telegram")

UPDATE_RETENTION = timedelta(days=7)
PURGE_EVERY = 3600.0
SWEEP_EVERY = 15.0
DRAIN_TIMEOUT = 10.0


async def announce_start(api: BotApi, settings: Settings) -> None:
    steps = [
        (
            "setMyCommands",
            api.set_my_commands([{"command": "start", "description": texts.COMMAND_START}]),
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
                api.set_chat_menu_button(text=texts.MENU_BUTTON, url=settings.webapp_url),
            )
        )
    for name, step in steps:
        try:
            await step
        except BotApiError as exc:
            log.warning("%s failed: %s", name, exc)
    await tell_admins(api, settings, texts.BOT_STARTED)


async def tell_admins(api: BotApi, settings: Settings, text: str) -> None:
    for admin in settings.admin_ids:
        try:
            await api.send_message(admin, text)
        except BotApiError as exc:
            log.warning("could not tell admin %d: %s", admin, exc)


async def purge_updates_now_and_then(intake: Intake) -> None:
    while True:
        try:
            await repo.purge_updates(intake.ctx.pool, retention=UPDATE_RETENTION)
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


def intake_for(app: web.Application, sender: Sender) -> Intake:
    context = BotContext(
        app[keys.pool],
        sender,
        app[keys.settings],
        app[keys.clock],
        app[keys.metrics],
        app[keys.week_cache],
    )
    return Intake(context)


async def telegram(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: after the pool. Sets keys.sender and keys.intake (keys.outbox in demo)."""
    settings = app[keys.settings]
    if settings.bot_token is None:
        outbox = DemoOutbox()
        app[keys.outbox] = outbox
        app[keys.sender] = outbox
        app[keys.intake] = intake = intake_for(app, outbox)
        async with background(sweep_lapsed_updates(intake)):
            yield
        await intake.drain(DRAIN_TIMEOUT)
        return

    async with aiohttp.ClientSession() as session:
        api = BotApi(session, settings.bot_token.get_secret_value(), settings.telegram_api_url)
        app[keys.sender] = api
        app[keys.intake] = intake = intake_for(app, api)
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
        await tell_admins(api, settings, texts.BOT_STOPPED)
