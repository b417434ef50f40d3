"""Typed wrappers over sql/telegram.sql."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from clinic.db import Executor
from clinic.sql import q

Claim = Literal["taken", "done", "busy"]


async def claim_update(db: Executor, *, update_id: int, payload: str, lease: timedelta) -> Claim:
    """taken: ours to handle; done: a repeat, started before; busy: queued elsewhere."""
    row = await db.fetchrow(q("telegram.claim_update"), update_id, payload, lease)
    if row["taken"]:
        return "taken"
    return "done" if row["done"] else "busy"


async def start_update(db: Executor, *, update_id: int) -> bool:
    """True: ours to handle now; False: another replica took it over and started it."""
    return await db.fetchval(q("telegram.start_update"), update_id) is not None


async def finish_update(db: Executor, *, update_id: int) -> None:
    await db.execute(q("telegram.finish_update"), update_id)


async def claim_lapsed_updates(
    db: Executor, *, lease: timedelta, max_rows: int
) -> list[tuple[int, str]]:
    rows = await db.fetch(q("telegram.claim_lapsed_updates"), lease, max_rows)
    return [(row["update_id"], row["payload"]) for row in rows]


async def purge_updates(db: Executor, *, retention: timedelta) -> None:
    await db.execute(q("telegram.purge_updates"), retention)
