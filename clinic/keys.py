"""Every piece of state the application holds, as typed keys. Only the composition root
(app.py) and the tests read them; everything below gets what it needs when it is built."""

from __future__ import annotations

from aiohttp import web

from clinic.booking.service import Bookings
from clinic.bot.lifecycle import Bot
from clinic.catalog.service import Catalog
from clinic.clock import Clock
from clinic.config import Settings
from clinic.db import Database
from clinic.dispatch.dispatcher import Dispatcher
from clinic.metrics import Metrics
from clinic.staff.service import Staff
from clinic.users.service import Users
from clinic.waitlist.service import Waitlist

settings = web.AppKey("settings", Settings)
clock: web.AppKey[Clock] = web.AppKey("clock")
database = web.AppKey("database", Database)
metrics = web.AppKey("metrics", Metrics)
# One service object per area, shared by the REST handlers and the bot.
catalog = web.AppKey("catalog", Catalog)
bookings = web.AppKey("bookings", Bookings)
users = web.AppKey("users", Users)
staff = web.AppKey("staff", Staff)
waitlist = web.AppKey("waitlist", Waitlist)
# The bot: its sender (Bot API or demo outbox), its intake, its start and stop.
bot = web.AppKey("bot", Bot)
# The reminder dispatcher of this process, while it runs (absent with worker=False).
dispatcher = web.AppKey("dispatcher", Dispatcher)
