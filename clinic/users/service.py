"""Telegram users: registered when they open the MiniApp or write to the bot, once per
process for each version of their names; blocked when they block the bot."""

from __future__ import annotations

from collections import OrderedDict

from clinic import db
from clinic.telegram.models import TelegramUser
from clinic.users import repo

# The patient a plain browser acts as in demo mode (no bot token).
DEMO_USER = TelegramUser(
    id=700_000_001, first_name="Гость", last_name="Демо", username=None, language_code="ru"
)


class Users:
    """Upserts a user the first time this process sees them (or sees new names).

    Every authenticated request calls `ensure`; the bounded memory of what was already
    written keeps that from being a round trip per request. It holds a hash of each user
    as written (id and names), about 100 bytes each: 50,000 users in some 5 MB.
    """

    def __init__(self, database: db.Database, *, capacity: int = 50_000) -> None:
        self._db = database
        self._capacity = capacity
        self._seen: OrderedDict[int, None] = OrderedDict()

    async def ensure(self, user: TelegramUser) -> None:
        key = hash(user)  # of every field: new names are a new key, so written again
        if key in self._seen:
            self._seen.move_to_end(key)
            return
        await self.register(user)
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)

    async def register(self, user: TelegramUser) -> None:
        await repo.upsert_user(self._db.pool, user=user)

    async def register_from_chat(self, user: TelegramUser) -> None:
        """A user who wrote to the bot: registered, and no longer counted as blocking it."""
        async with self._db.transaction() as conn:
            await repo.upsert_user(conn, user=user)
            await repo.set_blocked(conn, telegram_id=user.id, blocked=False)

    async def set_blocked(self, *, telegram_id: int, blocked: bool) -> None:
        await repo.set_blocked(self._db.pool, telegram_id=telegram_id, blocked=blocked)
