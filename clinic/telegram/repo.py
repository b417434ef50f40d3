"""Typed wrappers over sql/telegram.sql."""

from __future__ import annotations

from datetime import timedelta

from clinic.db import Executor
from clinic.sql import q


async def claim_update(db: Executor, *, update_id: int) -> bool:
    """True the first time an update_id is seen, False for a repeat."""
    return await db.fetchval(q("telegram.claim_update"), update_id) is not None


async def purge_updates(db: Executor, *, retention: timedelta) -> None:
    await db.execute(q("telegram.purge_updates"), retention)
