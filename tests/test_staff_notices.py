"""The staff in Telegram: notices of new, cancelled and moved bookings through the job
table (exactly once with two worker processes), the switch that turns them off, and
/today and /tomorrow."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from clinic import keys, texts
from clinic.app import create_app
from tests.conftest import BOT_TOKEN, auth, make_settings, user
from tests.fakes.bot_api import FakeBotApi
from tests.test_patient_self_service import Live, workday
from tests.test_reminders_dispatch import eventually, wake
from tests.test_reminders_workers import Worker
from tests.test_reminders_workers import start_worker as start_worker  # the fixture

VOLKOV_DOCTOR, SMIRNOVA_DOCTOR, DESK, QUIET_DESK, ADMIN, CONFIGURED = 801, 802, 803, 804, 805, 806
_ids = itertools.count(70_000)


def notices(live: Live, chat: int) -> list[dict[str, Any]]:
    """The staff notices a chat got (the configured admin also hears the bot start)."""
    headers = (texts.RU("staff.new"), texts.RU("staff.cancelled"), texts.RU("staff.moved"))
    return [m for m in live.messages(chat) if m["text"].startswith(headers)]


async def add_staff(conn: asyncpg.Connection) -> dict[str, int]:
    volkov = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    smirnova = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'smirnova-olga'")
    await conn.execute(
        "INSERT INTO staff (telegram_id, role, doctor_id, notify) VALUES"
        " ($1, 'doctor', $6, true), ($2, 'doctor', $7, true), ($3, 'reception', NULL, true),"
        " ($4, 'reception', NULL, false), ($5, 'admin', NULL, true)",
        VOLKOV_DOCTOR,
        SMIRNOVA_DOCTOR,
        DESK,
        QUIET_DESK,
        ADMIN,
        volkov,
        smirnova,
    )
    return {"volkov": volkov, "smirnova": smirnova}


@pytest.fixture
async def live(dsn: str, aiohttp_client: Any) -> AsyncIterator[Live]:
    async with FakeBotApi(BOT_TOKEN) as fake:
        settings = make_settings(dsn, telegram_api_url=fake.url, admin_ids=[CONFIGURED])
        app = create_app(settings, clock=lambda: datetime.now(UTC))
        client = await aiohttp_client(app)
        yield Live(client, app, fake)


async def test_the_doctor_and_the_desk_hear_of_new_and_cancelled_bookings(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctors = await add_staff(conn)
    booking = await live.book(1001, doctors["volkov"], workday(3), "10:00")
    told = {VOLKOV_DOCTOR, DESK, ADMIN, CONFIGURED}
    for chat in told:
        [notice] = await eventually(lambda chat=chat: notices(live, chat))
        assert notice["text"].startswith(f"{texts.RU('staff.new')} № {booking['id']}")
        assert "Пациент 1001" in notice["text"] and "Волков" in notice["text"]
        assert "пациент сам" in notice["text"]
        [button] = notice["reply_markup"]["inline_keyboard"][0]
        assert button["web_app"]["url"].endswith(f"/staff?date={booking['date']}")
    await asyncio.sleep(0.3)
    for chat in (SMIRNOVA_DOCTOR, QUIET_DESK):
        assert notices(live, chat) == []

    cancel = await live.call(
        "POST",
        f"/api/staff/bookings/{booking['id']}/cancel",
        DESK,
        json={"reason": "врач на конференции"},
    )
    assert cancel.status == 200
    for chat in told - {DESK}:  # the one who cancelled is not told of it
        later = await eventually(lambda chat=chat: notices(live, chat)[1:])
        assert later[0]["text"].startswith(f"{texts.RU('staff.cancelled')} № {booking['id']}")
        assert "Отменена клиникой: врач на конференции" in later[0]["text"]
    await asyncio.sleep(0.3)
    assert len(notices(live, DESK)) == 1

    # A booking by phone, taken by the desk: the desk is not told of its own.
    phone = await live.call(
        "POST",
        "/api/staff/bookings",
        DESK,
        json={
            "doctor_id": doctors["smirnova"],
            "date": workday(3),
            "time": "12:00",
            "patient_name": "Иван Петров",
            "phone": "+7 916 000-11-22",
        },
    )
    assert phone.status == 201
    [notice] = await eventually(lambda: notices(live, SMIRNOVA_DOCTOR))
    assert "Иван Петров" in notice["text"] and "+7 916 000-11-22" in notice["text"]
    assert "регистратура" in notice["text"]
    await asyncio.sleep(0.3)
    assert len(notices(live, DESK)) == 1


async def test_a_member_turns_their_notices_off_and_on(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctors = await add_staff(conn)
    off = await live.call("POST", "/api/staff/me/notify", VOLKOV_DOCTOR, json={"notify": False})
    assert off.status == 200 and (await off.json())["notify"] is False
    configured = await live.call("POST", "/api/staff/me/notify", CONFIGURED, json={"notify": False})
    body = await configured.json()
    assert (body["role"], body["configured"], body["notify"]) == ("admin", True, False)
    for bad in ({}, {"notify": "maybe"}, {"notify": True, "x": 1}):
        response = await live.call("POST", "/api/staff/me/notify", ADMIN, json=bad)
        assert response.status == 422
    forbidden = await live.call("POST", "/api/staff/me/notify", 1001, json={"notify": False})
    assert forbidden.status == 403

    await live.book(1001, doctors["volkov"], workday(3), "10:00")
    await eventually(lambda: notices(live, ADMIN))
    await asyncio.sleep(0.3)
    assert notices(live, VOLKOV_DOCTOR) == [] and notices(live, CONFIGURED) == []
    on = await live.call("POST", "/api/staff/me/notify", VOLKOV_DOCTOR, json={"notify": True})
    assert (await on.json())["notify"] is True
    actions = await conn.fetch("SELECT actor, action FROM staff_actions ORDER BY id")
    assert [(a["actor"], a["action"]) for a in actions] == [
        (VOLKOV_DOCTOR, "member.notify"),
        (CONFIGURED, "member.notify"),
        (VOLKOV_DOCTOR, "member.notify"),
    ]


async def message(live: Live, who: int, text: str) -> None:
    update = {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "from": {"id": who, "is_bot": False, "first_name": f"Сотрудник {who}"},
            "chat": {"id": who, "type": "private"},
            "date": 1_796_000_000,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }
    response = await live.client.post(
        "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": live.secret}
    )
    assert response.status == 200
    await live.app[keys.bot].intake.drain(5)


async def test_today_lists_the_day_for_staff_and_is_the_menu_for_patients(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctors = await add_staff(conn)
    today = (datetime.now(UTC).astimezone(live.app[keys.settings].tz)).date()
    # Two visits today (whatever the hour: inserted straight), one confirmed by its patient.
    await conn.execute(
        "INSERT INTO users (telegram_id, first_name) VALUES (1001, 'Анна'), (1002, 'Борис')"
    )
    await conn.execute(
        "INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at, patient_confirmed_at)"
        " VALUES ($1, 1001, ($3::date + time '09:00') AT TIME ZONE 'Europe/Moscow',"
        "         ($3::date + time '09:30') AT TIME ZONE 'Europe/Moscow', now()),"
        "        ($2, 1002, ($3::date + time '11:00') AT TIME ZONE 'Europe/Moscow',"
        "         ($3::date + time '11:30') AT TIME ZONE 'Europe/Moscow', NULL)",
        doctors["volkov"],
        doctors["smirnova"],
        today,
    )
    await message(live, DESK, "/today")
    [listing] = await eventually(lambda: live.messages(DESK))
    assert f"{today:%d.%m.%Y}" in listing["text"]
    assert "✅ 09:00 Анна" in listing["text"] and "▫️ 11:00 Борис" in listing["text"]
    await message(live, VOLKOV_DOCTOR, "/today")
    [own] = await eventually(lambda: live.messages(VOLKOV_DOCTOR))
    assert "Анна" in own["text"] and "Борис" not in own["text"]
    await message(live, DESK, "/tomorrow")
    later = await eventually(lambda: live.messages(DESK)[1:])
    assert "Записей нет." in later[0]["text"]

    await message(live, 1001, "/today")
    [menu] = await eventually(lambda: live.messages(1001))
    assert "Здравствуйте" in menu["text"]


async def test_notices_go_out_exactly_once_with_two_worker_processes(
    dsn: str,
    conn: asyncpg.Connection,
    fake: FakeBotApi,
    start_worker: Callable[[], Awaitable[Worker]],
) -> None:
    """Thirty bookings through the API of a server with no dispatcher of its own, while
    two `clinic worker` processes share the job table: every staff notice once."""
    await add_staff(conn)
    workers = [await start_worker(), await start_worker()]
    settings = make_settings(dsn, telegram_api_url=fake.url, admin_ids=[CONFIGURED])
    app = create_app(settings, clock=lambda: datetime.now(UTC), worker=False)
    async with TestClient(TestServer(app)) as client:
        doctors = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM doctors WHERE id NOT IN (SELECT doctor_id FROM doctor_hours)"
                " ORDER BY id LIMIT 6"
            )
        ]
        day = workday(4)
        for n in range(30):
            body = {"doctor_id": doctors[n % 6], "date": day, "time": f"{8 + n // 6:02d}:00"}
            response = await client.post(
                "/api/bookings", json=body, headers=auth(user(9000 + n), clock=None)
            )
            assert response.status == 201, await response.text()
    await wake(conn)
    desk_told = await eventually(lambda: len(fake.sent_messages(DESK)) >= 30 or None, within=20)
    assert desk_told
    await asyncio.sleep(1.0)
    sent = [
        (c.params["chat_id"], c.params["text"].split("\n")[0])
        for c in fake.calls_to("sendMessage")
        if c.params["chat_id"] in (DESK, ADMIN, CONFIGURED, VOLKOV_DOCTOR, SMIRNOVA_DOCTOR)
        and c.params["text"].startswith(texts.RU("staff.new"))
    ]
    counts = Counter(sent)
    assert counts and set(counts.values()) == {1}, counts.most_common(3)
    for chat in (DESK, ADMIN, CONFIGURED):
        assert sum(1 for c, _ in sent if c == chat) == 30
    planned = await conn.fetchval(
        "SELECT count(*) FROM notifications WHERE kind = 'staff_new_booking' AND status = 'sent'"
    )
    assert planned == len(sent)
    for worker in workers:
        assert await worker.stop() == 0


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(BOT_TOKEN) as server:
        yield server
