"""POST /webhook on /telegram: Telegram's calls, answered fast. The sub-application's
middleware has checked the secret token before this runs."""

from __future__ import annotations

import orjson
from aiohttp import web
from pydantic import BaseModel

from clinic.bot.intake import parse_update
from clinic.bot.lifecycle import Bot
from clinic.errors import BodyTooLarge, MalformedBody, UpdateBusy, WrongSecret
from clinic.web.io import json_response
from clinic.web.openapi import operation


class WebhookAck(BaseModel):
    ok: bool


def routes(bot: Bot) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.post("/webhook")
    @operation(
        response=WebhookAck,
        summary="Telegram updates (X-Telegram-Bot-Api-Secret-Token required)",
        tag="telegram",
        errors=(MalformedBody, WrongSecret, BodyTooLarge, UpdateBusy),
    )
    async def webhook(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise MalformedBody("The body is not valid JSON") from None
        update = parse_update(data)
        if await bot.intake.accept(update, raw.decode()) == "busy":
            # Another replica holds it right now; Telegram will send it again later, when
            # it is either finished (then skipped) or abandoned (then taken over).
            raise UpdateBusy(f"update {update.update_id} is being handled elsewhere")
        return json_response(WebhookAck(ok=True))

    return table
