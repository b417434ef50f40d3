"""Taking updates exactly once, and processing them with one chat's updates in order.

An update id is claimed in PostgreSQL first (processed_updates), so a webhook retry,
another replica or a restart never processes it twice. The webhook hands updates to
background tasks and answers at once; long polling processes them inline, in order.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import ValidationError

from clinic.errors import MalformedBody
from clinic.telegram import repo
from clinic.telegram.bot import handle_update
from clinic.telegram.botapi import BotApiError
from clinic.telegram.context import BotContext
from clinic.telegram.models import Update

log = logging.getLogger("clinic.telegram")


def parse_update(data: Any) -> Update:
    """An Update; one of a shape this code does not know keeps just its update_id."""
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
        raise MalformedBody("an update needs an integer update_id")
    try:
        return Update.model_validate(data)
    except ValidationError as exc:
        log.warning("update %d of an unexpected shape ignored: %s", update_id, exc.errors()[:1])
        return Update(update_id=update_id)


class Intake:
    def __init__(self, ctx: BotContext, *, max_in_flight: int = 256) -> None:
        self.ctx = ctx
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_of_chat: dict[int, asyncio.Task[None]] = {}

    async def claim(self, update: Update) -> bool:
        return await repo.claim_update(self.ctx.pool, update_id=update.update_id)

    async def accept(self, update: Update) -> bool:
        """Claims the update and schedules it after its chat's earlier ones; False: a repeat."""
        if not await self.claim(update):
            return False
        await self._slots.acquire()
        chat = update.chat_id()
        before = self._last_of_chat.get(chat) if chat is not None else None
        task = asyncio.create_task(self._after(before, update))
        self._tasks.add(task)
        if chat is not None:
            self._last_of_chat[chat] = task
        task.add_done_callback(lambda done: self._forget(done, chat))
        return True

    async def process(self, update: Update) -> bool:
        """Claims and processes the update inline (long polling); False: a repeat."""
        if not await self.claim(update):
            return False
        await self._handle(update)
        return True

    async def _after(self, before: asyncio.Task[None] | None, update: Update) -> None:
        try:
            if before is not None:
                await asyncio.wait({before})
            await self._handle(update)
        finally:
            self._slots.release()

    async def _handle(self, update: Update) -> None:
        try:
            await handle_update(self.ctx, update)
        except BotApiError as exc:
            log.warning("update %d: Bot API refused: %s", update.update_id, exc)
        except Exception:
            log.exception("update %d failed", update.update_id)

    def _forget(self, task: asyncio.Task[None], chat: int | None) -> None:
        self._tasks.discard(task)
        if chat is not None and self._last_of_chat.get(chat) is task:
            del self._last_of_chat[chat]

    async def drain(self, seconds: float) -> None:
        """Waits for the updates in flight, then cancels what is left."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=seconds)
        for task in pending:
            task.cancel()
