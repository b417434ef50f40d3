"""Who is calling: the Telegram user of a verified `Authorization: tma <initData>` header."""

from __future__ import annotations

from aiohttp import web

from clinic.errors import InitDataMissing
from clinic.users import initdata
from clinic.users.models import TelegramUser
from clinic.web import keys

SCHEME = "tma"


async def authenticated_user(request: web.Request) -> TelegramUser:
    """The caller, verified and registered; 401 problem otherwise."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != SCHEME or not value.strip():
        raise InitDataMissing("Authorization: tma <initData> is required")
    app = request.app
    user = initdata.verify(
        value.strip(),
        bot_token=app[keys.init_data_token],
        max_age=app[keys.settings].init_data_max_age,
        now=app[keys.clock]().timestamp(),
    )
    await app[keys.registry].ensure(user)
    return user
