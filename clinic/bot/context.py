"""What a conversation handler needs: the areas' services, where messages go, settings."""

from __future__ import annotations

from dataclasses import dataclass

from clinic.booking.service import Bookings
from clinic.config import Settings
from clinic.metrics import Metrics
from clinic.telegram.outbox import Sender
from clinic.users.service import Users


@dataclass(frozen=True, slots=True)
class BotContext:
    bookings: Bookings
    users: Users
    sender: Sender
    settings: Settings
    metrics: Metrics

    @property
    def webapp_url(self) -> str | None:
        return self.settings.webapp_url

    @property
    def bookable(self) -> bool:
        """Whether the keyboards carry "🔖 Записаться" (and texts may point at it)."""
        return bool(self.settings.webapp_url)
