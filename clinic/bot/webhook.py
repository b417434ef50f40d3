"""POST /webhook on /telegram: Telegram's calls, answered fast. The sub-application's
middleware has checked the secret token before this runs.

Every update with a valid update_id is acknowledged with 200, a repeat too: one already
handled is skipped, and one another replica holds right now is stored in PostgreSQL and
taken over by the sweep if that replica dies (bot/intake.py), so Telegram has nothing
to send again."""

from __future__ import annotations

import orjson
from aiohttp import web
from pydantic import BaseModel

from clinic.bot.intake import parse_update
from clinic.bot.lifecycle import Bot
from clinic.errors import BodyTooLarge, MalformedBody, WrongSecret
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
        errors=(MalformedBody, WrongSecret, BodyTooLarge),
    )
    async def webhook(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise MalformedBody("The body is not valid JSON") from None
        await bot.intake.accept(parse_update(data), raw.decode())
        return json_response(WebhookAck(ok=True))

    return table
