"""Demo mode's chat, on /demo: /demo/chat shows the bot's conversation with the demo
patient and lets a person type /start and press the inline buttons. Each action becomes
a real Telegram update JSON fed to the same intake the webhook uses."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from clinic.bot.intake import parse_update
from clinic.bot.lifecycle import Bot
from clinic.telegram.outbox import DemoOutbox
from clinic.users.service import DEMO_USER
from clinic.web.io import read_model
from clinic.web.openapi import operation

log = logging.getLogger("clinic.demo")

PAGE = Path(__file__).with_name("demo_chat.html")
LONG_POLL = 20.0

_update_ids = itertools.count(int(time.time() * 1000))


class SendText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4096)


class PressButton(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_id: int = Field(ge=1)
    data: str = Field(min_length=1, max_length=64)


def _user() -> dict[str, Any]:
    return {"is_bot": False, **DEMO_USER.model_dump(exclude_none=True)}


def _chat() -> dict[str, Any]:
    return {"id": DEMO_USER.id, "type": "private", "first_name": DEMO_USER.first_name}


def routes(bot: Bot, outbox: DemoOutbox) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.get("/chat")
    @operation(summary="Demo mode only: the bot's chat page", tag="demo", content_type="text/html")
    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(PAGE, headers={"Cache-Control": "no-cache"})

    @table.get("/chat/messages")
    @operation(summary="Demo mode only: the conversation (long poll with ?since=)", tag="demo")
    async def messages(request: web.Request) -> web.Response:
        """The conversation; with ?since=V waits (up to 20 s) for something newer than V."""
        since = request.query.get("since", "")
        if since.isdigit() and int(since) >= outbox.version:
            async with outbox.changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        outbox.changed.wait_for(lambda: outbox.version > int(since)), LONG_POLL
                    )
        return web.json_response(
            {
                "version": outbox.version,
                "user": DEMO_USER.model_dump(),
                "messages": outbox.messages(DEMO_USER.id),
            }
        )

    @table.post("/chat/send")
    @operation(
        summary="Demo mode only: the demo patient writes to the bot", tag="demo", body=SendText
    )
    async def send(request: web.Request) -> web.Response:
        body = await read_model(request, SendText)
        message = {
            "message_id": outbox.next_message_id(),
            "from": _user(),
            "chat": _chat(),
            "date": int(time.time()),
            "text": body.text,
        }
        if body.text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(body.text.split()[0])}
            ]
        outbox.record(DEMO_USER.id, {**message, "from_bot": False})
        log.info("demo patient wrote %r", body.text)
        await _feed(bot, {"update_id": next(_update_ids), "message": message})
        return web.json_response({"ok": True})

    @table.post("/chat/press")
    @operation(
        summary="Demo mode only: the demo patient presses a button", tag="demo", body=PressButton
    )
    async def press(request: web.Request) -> web.Response:
        body = await read_model(request, PressButton)
        pressed = {"message_id": body.message_id, "chat": _chat(), "date": int(time.time())}
        update = {
            "update_id": next(_update_ids),
            "callback_query": {
                "id": str(next(_update_ids)),
                "from": _user(),
                "message": pressed,
                "chat_instance": "demo",
                "data": body.data,
            },
        }
        await _feed(bot, update)
        return web.json_response({"ok": True})

    return table


async def _feed(bot: Bot, update: dict[str, Any]) -> None:
    await bot.intake.accept(parse_update(update), orjson.dumps(update).decode())
