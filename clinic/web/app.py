"""The application factory, used by `clinic serve` and by the tests."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp_cors
from aiohttp import web

from clinic import db
from clinic.booking import handlers as booking_handlers
from clinic.booking.cache import WeekCache
from clinic.catalog import handlers as catalog_handlers
from clinic.catalog.service import DEMO_PHOTOS
from clinic.config import Settings
from clinic.metrics import Metrics
from clinic.reminders.worker import dispatcher_ctx
from clinic.telegram import demo as demo_chat
from clinic.telegram import webhook
from clinic.telegram.lifecycle import telegram
from clinic.users import handlers as users_handlers
from clinic.users.service import Registry
from clinic.web import health, keys, openapi
from clinic.web.observe import observe
from clinic.web.problems import problems_middleware
from clinic.web.static import add_api_docs, add_miniapp, add_photos

log = logging.getLogger("clinic.web")

MAX_BODY = 64 * 1024
DEV_ORIGINS = ("http://127.0.0.1:5173", "http://localhost:5173")


def utc_now() -> datetime:
    return datetime.now(UTC)


async def database(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.settings]
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not set (clinic serve starts an embedded one)")
    pool = await db.create_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )
    app[keys.pool] = pool
    app[keys.registry] = Registry(pool)
    app[keys.metrics].pool.pool = pool
    yield
    app[keys.metrics].pool.pool = None
    await pool.close()


def cors_origins(settings: Settings) -> list[str]:
    """The MiniApp's origin when it is hosted elsewhere, and Vite's dev server in demo mode."""
    origins = []
    if settings.webapp_url:
        parts = urlsplit(settings.webapp_url)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    if settings.demo:
        origins.extend(DEV_ORIGINS)
    return origins


def setup_cors(app: web.Application, origins: list[str]) -> None:
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=False,
        allow_headers=("Authorization", "Content-Type", "X-Request-ID"),
        allow_methods=("GET", "POST"),
        max_age=3600,
    )
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    for route in list(app.router.routes()):
        if route.resource is not None and route.resource.canonical.startswith("/api/"):
            cors.add(route)


def create_app(
    settings: Settings, *, clock: keys.Clock = utc_now, worker: bool = True
) -> web.Application:
    """The whole app; `worker=False` leaves the reminder dispatcher to `clinic worker`."""
    app = web.Application(middlewares=[observe, problems_middleware], client_max_size=MAX_BODY)
    app[keys.settings] = settings
    app[keys.metrics] = Metrics()
    app[keys.week_cache] = WeekCache()
    app[keys.clock] = clock
    if settings.bot_token is not None:
        app[keys.init_data_token] = settings.bot_token.get_secret_value()
    else:
        app[keys.init_data_token] = f"demo:{secrets.token_urlsafe(32)}"
    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(telegram)
    if worker:
        app.cleanup_ctx.append(dispatcher_ctx)  # needs the pool and the sender; stops first

    app.router.add_routes(health.routes)
    app.router.add_routes(openapi.routes)
    app.router.add_routes(catalog_handlers.routes)
    app.router.add_routes(booking_handlers.routes)
    app.router.add_routes(users_handlers.routes)
    if settings.demo:
        app.router.add_routes(users_handlers.demo_routes)
        app.router.add_routes(demo_chat.routes)
    else:
        app.router.add_routes(webhook.routes)
    app.on_startup.append(openapi.build_on_startup)
    setup_cors(app, cors_origins(settings))
    add_api_docs(app, settings.miniapp_dist)
    add_photos(app, DEMO_PHOTOS)
    add_miniapp(app, settings.miniapp_dist)
    return app
