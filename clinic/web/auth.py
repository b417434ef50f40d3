"""Who is calling. Each sub-application's middleware checks its callers before any
handler runs; handlers read the verified caller and never authenticate by hand.

- /api: `Authorization: tma <initData>`, verified as Telegram documents it (see
  initdata.py), on every route whose @operation says `auth=True`; the catalog stays
  public. The caller is put on the request (`caller(request)`).
- /telegram: the X-Telegram-Bot-Api-Secret-Token header that setWebhook was given,
  compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from clinic.clock import Clock
from clinic.errors import InitDataMissing, WrongSecret, msg
from clinic.telegram.models import TelegramUser
from clinic.web import initdata
from clinic.web.openapi import declared
from clinic.web.problems import LANGUAGE, Handler, Middleware

SCHEME = "tma"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name

CALLER = web.RequestKey("caller", TelegramUser)

OnCaller = Callable[[TelegramUser], Awaitable[None]]


def init_data_middleware(
    *, token: str, max_age: int, clock: Clock, on_caller: OnCaller
) -> Middleware:
    """Verifies the initData of routes declared `auth=True` and puts the user on the
    request; `on_caller` sees each verified user (registration)."""

    verify = initdata.Verifier(bot_token=token, max_age=max_age)

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        op = declared(request.match_info.handler)
        if op is not None and op.auth:
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != SCHEME or not value.strip():
                raise InitDataMissing(msg("error.init_data_missing"))
            user = verify(value.strip(), now=clock().timestamp())
            await on_caller(user)
            request[CALLER] = user
            request[LANGUAGE] = user.language_code or ""
        return await handler(request)

    return authenticate


def caller(request: web.Request) -> TelegramUser:
    """The verified caller of a route declared `auth=True`."""
    try:
        return request[CALLER]
    except KeyError:
        raise RuntimeError(f"{request.path}: the route does not declare auth=True") from None


def secret_token_middleware(expected: str) -> Middleware:
    """Refuses (401) every call that lacks the webhook's secret token."""
    secret = expected.encode()

    @web.middleware
    async def check_secret(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, secret):
            raise WrongSecret(msg("error.wrong_secret"))
        return await handler(request)

    return check_secret
