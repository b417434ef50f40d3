"""Every piece of state the application holds, as typed keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from clinic.booking.cache import WeekCache
from clinic.config import Settings
from clinic.metrics import Metrics
from clinic.telegram.intake import Intake
from clinic.telegram.outbox import DemoOutbox, Sender
from clinic.users.service import Registry

Clock = Callable[[], datetime]

settings = web.AppKey("settings", Settings)
clock: web.AppKey[Clock] = web.AppKey("clock")
pool = web.AppKey("pool", asyncpg.Pool)
metrics = web.AppKey("metrics", Metrics)
registry = web.AppKey("registry", Registry)
# The token initData is checked against: the bot's, or in demo mode one made at start.
init_data_token = web.AppKey("init_data_token", str)
# Where the bot's messages go: the Bot API client, or the demo outbox.
sender: web.AppKey[Sender] = web.AppKey("sender")
# Takes Telegram updates exactly once and processes them.
intake = web.AppKey("intake", Intake)
# Demo mode only: what the bot would have sent.
outbox = web.AppKey("outbox", DemoOutbox)
# The OpenAPI document, built once the routes are known.
openapi: web.AppKey[dict[str, Any]] = web.AppKey("openapi")
# Weeks of free slots computed in the last second (see clinic.booking.cache).
week_cache = web.AppKey("week_cache", WeekCache)
