"""Demo mode: the bot's conversation at /demo/chat, driven like a person would."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from clinic import keys
from clinic.app import create_app
from tests.conftest import Clock, make_settings


async def demo_client(aiohttp_client: Any, dsn: str, clock: Clock) -> TestClient:
    settings = make_settings(dsn, bot_token=None, public_url=None, miniapp_url=None)
    return await aiohttp_client(create_app(settings, clock=clock))


async def settle(client: TestClient) -> list[dict[str, Any]]:
    await client.app[keys.bot].intake.drain(5)
    body = await (await client.get("/demo/chat/messages")).json()
    return list(body["messages"])


async def test_the_demo_chat_books_through_the_api_and_lists_it(
    dsn: str, clock: Clock, aiohttp_client: Any, conn: asyncpg.Connection
) -> None:
    client = await demo_client(aiohttp_client, dsn, clock)
    page = await client.get("/demo/chat")
    assert page.status == 200 and "Демо-чат" in await page.text()

    assert (await client.post("/demo/chat/send", json={"text": "/start"})).status == 200
    chat = await settle(client)
    assert [m["from_bot"] for m in chat] == [False, True]
    greeting = chat[1]
    assert "Здравствуйте" in greeting["text"]

    identity = await (await client.get("/api/demo/identity")).json()
    doctor = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    booked = await client.post(
        "/api/bookings",
        json={"doctor_id": doctor, "date": "2026-12-03", "time": "11:00"},
        headers={"Authorization": f"tma {identity['init_data']}"},
    )
    assert booked.status == 201
    number = (await booked.json())["id"]

    await client.post(
        "/demo/chat/press", json={"message_id": greeting["message_id"], "data": "v1:bookings"}
    )
    chat = await settle(client)
    assert chat[1]["text"].startswith("У вас 1 предстоящая запись")
    await client.post(
        "/demo/chat/press", json={"message_id": greeting["message_id"], "data": "v1:list"}
    )
    chat = await settle(client)
    assert (
        f"Запись № {number}" in chat[-1]["text"]
        and "<b>03.12.2026</b> в <b>11:00</b>" in chat[-1]["text"]
    )


async def test_demo_chat_input_is_validated(dsn: str, clock: Clock, aiohttp_client: Any) -> None:
    client = await demo_client(aiohttp_client, dsn, clock)
    for path, body in (
        ("/demo/chat/send", {"text": ""}),
        ("/demo/chat/send", {"text": "x" * 5000}),
        ("/demo/chat/press", {"message_id": 0, "data": "v1:menu"}),
        ("/demo/chat/press", {"message_id": 1, "data": "y" * 65}),
    ):
        response = await client.post(path, json=body)
        assert response.status == 422, body
    assert await settle(client) == []


async def test_no_demo_chat_with_a_bot_token(client: TestClient) -> None:
    assert (await client.get("/demo/chat")).status == 404
    assert (await client.post("/demo/chat/send", json={"text": "/start"})).status == 404
