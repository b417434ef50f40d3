"""Long polling, for a bot with a token but no public https address."""

from __future__ import annotations

import asyncio
import logging
import random

import orjson

from clinic.bot.intake import Intake, parse_update
from clinic.errors import MalformedBody
from clinic.telegram.botapi import BotApi, BotApiError, RateLimited

log = logging.getLogger("clinic.telegram")

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
MAX_BACKOFF = 60.0


async def poll(api: BotApi, intake: Intake, *, long_poll: int = 25) -> None:
    """getUpdates in a loop, each batch processed in order; backs off on errors."""
    await api.delete_webhook()
    offset: int | None = None
    failures = 0
    while True:
        try:
            batch = await api.get_updates(
                offset=offset, timeout=long_poll, allowed_updates=ALLOWED_UPDATES
            )
        except RateLimited as exc:
            await asyncio.sleep(exc.retry_after)
            continue
        except BotApiError as exc:
            failures += 1
            delay = min(MAX_BACKOFF, 2 ** min(failures, 6)) * random.uniform(0.5, 1.0)  # noqa: S311
            log.warning("getUpdates failed (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            continue
        failures = 0
        for raw in batch:
            try:
                update = parse_update(raw)
            except MalformedBody:
                log.warning("getUpdates returned an update without update_id")
                continue
            try:
                await intake.process(update, orjson.dumps(raw).decode())
            except Exception:
                # The database did not take the update: ask for it again, later.
                log.exception("update %d not taken; will ask again", update.update_id)
                await asyncio.sleep(1.0)
                break
            offset = update.update_id + 1
