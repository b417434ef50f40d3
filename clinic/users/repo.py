"""Typed wrappers over sql/users.sql."""

from __future__ import annotations

from clinic.db import Executor
from clinic.sql import q
from clinic.telegram.models import TelegramUser


async def upsert_user(db: Executor, *, user: TelegramUser) -> None:
    await db.execute(
        q("users.upsert_user"),
        user.id,
        user.first_name,
        user.last_name,
        user.username,
        user.language_code,
        user.is_premium,
    )


async def set_blocked(db: Executor, *, telegram_id: int, blocked: bool) -> None:
    await db.execute(q("users.set_blocked"), telegram_id, blocked)
