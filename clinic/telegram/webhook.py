"""POST /telegram/webhook: Telegram's calls, checked by their secret token, answered fast."""

from __future__ import annotations

import hmac

import orjson
from aiohttp import web
from pydantic import BaseModel

from clinic.errors import ClinicError, MalformedBody, Unauthorized
from clinic.telegram.intake import parse_update
from clinic.web import keys
from clinic.web.io import json_response
from clinic.web.openapi import operation

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name

routes = web.RouteTableDef()


class WebhookAck(BaseModel):
    ok: bool


class UpdateBusy(ClinicError):
    status = 503
    code = "update_busy"
    title = "Update being handled"


@routes.post("/telegram/webhook")
@operation(
    response=WebhookAck,
    summary="Telegram updates (X-Telegram-Bot-Api-Secret-Token required)",
    tag="telegram",
    errors=(400, 401, 413, 503),
)
async def webhook(request: web.Request) -> web.Response:
    expected = request.app[keys.settings].webhook_secret_value().encode()
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not hmac.compare_digest(given, expected):
        raise Unauthorized("wrong or missing secret token")
    raw = await request.read()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedBody("The body is not valid JSON") from None
    update = parse_update(data)
    if await request.app[keys.intake].accept(update, raw.decode()) == "busy":
        # Another replica holds it right now; Telegram will send it again later, when it
        # is either finished (then skipped) or abandoned (then taken over).
        raise UpdateBusy(f"update {update.update_id} is being handled elsewhere")
    return json_response(WebhookAck(ok=True))
