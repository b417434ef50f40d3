"""Settings, read once at the entry point from the environment or .env."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from datetime import time
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from clinic.errors import ConfigError

_SPAN = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


def quiet_span(value: str) -> tuple[time, time] | None:
    found = _SPAN.fullmatch(value.replace(" ", ""))
    if found is None:
        return None
    a, b, c, d = (int(g) for g in found.groups())
    start, end = time(a, b), time(c, d)
    return None if start == end else (start, end)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: SecretStr | None = None
    database_direct_url: SecretStr | None = None
    # asyncpg's prepared-statement cache; unset: see statement_cache_size().
    database_statement_cache: int | None = Field(default=None, ge=0)
    data_dir: Path = Path("data")
    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    public_url: str | None = None
    webhook_secret: SecretStr | None = None
    miniapp_url: str | None = None
    admin_ids: list[int] = Field(default_factory=list)
    clinic_tz: str = "Europe/Moscow"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    init_data_max_age: int = Field(default=86400, gt=0)
    telegram_rate_limit: float = Field(default=25, ge=0)
    miniapp_dist: Path = Path("miniapp/dist")
    db_pool_min: int = Field(default=2, ge=1)
    db_pool_max: int = Field(default=10, ge=1)
    clinic_phone: str = Field(default="+7 (495) 000-00-00", min_length=1, max_length=40)
    cancel_cutoff_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    max_upcoming_bookings: int = Field(default=5, ge=1, le=100_000)
    quiet_hours: str = "22:00-08:00"
    waitlist_fanout: int = Field(default=3, ge=1, le=100)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_span(cls, value: str) -> str:
        """Empty (off), or HH:MM-HH:MM in the clinic's time; it may run past midnight."""
        value = value.strip()
        if value and quiet_span(value) is None:
            raise ValueError("QUIET_HOURS must be HH:MM-HH:MM (e.g. 22:00-08:00) or empty")
        return value

    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("database_url", "database_direct_url")
    @classmethod
    def _postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and urlsplit(value.get_secret_value()).scheme not in (
            "postgresql",
            "postgres",
        ):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("clinic_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    @property
    def quiet(self) -> tuple[time, time] | None:
        """QUIET_HOURS as (start, end), or None when off."""
        return quiet_span(self.quiet_hours) if self.quiet_hours else None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_tz)

    @property
    def demo(self) -> bool:
        """No bot token: run with no Telegram, with a demo identity signed by the server."""
        return self.bot_token is None

    @property
    def webapp_url(self) -> str | None:
        """What the bot's web_app buttons open: MINIAPP_URL, else PUBLIC_URL + "/"; in
        demo mode, else the MiniApp on this server (the demo chat's button opens it)."""
        if self.miniapp_url:
            return self.miniapp_url
        if self.public_url:
            return f"{self.public_url}/"
        return self.local_url if self.demo else None

    @property
    def local_url(self) -> str:
        """http://HOST:PORT/ as a browser on this machine reaches it."""
        try:
            address = ipaddress.ip_address(self.host or "127.0.0.1")
        except ValueError:  # a name
            return f"http://{self.host}:{self.port}/"
        if address.is_unspecified:  # every interface: this machine's loopback is one
            address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
        host = f"[{address}]" if address.version == 6 else str(address)
        return f"http://{host}:{self.port}/"

    def dsn(self) -> str:
        """DATABASE_URL: the one place that says it is missing."""
        if self.database_url is None:
            raise ConfigError("DATABASE_URL is not set (clinic serve starts an embedded one)")
        return self.database_url.get_secret_value()

    def direct_dsn(self) -> str:
        """Where LISTEN, migrations and the seed connect: DATABASE_DIRECT_URL (a session,
        straight to PostgreSQL), else DATABASE_URL."""
        if self.database_direct_url is not None:
            return self.database_direct_url.get_secret_value()
        return self.dsn()

    def statement_cache_size(self) -> int:
        """DATABASE_STATEMENT_CACHE; unset: 0 when DATABASE_DIRECT_URL is set, else 100.

        A DATABASE_DIRECT_URL says DATABASE_URL goes through a pooler in transaction mode
        (PgBouncer), where a statement prepared on one server connection is missing on
        the next one: asyncpg then prepares no named statements (PgBouncer before 1.21
        has no prepared statements of its own to offer).
        """
        if self.database_statement_cache is not None:
            return self.database_statement_cache
        return 0 if self.database_direct_url is not None else 100

    def webhook_secret_value(self) -> str:
        """The secret_token given to setWebhook; derived from the bot token when not set."""
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        token = self.bot_token.get_secret_value() if self.bot_token else ""
        return hashlib.sha256(f"clinic-webhook:{token}".encode()).hexdigest()
