from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from clinic.app import create_app
from clinic.config import Settings
from clinic.telegram.models import TelegramUser
from clinic.web import initdata
from tests.pg import Databases, postgres_server

BOT_TOKEN = "123456:TEST-token-for-the-clinic-suite"
ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """The app's clock, set by the test. Defaults to a Wednesday morning, clinic time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    # Its own folder, not pytest's tmp_path: pytest prunes old ones that another
    # pytest run on the machine may still be using.
    scratch = Path(tempfile.mkdtemp(prefix="clinic-test-pg-"))
    try:
        with postgres_server(scratch) as admin_dsn:
            dbs = Databases(admin_dsn)
            try:
                yield dbs
            finally:
                dbs.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def empty_db(databases: Databases) -> Iterator[str]:
    """A migrated database with no catalog."""
    with databases.fresh(databases.migrated) as dsn:
        yield dsn


@pytest.fixture
def dsn(databases: Databases) -> Iterator[str]:
    """A migrated database holding the demo catalog."""
    with databases.fresh(databases.seeded) as dsn:
        yield dsn


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(dsn)
    yield connection
    await connection.close()


@pytest.fixture
def clock() -> Clock:
    # Wednesday 2 December 2026, 10:17 in Moscow (07:17 UTC).
    return Clock(datetime(2026, 12, 2, 7, 17, tzinfo=UTC))


def make_settings(dsn: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": SecretStr(dsn),
        "bot_token": SecretStr(BOT_TOKEN),
        "clinic_tz": "Europe/Moscow",
        # Webhook mode (no long polling); a closed loopback port as the Bot API, so a
        # test that does not start the fake Bot API fails fast and never leaves the host.
        "public_url": "https://clinic.test",
        "miniapp_url": "https://clinic.test/",
        "telegram_api_url": "http://127.0.0.1:9",
        "admin_ids": [],
        "miniapp_dist": ROOT / "miniapp" / "dist",
        "telegram_rate_limit": 0,
        # Off unless a test turns them on: reminders come at their exact offsets.
        "quiet_hours": "",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(dsn: str) -> Settings:
    return make_settings(dsn)


@pytest.fixture
async def client(settings: Settings, clock: Clock, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(create_app(settings, clock=clock))


def user(user_id: int = 1001, first_name: str = "Анна", **extra: Any) -> TelegramUser:
    return TelegramUser(id=user_id, first_name=first_name, language_code="ru", **extra)


def auth(
    who: TelegramUser | int = 1001,
    *,
    clock: Clock | None = None,
    token: str = BOT_TOKEN,
    auth_date: int | None = None,
) -> dict[str, str]:
    """The Authorization header a MiniApp of this user would send."""
    person = who if isinstance(who, TelegramUser) else user(who)
    if auth_date is None and clock is not None:
        auth_date = int(clock().timestamp())
    signed = initdata.sign(person, bot_token=token, auth_date=auth_date)
    return {"Authorization": f"tma {signed}"}
