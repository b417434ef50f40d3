"""The bot through its webhook, fed real Telegram update JSON, answering a fake Bot API."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from clinic import keys, texts
from clinic.app import create_app
from tests.conftest import BOT_TOKEN, Clock, make_settings
from tests.fakes.bot_api import FakeBotApi

PATIENT = 279058397
_ids = itertools.count(10_000)


def sender(user_id: int = PATIENT, first_name: str = "Мария", **extra: Any) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, **extra}


def private_chat(user_id: int = PATIENT) -> dict[str, Any]:
    return {"id": user_id, "first_name": "Мария", "type": "private"}


def message_update(
    text: str | None, *, user: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    who = user or sender()
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "from": who,
        "chat": private_chat(who["id"]),
        "date": 1_796_000_000,
        **extra,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [
                {"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}
            ]
    return {"update_id": next(_ids), "message": message}


def callback_update(data: str, *, user_id: int = PATIENT, message_id: int = 1) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "from": sender(user_id),
            "message": {
                "message_id": message_id,
                "from": {
                    "id": 123456,
                    "is_bot": True,
                    "first_name": "Clinic",
                    "username": "clinic_bot",
                },
                "chat": private_chat(user_id),
                "date": 1_796_000_000,
                "text": "…",
            },
            "chat_instance": "-8931201123445",
            "data": data,
        },
    }


class Bot:
    """The app in bot mode, its test client and the fake Bot API it talks to."""

    def __init__(self, client: TestClient, app: web.Application, fake: FakeBotApi) -> None:
        self.client, self.app, self.fake = client, app, fake
        self.secret = app[keys.settings].webhook_secret_value()

    async def post(self, update: Any, *, secret: str | None = None) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret if secret is None else secret}
        response = await self.client.post("/telegram/webhook", json=update, headers=headers)
        await self.app[keys.bot].intake.drain(5)
        return response.status

    def texts_to(self, chat_id: int = PATIENT) -> list[str]:
        return [
            c.params["text"]
            for c in self.fake.calls_to("sendMessage")
            if c.params["chat_id"] == chat_id
        ]

    def answers(self) -> list[dict[str, Any]]:
        return [c.params for c in self.fake.calls_to("answerCallbackQuery")]


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(BOT_TOKEN) as server:
        yield server


@pytest.fixture
async def bot(dsn: str, fake: FakeBotApi, clock: Clock, aiohttp_client: Any) -> Bot:
    settings = make_settings(dsn, telegram_api_url=fake.url)
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    # The start-up calls run in the background; let them finish before the test counts.
    for _ in range(250):
        if fake.calls_to("setChatMenuButton"):
            break
        await asyncio.sleep(0.02)
    return Bot(client, app, fake)


async def book(
    conn: asyncpg.Connection, user_id: int, at: datetime, slug: str = "volkov-igor"
) -> int:
    await conn.execute(
        "INSERT INTO users (telegram_id, first_name) VALUES ($1, 'Мария') ON CONFLICT DO NOTHING",
        user_id,
    )
    booking_id: int = await conn.fetchval(
        "INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at)"
        " SELECT id, $2, $3::timestamptz, $3::timestamptz + interval '30 minutes'"
        " FROM doctors WHERE slug = $1 RETURNING id",
        slug,
        user_id,
        at,
    )
    return booking_id


THURSDAY_9 = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 09:00 Moscow
FRIDAY_14 = datetime(2026, 12, 4, 11, 30, tzinfo=UTC)  # 14:30 Moscow


async def test_start_registers_and_greets_with_the_menu(bot: Bot, conn: asyncpg.Connection) -> None:
    update = message_update(
        "/start", user=sender(language_code="ru", is_premium=True, username="maria")
    )
    assert await bot.post(update) == 200
    [call] = [c for c in bot.fake.calls_to("sendMessage") if c.params["chat_id"] == PATIENT]
    assert "Здравствуйте, <b>Мария</b>!" in call.params["text"]
    buttons = [b for row in call.params["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == [
        texts.RU("btn.my_bookings"),
        texts.RU("btn.book"),
        texts.RU("btn.about"),
    ]
    assert buttons[1]["web_app"] == {"url": "https://clinic.test/"}
    row = await conn.fetchrow(
        "SELECT first_name, username, is_premium FROM users WHERE telegram_id = $1", PATIENT
    )
    assert dict(row) == {"first_name": "Мария", "username": "maria", "is_premium": True}


async def test_html_in_a_name_arrives_escaped(bot: Bot) -> None:
    await bot.post(message_update("/start", user=sender(first_name="<b>Хакер</b> & Ко")))
    [text] = bot.texts_to()
    assert "&lt;b&gt;Хакер&lt;/b&gt; &amp; Ко" in text
    assert next(m["text"] for m in bot.fake.sent_messages(PATIENT)).startswith(
        "Здравствуйте, <b>Хакер</b> & Ко!"
    )


async def test_other_text_and_a_photo_point_to_the_menu(bot: Bot) -> None:
    await bot.post(message_update("сколько стоит приём?"))
    photo = [{"file_id": "AgAD", "file_unique_id": "AQAD", "width": 90, "height": 90}]
    await bot.post(message_update(None, photo=photo))
    assert bot.texts_to() == [texts.RU("bot.fallback"), texts.RU("bot.fallback")]


async def test_updates_the_bot_does_not_handle_are_acknowledged_and_ignored(
    bot: Bot, conn: asyncpg.Connection
) -> None:
    edited = message_update("/start")
    edited["edited_message"] = {**edited.pop("message"), "edit_date": 1_796_000_100}
    group = message_update("/start")
    group["message"]["chat"] = {"id": -1001234567890, "title": "Клиника", "type": "supergroup"}
    web_app = message_update(None, web_app_data={"data": "booked", "button_text": "Записаться"})
    reaction = {
        "update_id": next(_ids),
        "message_reaction": {
            "chat": private_chat(),
            "message_id": 5,
            "date": 1_796_000_000,
            "user": sender(),
            "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}],
        },
    }
    novel = {"update_id": next(_ids), "business_connection_v9": {"id": "x", "whatever": [1, 2]}}
    for update in (edited, group, web_app, reaction, novel):
        assert await bot.post(update) == 200
    assert bot.fake.calls_to("sendMessage") == []
    assert await conn.fetchval("SELECT count(*) FROM processed_updates") == 5


async def test_a_field_never_seen_before_does_not_stop_a_start(bot: Bot) -> None:
    update = message_update("/start")
    update["message"]["brand_new_field"] = {"nested": True}
    update["future_top_level"] = 1
    assert await bot.post(update) == 200
    assert len(bot.texts_to()) == 1


async def test_kicked_marks_the_user_blocked_and_member_clears_it(
    bot: Bot, conn: asyncpg.Connection
) -> None:
    await bot.post(message_update("/start"))

    def membership(status: str) -> dict[str, Any]:
        return {
            "update_id": next(_ids),
            "my_chat_member": {
                "chat": private_chat(),
                "from": sender(),
                "date": 1_796_000_000,
                "old_chat_member": {
                    "user": {"id": 123456, "is_bot": True, "first_name": "Clinic"},
                    "status": "member",
                },
                "new_chat_member": {
                    "user": {"id": 123456, "is_bot": True, "first_name": "Clinic"},
                    "status": status,
                    "until_date": 0,
                },
            },
        }

    await bot.post(membership("kicked"))
    assert await conn.fetchval(
        "SELECT blocked_at IS NOT NULL FROM users WHERE telegram_id = $1", PATIENT
    )
    await bot.post(membership("member"))
    assert not await conn.fetchval(
        "SELECT blocked_at IS NOT NULL FROM users WHERE telegram_id = $1", PATIENT
    )


async def test_about_and_back_to_the_menu(bot: Bot) -> None:
    await bot.post(callback_update("v1:about"))
    [edit] = [c.params for c in bot.fake.calls_to("editMessageText")]
    assert edit["text"] == texts.RU.about(bookable=True) and edit["message_id"] == 1
    labels = [b["text"] for row in edit["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [texts.RU("btn.menu"), texts.RU("btn.book")]
    await bot.post(callback_update("v1:menu"))
    assert "Здравствуйте" in bot.fake.calls_to("editMessageText")[-1].params["text"]
    assert len(bot.answers()) == 2


async def test_my_bookings_counts_and_lists_them(bot: Bot, conn: asyncpg.Connection) -> None:
    first = await book(conn, PATIENT, THURSDAY_9)
    second = await book(conn, PATIENT, FRIDAY_14, "ivanova-anna")
    await book(conn, 5555, FRIDAY_14)  # someone else's
    await bot.post(message_update("/start"))
    menu_id = bot.fake.sent_messages(PATIENT)[-1]["message_id"]
    await bot.post(callback_update("v1:bookings", message_id=menu_id))
    assert bot.fake.message(PATIENT, menu_id)["text"] == "У вас 2 предстоящие записи."
    await bot.post(callback_update("v1:list", message_id=menu_id))
    cards = bot.texts_to()[1:]
    assert len(cards) == 2
    assert "<b>03.12.2026</b> в <b>09:00</b>" in cards[0] and f"№ {first}" in cards[0]
    assert "Волков Игорь" in cards[0] and "Кардиология" in cards[0]
    assert "приходите за 10-15 минут" in cards[0]
    assert f"№ {second}" in cards[1]
    markup = bot.fake.calls_to("sendMessage")[1].params["reply_markup"]
    assert markup["inline_keyboard"][0][0]["callback_data"] == f"v1:cancel:{first}"


def markups(bot: Bot) -> list[Any]:
    return [c.params.get("reply_markup") for c in bot.fake.calls_to("editMessageReplyMarkup")]


def callbacks_of(markup: Any) -> list[str]:
    return [b.get("callback_data", "web_app") for row in markup["inline_keyboard"] for b in row]


async def test_cancelling_asks_first_then_cancels_and_never_rewrites_the_text(
    bot: Bot, conn: asyncpg.Connection
) -> None:
    booking = await book(conn, PATIENT, THURSDAY_9)
    await bot.post(callback_update(f"v1:cancel:{booking}"))
    assert "Отменить запись" in bot.answers()[-1]["text"]  # the question, as a notice
    assert callbacks_of(markups(bot)[-1]) == [f"v1:cancel_yes:{booking}", f"v1:cancel_no:{booking}"]
    assert await conn.fetchval("SELECT status FROM bookings WHERE id = $1", booking) == "confirmed"
    await bot.post(callback_update(f"v1:cancel_no:{booking}"))
    assert bot.answers()[-1].get("text") == texts.RU("booking.kept")
    assert callbacks_of(markups(bot)[-1]) == [f"v1:cancel:{booking}", "web_app"]
    await bot.post(callback_update(f"v1:cancel_yes:{booking}"))
    assert await conn.fetchval("SELECT status FROM bookings WHERE id = $1", booking) == "cancelled"
    assert bot.answers()[-1].get("text") == texts.RU("booking.cancelled_toast")
    assert markups(bot)[-1] is None  # the card keeps its text and loses its buttons
    assert bot.fake.calls_to("editMessageText") == []
    told = await conn.fetchval(
        "SELECT count(*) FROM notifications WHERE booking_id = $1 AND kind = 'cancelled'", booking
    )
    assert told == 1
    await bot.post(callback_update(f"v1:cancel:{booking}"))
    assert bot.answers()[-1].get("text") == texts.RU("booking.already_cancelled")


async def test_a_forged_callback_for_anothers_booking_changes_nothing(
    bot: Bot, conn: asyncpg.Connection
) -> None:
    victim = await book(conn, 5555, THURSDAY_9)
    for data in (f"v1:cancel:{victim}", f"v1:cancel_yes:{victim}"):
        await bot.post(callback_update(data))
    assert await conn.fetchval("SELECT status FROM bookings WHERE id = $1", victim) == "confirmed"
    assert [a.get("text") for a in bot.answers()] == [
        texts.RU("booking.not_found_chat"),
        texts.RU("booking.not_found_chat"),
    ]
    assert bot.fake.calls_to("editMessageText") == []
    assert bot.fake.calls_to("editMessageReplyMarkup") == []


@pytest.mark.parametrize(
    "data",
    ["", "v1:cancel:abc", "v1:cancel:-1", "v2:menu", "v1:drop_tables", "x" * 64, "v1:menu:1"],
)
async def test_garbage_callback_data_is_answered_and_ignored(bot: Bot, data: str) -> None:
    update = callback_update(data)
    if not data:
        del update["callback_query"]["data"]
    assert await bot.post(update) == 200
    assert [a.get("text") for a in bot.answers()] == [texts.RU("bot.unknown_button")]
    assert bot.fake.calls_to("editMessageText") == [] and bot.fake.calls_to("sendMessage") == []


async def test_a_repeated_update_is_processed_once(bot: Bot) -> None:
    update = message_update("/start")
    for _ in range(3):
        assert await bot.post(update) == 200
    assert len(bot.texts_to()) == 1


@pytest.mark.parametrize("secret", ["", "wrong", "x" * 64])
async def test_a_wrong_or_missing_secret_is_401_with_no_side_effect(
    bot: Bot, conn: asyncpg.Connection, secret: str
) -> None:
    before = len(bot.fake.calls)
    assert await bot.post(message_update("/start"), secret=secret) == 401
    assert len(bot.fake.calls) == before
    assert await conn.fetchval("SELECT count(*) FROM processed_updates") == 0


@pytest.mark.parametrize(
    "body", [b"{not json", b"[]", b'{"message": {}}', b'{"update_id": "7"}', b'{"update_id": -1}']
)
async def test_a_malformed_update_is_400_and_nothing_happens(
    bot: Bot, conn: asyncpg.Connection, body: bytes
) -> None:
    before = len(bot.fake.calls)
    response = await bot.client.post(
        "/telegram/webhook",
        data=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": bot.secret, "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert len(bot.fake.calls) == before
    assert await conn.fetchval("SELECT count(*) FROM processed_updates") == 0


async def test_start_and_stop_tell_telegram_and_the_admins(
    aiohttp_client: Any, dsn: str, fake: FakeBotApi, clock: Clock
) -> None:
    settings = make_settings(dsn, telegram_api_url=fake.url, admin_ids=[42, 43])
    client = await aiohttp_client(create_app(settings, clock=clock))
    for _ in range(100):
        if len([c for c in fake.calls_to("sendMessage")]) == 2:
            break
        await asyncio.sleep(0.02)
    [webhook] = [c.params for c in fake.calls_to("setWebhook")]
    assert webhook["url"] == "https://clinic.test/telegram/webhook"
    assert webhook["secret_token"] == settings.webhook_secret_value()
    assert set(webhook["allowed_updates"]) >= {"message", "callback_query", "my_chat_member"}
    assert fake.calls_to("setMyCommands")[0].params["commands"] == [
        {"command": "start", "description": "Главное меню"}
    ]
    assert (
        fake.calls_to("setChatMenuButton")[0].params["menu_button"]["web_app"]["url"]
        == "https://clinic.test/"
    )
    assert [(c.params["chat_id"], c.params["text"]) for c in fake.calls_to("sendMessage")] == [
        (42, "Бот запущен!"),
        (43, "Бот запущен!"),
    ]
    await client.close()
    assert [c.params["text"] for c in fake.calls_to("sendMessage")][-2:] == [
        "Бот остановлен!",
        "Бот остановлен!",
    ]


async def test_long_polling_processes_in_order_and_survives_a_5xx(
    aiohttp_client: Any, dsn: str, fake: FakeBotApi, clock: Clock
) -> None:
    fake.fail_next("getUpdates", 502)
    for n in range(3):
        fake.push_update(message_update(f"сообщение {n}"))
    fake.push_update(message_update("/start"))
    settings = make_settings(
        dsn, telegram_api_url=fake.url, public_url=None, miniapp_url="https://clinic.test/"
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    for _ in range(250):
        if len([c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == PATIENT]) == 4:
            break
        await asyncio.sleep(0.02)
    sent = [
        c.params["text"] for c in fake.calls_to("sendMessage") if c.params["chat_id"] == PATIENT
    ]
    assert sent[:3] == [texts.RU("bot.fallback")] * 3 and "Здравствуйте" in sent[3]
    assert fake.calls_to("deleteWebhook") and not fake.calls_to("setWebhook")
    assert next(c.status for c in fake.calls_to("getUpdates")) == 502
    await client.close()


async def test_a_repeat_while_another_replica_holds_it_is_acknowledged_not_handled(
    bot: Bot, conn: asyncpg.Connection
) -> None:
    """Another replica took it and has not finished: 200 (Telegram need not send it
    again: it is stored, and the sweep takes it over if that replica dies), not handled
    here."""
    update = message_update("/start")
    await conn.execute(
        "INSERT INTO processed_updates (update_id, payload, leased_until)"
        " VALUES ($1, $2::jsonb, now() + interval '1 minute')",
        update["update_id"],
        json.dumps(update),
    )
    assert await bot.post(update) == 200
    assert bot.texts_to() == []


async def test_five_concurrent_deliveries_of_one_update_are_200_and_handled_once(
    bot: Bot, conn: asyncpg.Connection
) -> None:
    update = message_update("/start")
    statuses = await asyncio.gather(*(bot.post(update) for _ in range(5)))
    assert statuses == [200] * 5
    await bot.app[keys.bot].intake.drain(5)
    assert len(bot.texts_to()) == 1
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM processed_updates WHERE update_id = $1 AND done_at IS NOT NULL",
            update["update_id"],
        )
        == 1
    )


async def test_an_update_a_dead_replica_left_unfinished_is_taken_over(
    bot: Bot, conn: asyncpg.Connection
) -> None:
    # Acknowledged by a replica that died before handling it: its lease has lapsed.
    orphan = message_update("/start")
    await conn.execute(
        "INSERT INTO processed_updates (update_id, payload, leased_until)"
        " VALUES ($1, $2::jsonb, now() - interval '1 second')",
        orphan["update_id"],
        json.dumps(orphan),
    )
    assert await bot.app[keys.bot].intake.sweep() == 1
    await bot.app[keys.bot].intake.drain(5)
    assert len(bot.texts_to()) == 1
    assert await conn.fetchval(
        "SELECT done_at IS NOT NULL FROM processed_updates WHERE update_id = $1",
        orphan["update_id"],
    )
    # Finished now: a late repeat from Telegram is acknowledged and skipped.
    assert await bot.post(orphan) == 200
    assert await bot.app[keys.bot].intake.sweep() == 0
    assert len(bot.texts_to()) == 1
