"""Taking each update at most once, losing none that was only queued; one chat's in order.

An update is claimed in PostgreSQL first (processed_updates), with a lease, and marked
started (committed) just before it is handled; so a webhook retry, another replica or a
restart never handles it twice. A replica that dies after acknowledging an update but
before starting it (it was queued there) leaves its lease to lapse: a repeat of the
update, or the sweep every replica runs, takes it over from the stored copy. One that was
being handled when its replica died is not repeated: at most once, by design. The
webhook hands updates to background tasks and answers at once; long polling handles
them inline, in order.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from clinic import db
from clinic.bot import repo
from clinic.bot.context import BotContext
from clinic.bot.router import handle_update
from clinic.errors import MalformedBody
from clinic.telegram.botapi import BotApiError
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


LEASE = timedelta(seconds=60)
SWEEP_BATCH = 100


class Intake:
    def __init__(self, ctx: BotContext, database: db.Database, *, max_in_flight: int = 256) -> None:
        self.ctx = ctx
        self.database = database
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_of_chat: dict[int, asyncio.Task[None]] = {}

    async def claim(self, update: Update, payload: str) -> repo.Claim:
        return await repo.claim_update(
            self.database.pool, update_id=update.update_id, payload=payload, lease=LEASE
        )

    async def accept(self, update: Update, payload: str) -> repo.Claim:
        """Claims the update and schedules it after its chat's earlier ones.

        "done": a repeat of a handled update; "busy": another replica holds it now (and
        the sweep takes it over should that replica die): either way, nothing to do here.
        """
        claim = await self.claim(update, payload)
        if claim == "taken":
            await self._schedule(update)
        return claim

    async def sweep(self) -> int:
        """Takes over updates whose taker died before finishing them; returns how many."""
        lapsed = await repo.claim_lapsed_updates(
            self.database.pool, lease=LEASE, max_rows=SWEEP_BATCH
        )
        for update_id, payload in lapsed:
            log.warning("update %d was left unfinished; handling it here", update_id)
            await self._schedule(parse_update(orjson.loads(payload)))
        return len(lapsed)

    async def _schedule(self, update: Update) -> None:
        await self._slots.acquire()
        chat = update.chat_id()
        before = self._last_of_chat.get(chat) if chat is not None else None
        task = asyncio.create_task(self._after(before, update))
        self._tasks.add(task)
        if chat is not None:
            self._last_of_chat[chat] = task
        task.add_done_callback(lambda done: self._forget(done, chat))

    async def process(self, update: Update, payload: str) -> repo.Claim:
        """Claims and handles the update inline (long polling)."""
        claim = await self.claim(update, payload)
        if claim == "taken":
            await self._handle(update)
        return claim

    async def _after(self, before: asyncio.Task[None] | None, update: Update) -> None:
        try:
            if before is not None:
                await asyncio.wait({before})
            await self._handle(update)
        finally:
            self._slots.release()

    async def _handle(self, update: Update) -> None:
        if not await repo.start_update(self.database.pool, update_id=update.update_id):
            return  # taken over and started by another replica
        try:
            await handle_update(self.ctx, update)
        except BotApiError as exc:
            log.warning("update %d: Bot API refused: %s", update.update_id, exc)
        except Exception:
            log.exception("update %d failed", update.update_id)
        # Handled, or failed in a way a retry would repeat: either way, finished.
        try:
            await repo.finish_update(self.database.pool, update_id=update.update_id)
        except Exception:
            log.exception("update %d handled but not marked finished", update.update_id)

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
