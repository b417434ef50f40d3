"""What a conversation handler needs: the areas' services, where messages go, settings."""

from __future__ import annotations

from dataclasses import dataclass

from clinic.booking.service import Bookings
from clinic.config import Settings
from clinic.db import Database
from clinic.metrics import Metrics
from clinic.staff.service import Staff
from clinic.telegram.models import TelegramUser
from clinic.telegram.outbox import Sender
from clinic.texts import Texts, language, of
from clinic.users.service import Users
from clinic.waitlist.service import Waitlist


class Alert(str):
    """A callback's answer to show as an alert the patient closes, not a passing notice."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class BotContext:
    bookings: Bookings
    users: Users
    waitlist: Waitlist
    staff: Staff
    sender: Sender
    settings: Settings
    metrics: Metrics
    database: Database

    @property
    def webapp_url(self) -> str | None:
        return self.settings.webapp_url

    @staticmethod
    def tx(user: TelegramUser | None) -> Texts:
        """The texts in the language of the user who wrote or pressed."""
        return of(language(user.language_code if user else None))

    @property
    def bookable(self) -> bool:
        """Whether the keyboards carry "🔖 Записаться" (and texts may point at it)."""
        return bool(self.settings.webapp_url)
