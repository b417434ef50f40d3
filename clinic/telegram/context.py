"""What a conversation handler needs: the database, where messages go, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from clinic.booking.cache import WeekCache
from clinic.config import Settings
from clinic.metrics import Metrics
from clinic.telegram.outbox import Sender


@dataclass(frozen=True, slots=True)
class BotContext:
    pool: asyncpg.Pool
    sender: Sender
    settings: Settings
    clock: Callable[[], datetime]
    metrics: Metrics
    week_cache: WeekCache

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def webapp_url(self) -> str | None:
        return self.settings.webapp_url
