"""The composition root: `create_app(settings)` builds the whole object graph, used by
`clinic serve` and by the tests.

The app is split by trust boundary into sub-applications, each with the middleware that
checks its callers: /api (public catalog reads; initData for the caller's own data),
/api/staff inside it (a staff role; each route declares which), /telegram (the webhook's
secret token; bot mode only), /demo (demo mode only). The root serves health, metrics,
the doctors' photos and the MiniApp. Every resource is one cleanup_ctx generator, in
dependency order: the pool, the dispatchers' NOTIFY after bookings, the catalog's change
listener, the bot, the dispatcher.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import aiohttp_cors
from aiohttp import web

from clinic import keys
from clinic.booking import handlers as booking_handlers
from clinic.booking.cache import WeekCache
from clinic.booking.service import Bookings, Calendar, Limits
from clinic.bot import demo as demo_chat
from clinic.bot import webhook
from clinic.bot.lifecycle import Bot
from clinic.catalog import handlers as catalog_handlers
from clinic.catalog import service as catalog_service
from clinic.catalog.service import DEMO_PHOTOS, Catalog
from clinic.clock import Clock, utc_now
from clinic.config import Settings
from clinic.db import Database
from clinic.dispatch.worker import build_dispatcher, calendar_host, quiet_hours, running
from clinic.listen import Listener, Notifier
from clinic.metrics import Metrics
from clinic.reminders import service as reminders_service
from clinic.staff import handlers as staff_handlers
from clinic.staff.auth import staff_middleware
from clinic.staff.service import Staff
from clinic.users import handlers as users_handlers
from clinic.users.service import DEMO_USER, Users
from clinic.waitlist import handlers as waitlist_handlers
from clinic.waitlist.service import Waitlist
from clinic.web import health, openapi
from clinic.web.auth import init_data_middleware, secret_token_middleware
from clinic.web.observe import observe
from clinic.web.problems import problems_middleware
from clinic.web.static import add_miniapp, add_photos, docs_routes

log = logging.getLogger("clinic.web")

MAX_BODY = 64 * 1024
DEV_ORIGINS = ("http://127.0.0.1:5173", "http://localhost:5173")


def create_app(
    settings: Settings, *, clock: Clock = utc_now, worker: bool = True
) -> web.Application:
    """The whole app; `worker=False` leaves the reminder dispatcher to `clinic worker`."""
    database = Database(
        settings.dsn(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        statement_cache_size=settings.statement_cache_size(),
    )
    metrics = Metrics()
    # The token initData is checked against: the bot's, or in demo mode one made at start.
    token = (
        settings.bot_token.get_secret_value()
        if settings.bot_token is not None
        else f"demo:{secrets.token_urlsafe(32)}"
    )
    catalog = Catalog(database)
    users = Users(database)
    limits = Limits(
        cutoff=timedelta(minutes=settings.cancel_cutoff_minutes),
        max_upcoming=settings.max_upcoming_bookings,
        phone=settings.clinic_phone,
        waitlist_fanout=settings.waitlist_fanout,
    )
    # In demo mode the demo identity is an admin too, so one browser shows both sides.
    admins = [*settings.admin_ids, *([DEMO_USER.id] if settings.demo else [])]
    bookings = Bookings(
        database,
        tz=settings.tz,
        clock=clock,
        cache=WeekCache(),
        limits=limits,
        staff_admins=admins,
        quiet=quiet_hours(settings),
        calendar=Calendar(
            host=calendar_host(settings),
            key=hashlib.sha256(f"clinic-calendar:{token}".encode()).digest(),
        ),
    )
    waitlist = Waitlist(database, bookings=bookings)
    staff = Staff(
        database,
        bookings=bookings,
        catalog=catalog,
        admin_ids=admins,
        tz=settings.tz,
        clock=clock,
    )
    bot = Bot(
        settings,
        database,
        bookings=bookings,
        users=users,
        waitlist=waitlist,
        staff=staff,
        metrics=metrics,
    )

    app = web.Application(
        middlewares=[observe(metrics, database), problems_middleware], client_max_size=MAX_BODY
    )
    app[keys.settings] = settings
    app[keys.clock] = clock
    app[keys.database] = database
    app[keys.metrics] = metrics
    app[keys.catalog] = catalog
    app[keys.users] = users
    app[keys.bookings] = bookings
    app[keys.staff] = staff
    app[keys.waitlist] = waitlist
    app[keys.bot] = bot
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(notifier_ctx)
    app.cleanup_ctx.append(changes_ctx)
    app.cleanup_ctx.append(bot_ctx)
    if worker:
        app.cleanup_ctx.append(dispatcher_ctx)  # needs the pool and the sender; stops first

    api = web.Application(
        middlewares=[
            init_data_middleware(
                token=token,
                max_age=settings.init_data_max_age,
                clock=clock,
                on_caller=users.ensure,
            )
        ]
    )
    api.add_routes(catalog_handlers.routes(catalog))
    api.add_routes(booking_handlers.routes(bookings))
    api.add_routes(waitlist_handlers.routes(waitlist))
    api.add_routes(users_handlers.routes(demo=settings.demo))
    if settings.demo:
        api.add_routes(users_handlers.demo_routes(token=token, clock=clock))
    api.add_routes(openapi.routes(public_url=settings.public_url))
    api.add_routes(docs_routes(settings.miniapp_dist))
    origins = cors_origins(settings)
    setup_cors(api, origins)
    staff_api = web.Application(middlewares=[staff_middleware(staff)])
    staff_api.add_routes(staff_handlers.routes(staff))
    setup_cors(staff_api, origins)
    api.add_subapp("/staff", staff_api)
    app.add_subapp("/api", api)

    if bot.outbox is None:
        telegram = web.Application(
            middlewares=[secret_token_middleware(settings.webhook_secret_value())]
        )
        telegram.add_routes(webhook.routes(bot))
        app.add_subapp("/telegram", telegram)
    else:
        demo = web.Application()
        demo.add_routes(demo_chat.routes(bot, bot.outbox))
        app.add_subapp("/demo", demo)

    app.add_routes(health.routes(database, metrics))
    add_photos(app, DEMO_PHOTOS)
    add_miniapp(app, settings.miniapp_dist)
    return app


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    database = app[keys.database]
    await database.open()
    app[keys.metrics].pool.pool = database.pool
    yield
    app[keys.metrics].pool.pool = None
    await database.close()


async def notifier_ctx(app: web.Application) -> AsyncIterator[None]:
    """After the pool: the dispatchers' NOTIFY, sent after bookings commit, not in them."""
    notifier = Notifier(app[keys.database], channel=reminders_service.CHANNEL)
    async with notifier.running():
        app[keys.bookings].notify_with(notifier.poke)
        try:
            yield
        finally:
            app[keys.bookings].notify_with(None)


async def changes_ctx(app: web.Application) -> AsyncIterator[None]:
    """Hears every replica's catalog and schedule changes (migration 0011), so that the
    catalog's ready answers and the computed weeks of slots are dropped when they commit."""
    catalog, bookings = app[keys.catalog], app[keys.bookings]

    def changed(table: str) -> None:
        catalog.changed(table)
        bookings.forget_all()

    listener = Listener(
        app[keys.settings].direct_dsn(),
        channel=catalog_service.CHANNEL,
        on_notify=changed,
        on_connect=lambda: catalog.cache.listening(True),
        on_lost=lambda: catalog.cache.listening(False),
        what="catalog changes",
    )
    async with listener.running():
        yield


async def bot_ctx(app: web.Application) -> AsyncIterator[None]:
    """After the pool: the Bot API session (or the demo outbox) and the bot's work."""
    async with app[keys.bot].running():
        yield


async def dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
    """After the pool and the bot's sender."""
    dispatcher = build_dispatcher(app[keys.database], app[keys.bot].sender, app[keys.settings])
    app[keys.dispatcher] = dispatcher
    app[keys.metrics].dispatch.source = dispatcher.metrics
    async with running(dispatcher):
        app[keys.bookings].wake_with(dispatcher.wake)
        try:
            yield
        finally:
            app[keys.bookings].wake_with(None)


def cors_origins(settings: Settings) -> list[str]:
    """The MiniApp's origin when it is hosted elsewhere (not PUBLIC_URL's), and Vite's
    dev server in demo mode. None: every caller is same-origin, and no CORS machinery
    runs on any response."""

    def origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    origins = []
    own = origin(settings.public_url) if settings.public_url else None
    if settings.webapp_url and origin(settings.webapp_url) != own:
        origins.append(origin(settings.webapp_url))
    if settings.demo:
        origins.extend(DEV_ORIGINS)
    return origins


def setup_cors(api: web.Application, origins: list[str]) -> None:
    """CORS for every route of a sub-application (added after its routes), when there
    is another origin to allow."""
    if not origins:
        return
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=False,
        allow_headers=("Authorization", "Content-Type", "X-Request-ID"),
        allow_methods=("GET", "POST", "PUT", "DELETE"),
        max_age=3600,
    )
    cors = aiohttp_cors.setup(api, defaults={origin: options for origin in origins})
    for route in list(api.router.routes()):
        cors.add(route)
