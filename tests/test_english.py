"""English: a patient whose Telegram speaks English is answered in English everywhere:
the bot, the messages the dispatcher sends, the calendar file, the API's problem details
and day names. Anyone else, and anyone unknown, gets Russian."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import icalendar
import pytest
from aiohttp.test_utils import TestClient

from clinic import texts
from clinic.app import create_app
from clinic.telegram.models import TelegramUser
from tests.conftest import BOT_TOKEN, Clock, auth, make_settings
from tests.fakes.bot_api import FakeBotApi
from tests.test_bot import Bot, callback_update, message_update, sender
from tests.test_patient_self_service import workday
from tests.test_reminders_dispatch import eventually

PATIENT = 279058397


def english(user_id: int = PATIENT, **extra: Any) -> dict[str, Any]:
    return sender(user_id, first_name="Mary", language_code="en", **extra)


def initdata_of(user_id: int, language_code: str | None, clock: Clock) -> dict[str, str]:
    who = TelegramUser(id=user_id, first_name="Mary", language_code=language_code)
    return auth(who, clock=clock)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(BOT_TOKEN) as server:
        yield server


@pytest.fixture
async def bot(dsn: str, fake: FakeBotApi, aiohttp_client: Any) -> Bot:
    """The app in bot mode on the real clock, so the dispatcher sends as it would."""
    settings = make_settings(dsn, telegram_api_url=fake.url)
    app = create_app(settings, clock=lambda: datetime.now(UTC))
    client = await aiohttp_client(app)
    for _ in range(250):  # the start-up calls run in the background
        if fake.calls_to("setChatMenuButton"):
            break
        await asyncio.sleep(0.02)
    return Bot(client, app, fake)


async def volkov(conn: asyncpg.Connection) -> int:
    doctor: int = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    return doctor


async def test_the_bot_greets_lists_and_cancels_in_english(
    bot: Bot, conn: asyncpg.Connection
) -> None:
    await bot.post(message_update("/start", user=english()))
    [greeting] = bot.fake.sent_messages(PATIENT)
    assert greeting["text"].startswith("Hello, Mary!")  # as the chat shows it
    labels = [b["text"] for row in greeting["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [texts.EN("btn.my_bookings"), texts.EN("btn.book"), texts.EN("btn.about")]
    assert (
        await conn.fetchval("SELECT language_code FROM users WHERE telegram_id = $1", PATIENT)
        == "en"
    )

    booked = await bot.client.post(
        "/api/bookings",
        json={"doctor_id": await volkov(conn), "date": workday(3), "time": "10:00"},
        headers=initdata_of(PATIENT, "en", Clock(datetime.now(UTC))),
    )
    assert booked.status == 201, await booked.text()
    booking = (await booked.json())["id"]

    update = callback_update("v1:bookings", message_id=greeting["message_id"])
    update["callback_query"]["from"] = english()
    await bot.post(update)
    shown = bot.fake.message(PATIENT, greeting["message_id"])
    assert shown is not None and shown["text"] == "You have 1 upcoming booking."

    update = callback_update(f"v1:cancel:{booking}")
    update["callback_query"]["from"] = english()
    await bot.post(update)
    assert bot.answers()[-1]["text"].startswith("Cancel booking")
    update = callback_update(f"v1:cancel_yes:{booking}")
    update["callback_query"]["from"] = english()
    await bot.post(update)
    assert bot.answers()[-1]["text"] == texts.EN("booking.cancelled_toast") == "Booking cancelled"


async def test_the_dispatcher_writes_to_each_patient_in_their_language(
    bot: Bot, conn: asyncpg.Connection
) -> None:
    doctor, clock = await volkov(conn), Clock(datetime.now(UTC))
    for who, code, at in ((1001, "en", "10:00"), (1002, "ru", "10:30"), (1003, None, "11:00")):
        response = await bot.client.post(
            "/api/bookings",
            json={"doctor_id": doctor, "date": workday(3), "time": at},
            headers=initdata_of(who, code, clock),
        )
        assert response.status == 201, await response.text()
    for who in (1001, 1002, 1003):
        await eventually(lambda who=who: bot.fake.sent_documents(who))
    [confirmation] = bot.fake.sent_messages(1001)
    assert confirmation["text"].startswith(texts.EN("reminder.confirmation_header"))
    assert " at 10:00\n" in confirmation["text"] and "Booking No. " in confirmation["text"]
    labels = [b["text"] for row in confirmation["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [texts.EN("btn.cancel"), texts.EN("btn.reschedule")]
    [document] = bot.fake.sent_documents(1001)
    assert document["caption"] == texts.EN("calendar.caption")
    calendar = icalendar.Calendar.from_ical(bot.fake.documents[(1001, document["message_id"])])
    [event] = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert str(event["SUMMARY"]).startswith("Visit: ")
    for who in (1002, 1003):  # Russian, and an unknown language
        [message] = bot.fake.sent_messages(who)
        assert message["text"].startswith(texts.RU("reminder.confirmation_header"))


async def test_english_commands_are_set_beside_the_default_ones(bot: Bot) -> None:
    calls = [c.params for c in bot.fake.calls_to("setMyCommands")]
    assert {c.get("language_code") for c in calls} == {None, "en"}
    assert bot.fake.commands_by_language["en"] == [
        {"command": "start", "description": texts.EN("bot.command_start")}
    ]
    assert bot.fake.commands[0]["description"] == texts.RU("bot.command_start")


async def test_problem_details_and_day_names_follow_the_callers_language(
    client: TestClient, clock: Clock, conn: asyncpg.Connection
) -> None:
    doctor = await volkov(conn)
    body = {"doctor_id": doctor, "date": workday(3), "time": "10:00"}
    assert (
        await client.post("/api/bookings", json=body, headers=auth(1001, clock=clock))
    ).status == 201
    taken = await client.post("/api/bookings", json=body, headers=initdata_of(1002, "en", clock))
    assert taken.status == 409
    assert (await taken.json())["detail"] == texts.EN("error.slot_taken")
    again = await client.post("/api/bookings", json=body, headers=initdata_of(1003, "ru", clock))
    assert (await again.json())["detail"] == texts.RU("error.slot_taken")

    # Without initData (a public route), Accept-Language decides.
    missing = await client.get("/api/doctors/999999/slots", headers={"Accept-Language": "en-GB"})
    assert missing.status == 404
    assert (await missing.json())["detail"] == "Doctor 999999 not found"
    week = await (
        await client.get(f"/api/doctors/{doctor}/slots", headers={"Accept-Language": "en"})
    ).json()
    assert [d["weekday_short"] for d in week["days"]] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    assert week["days"][0]["weekday"] == "Monday"
    russian = await (await client.get(f"/api/doctors/{doctor}/slots")).json()
    assert russian["days"][0]["weekday"] == "Понедельник"

    # A body that fails validation: pydantic's English, or the catalog's Russian.
    bad = {"doctor_id": doctor, "date": workday(3)}
    en = await client.post("/api/bookings", json=bad, headers=initdata_of(1004, "en", clock))
    ru = await client.post("/api/bookings", json=bad, headers=initdata_of(1005, "ru", clock))
    assert en.status == ru.status == 422
    assert (await en.json())["errors"] == [{"field": "time", "message": "Field required"}]
    assert (await ru.json())["errors"] == [
        {"field": "time", "message": texts.RU("validation.missing")}
    ]
