"""Patients beyond booking, on a real database and the fake Bot API: moving a booking,
the waitlist and its offers, the two-way 24-hour reminder, the limits, and one truth in
the chat (a cancelled or moved booking's older messages lose their buttons).

The app runs on the real clock here: reminders and offers are timed by the database's,
so the bookings lie in the real future (a weekday a few days ahead).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from clinic import keys, texts
from clinic.app import create_app
from tests.conftest import BOT_TOKEN, Clock, auth, make_settings, user
from tests.fakes.bot_api import FakeBotApi
from tests.test_reminders_dispatch import eventually, wake

MOSCOW_OFFSET = timedelta(hours=3)
_ids = itertools.count(50_000)


def workday(days_ahead: int) -> str:
    """A Monday-to-Saturday date at least `days_ahead` days from today, Moscow time."""
    day = (datetime.now(UTC) + MOSCOW_OFFSET).date() + timedelta(days=days_ahead)
    while day.isoweekday() == 7:
        day += timedelta(days=1)
    return day.isoformat()


class Live:
    """The app in bot mode on the real clock, its test client and the fake Bot API."""

    def __init__(self, client: TestClient, app: web.Application, fake: FakeBotApi) -> None:
        self.client, self.app, self.fake = client, app, fake
        self.clock = Clock(datetime.now(UTC))
        self.secret = app[keys.settings].webhook_secret_value()

    def headers(self, who: int) -> dict[str, str]:
        self.clock.now = datetime.now(UTC)
        return auth(user(who, first_name=f"Пациент {who}"), clock=self.clock)

    async def call(self, method: str, path: str, who: int, **kwargs: Any) -> Any:
        return await self.client.request(method, path, headers=self.headers(who), **kwargs)

    async def book(self, who: int, doctor: int, day: str, at: str) -> dict[str, Any]:
        response = await self.call(
            "POST", "/api/bookings", who, json={"doctor_id": doctor, "date": day, "time": at}
        )
        assert response.status == 201, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    async def press(self, who: int, data: str, message_id: int) -> dict[str, Any]:
        """The patient presses a button under one of the bot's messages in their chat."""
        update = {
            "update_id": next(_ids),
            "callback_query": {
                "id": str(next(_ids)),
                "from": {"id": who, "is_bot": False, "first_name": f"Пациент {who}"},
                "message": {
                    "message_id": message_id,
                    "chat": {"id": who, "type": "private"},
                    "date": 1_796_000_000,
                    "text": "…",
                },
                "chat_instance": "-1",
                "data": data,
            },
        }
        response = await self.client.post(
            "/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": self.secret},
        )
        assert response.status == 200
        await self.app[keys.bot].intake.drain(5)
        [answer] = [
            c.params
            for c in self.fake.calls_to("answerCallbackQuery")
            if c.params["callback_query_id"] == update["callback_query"]["id"]
        ]
        return answer

    def messages(self, chat: int) -> list[dict[str, Any]]:
        return self.fake.sent_messages(chat)

    def now_shown(self, chat: int, message_id: int) -> dict[str, Any]:
        """A message as the chat shows it now (after any edits)."""
        found = self.fake.message(chat, message_id)
        assert found is not None
        return found


def buttons(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b.get("callback_data") or "web_app" for row in rows for b in row]


@pytest.fixture
async def live(dsn: str, aiohttp_client: Any) -> AsyncIterator[Live]:
    async with FakeBotApi(BOT_TOKEN) as fake:
        settings = make_settings(dsn, telegram_api_url=fake.url, waitlist_fanout=3)
        app = create_app(settings, clock=lambda: datetime.now(UTC))
        client = await aiohttp_client(app)
        yield Live(client, app, fake)


async def doctor_id(conn: asyncpg.Connection, slug: str = "volkov-igor") -> int:
    found: int = await conn.fetchval("SELECT id FROM doctors WHERE slug = $1", slug)
    return found


async def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    assert body["code"] == code, body
    return body


# --- reschedule -----------------------------------------------------------------------


async def test_a_move_keeps_the_id_replans_reminders_and_tells_the_patient(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctor = await doctor_id(conn)
    day, later = workday(3), workday(4)
    booking = await live.book(1001, doctor, day, "10:00")
    confirmation = await eventually(lambda: live.messages(1001))
    moved = await live.call(
        "POST",
        f"/api/bookings/{booking['id']}/reschedule",
        1001,
        json={"date": later, "time": "15:30"},
    )
    assert moved.status == 200, await moved.text()
    body = await moved.json()
    assert (body["id"], body["date"], body["time"]) == (booking["id"], later, "15:30")
    assert body["revision"] == 1
    rows = await conn.fetch(
        "SELECT kind, status, due_at FROM notifications WHERE booking_id = $1 ORDER BY id",
        booking["id"],
    )
    pending = [(r["kind"], r["due_at"]) for r in rows if r["status"] == "pending"]
    starts = datetime.fromisoformat(body["starts_at"])
    assert ("24h", starts - timedelta(hours=24)) in pending
    assert {r["kind"] for r in rows if r["status"] == "cancelled"} >= {"24h", "6h", "30m"}

    notice = await eventually(lambda: live.messages(1001)[1:])
    assert (
        notice[0]["text"].startswith(texts.RU("booking.moved_header"))
        and "15:30" in notice[0]["text"]
    )
    assert buttons(notice[0]) == [f"v1:cancel:{booking['id']}", "web_app"]
    # The confirmation, about the old time, no longer carries buttons.
    await eventually(lambda: not buttons(live.now_shown(1001, confirmation[0]["message_id"])))
    assert live.now_shown(1001, confirmation[0]["message_id"])["text"] == confirmation[0]["text"]

    week = await (await live.client.get(f"/api/doctors/{doctor}/slots?week_of={day}")).json()
    [old_day] = [d for d in week["days"] if d["date"] == day]
    assert "10:00" in old_day["slots"]


async def test_a_move_into_a_taken_slot_changes_nothing(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctor, other = await doctor_id(conn), await doctor_id(conn, "smirnova-olga")
    day = workday(3)
    mine = await live.book(1001, doctor, day, "10:00")
    await live.book(1002, doctor, day, "11:00")
    await live.book(1001, other, day, "12:00")
    path = f"/api/bookings/{mine['id']}/reschedule"
    await problem(
        await live.call("POST", path, 1001, json={"date": day, "time": "11:00"}), 409, "slot_taken"
    )
    await problem(
        await live.call("POST", path, 1001, json={"date": day, "time": "12:00"}),
        409,
        "patient_busy",
    )
    for bad in (
        {"date": day, "time": "11:15"},
        {"date": "2020-01-01", "time": "10:00"},
        {"date": day},
        {"date": day, "time": "10:00", "doctor_id": 2},
    ):
        await problem(await live.call("POST", path, 1001, json=bad), 422, "validation_error")
    await problem(
        await live.call("POST", path, 1001, json={"date": day, "time": "10:00"}),
        422,
        "validation_error",
    )  # the same time
    await problem(
        await live.call("POST", path, 1002, json={"date": day, "time": "14:00"}), 404, "not_found"
    )
    row = await conn.fetchrow("SELECT starts_at, revision FROM bookings WHERE id = $1", mine["id"])
    assert row["revision"] == 0 and row["starts_at"] == datetime.fromisoformat(mine["starts_at"])


async def test_many_patients_moving_into_one_slot_one_wins(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctor = await doctor_id(conn)
    day = workday(5)
    movers = range(2001, 2013)
    hours = [f"{h:02d}:00" for h in range(8, 20)]
    booked = [await live.book(who, doctor, day, at) for who, at in zip(movers, hours, strict=False)]
    target = {"date": day, "time": "19:30"}

    async def move(who: int, booking: dict[str, Any]) -> int:
        path = f"/api/bookings/{booking['id']}/reschedule"
        return (await live.call("POST", path, who, json=target)).status

    results = await asyncio.gather(*(move(w, b) for w, b in zip(movers, booked, strict=True)))
    assert sorted(results) == [200] + [409] * (len(booked) - 1)
    at_target = await conn.fetchval(
        "SELECT count(*) FROM bookings WHERE status = 'confirmed' AND doctor_id = $1"
        " AND (starts_at AT TIME ZONE 'Europe/Moscow')::time = '19:30'",
        doctor,
    )
    assert at_target == 1
    assert await conn.fetchval("SELECT count(*) FROM bookings WHERE status = 'confirmed'") == 12


# --- limits -------------------------------------------------------------------------------


async def test_twenty_parallel_bookings_of_one_patient_never_pass_the_cap(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctors = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM doctors WHERE id NOT IN (SELECT doctor_id FROM doctor_hours)"
            " ORDER BY id"
        )
    ]
    day = workday(6)

    async def attempt(n: int) -> int:
        at = f"{8 + n // 2:02d}:{30 * (n % 2):02d}"  # twenty different half-hours
        body = {"doctor_id": doctors[n % len(doctors)], "date": day, "time": at}
        return (await live.call("POST", "/api/bookings", 3001, json=body)).status

    results = await asyncio.gather(*(attempt(n) for n in range(20)))
    assert sorted(results) == [201] * 5 + [409] * 15
    held = await conn.fetchval("SELECT count(*) FROM bookings WHERE user_id = 3001")
    assert held == 5
    refused = await live.call(
        "POST", "/api/bookings", 3001, json={"doctor_id": doctors[0], "date": day, "time": "19:00"}
    )
    body = await problem(refused, 409, "too_many_bookings")
    assert "+7 (495) 000-00-00" in body["detail"]


async def test_inside_the_cut_off_a_patient_calls_instead(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctor = await doctor_id(conn)
    booking = await live.book(1001, doctor, workday(3), "10:00")
    # Bring the visit within two hours (the cut-off) by moving it in the database.
    await conn.execute(
        "UPDATE bookings SET starts_at = now() + interval '90 minutes',"
        " ends_at = now() + interval '120 minutes' WHERE id = $1",
        booking["id"],
    )
    cancel = await live.call("POST", f"/api/bookings/{booking['id']}/cancel", 1001)
    body = await problem(cancel, 409, "too_late")
    assert "+7 (495) 000-00-00" in body["detail"]
    move = await live.call(
        "POST",
        f"/api/bookings/{booking['id']}/reschedule",
        1001,
        json={"date": workday(4), "time": "10:00"},
    )
    await problem(move, 409, "too_late")
    assert await conn.fetchval("SELECT status FROM bookings WHERE id = $1", booking["id"]) == (
        "confirmed"
    )
    # The bot's cancel button says the same, as an alert.
    answer = await live.press(1001, f"v1:cancel:{booking['id']}", 1)
    assert answer["show_alert"] is True and "+7 (495) 000-00-00" in answer["text"]


# --- the waitlist -----------------------------------------------------------------------


async def test_the_waitlist_takes_days_within_reason(live: Live, conn: asyncpg.Connection) -> None:
    doctor = await doctor_id(conn)
    days = [workday(n) for n in (2, 3, 4, 5, 6, 8)]
    days = sorted(set(days))
    joined = await live.call(
        "POST", "/api/waitlist", 1001, json={"doctor_id": doctor, "date": days[0]}
    )
    assert joined.status == 201
    entry = await joined.json()
    again = await live.call(
        "POST", "/api/waitlist", 1001, json={"doctor_id": doctor, "date": days[0]}
    )
    assert again.status == 200 and (await again.json())["id"] == entry["id"]
    for day in days[1:5]:
        response = await live.call(
            "POST", "/api/waitlist", 1001, json={"doctor_id": doctor, "date": day}
        )
        assert response.status == 201
    sixth = await live.call(
        "POST", "/api/waitlist", 1001, json={"doctor_id": doctor, "date": workday(12)}
    )
    await problem(sixth, 409, "too_many")
    listed = await (await live.call("GET", "/api/waitlist", 1001)).json()
    assert [e["date"] for e in listed] == days[:5] and listed[0]["doctor"].startswith("Волков")

    today = (datetime.now(UTC) + MOSCOW_OFFSET).date()
    sunday = today + timedelta(days=(6 - today.weekday()) % 7 or 7)
    for bad_day in (
        (today - timedelta(days=1)).isoformat(),
        (today + timedelta(days=90)).isoformat(),
        sunday.isoformat(),
    ):
        response = await live.call(
            "POST", "/api/waitlist", 1002, json={"doctor_id": doctor, "date": bad_day}
        )
        await problem(response, 422, "validation_error")
    await problem(
        await live.call("POST", "/api/waitlist", 1002, json={"doctor_id": 99999, "date": days[0]}),
        404,
        "not_found",
    )
    await problem(await live.call("DELETE", f"/api/waitlist/{entry['id']}", 1002), 404, "not_found")
    assert (await live.call("DELETE", f"/api/waitlist/{entry['id']}", 1001)).status == 204
    assert (await live.call("DELETE", f"/api/waitlist/{entry['id']}", 1001)).status == 204

    async def join(day_offset: int) -> int:
        body = {"doctor_id": doctor, "date": workday(20 + day_offset)}
        return (await live.call("POST", "/api/waitlist", 1003, json=body)).status

    results = await asyncio.gather(*(join(n) for n in range(10)))
    active = await conn.fetchval(
        "SELECT count(*) FROM waitlist WHERE user_id = 1003 AND status = 'active'"
    )
    assert active == 5 and results.count(201) == 5, results


async def test_a_freed_slot_goes_to_the_first_of_the_offered_to_tap(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctor = await doctor_id(conn)
    day = workday(3)
    freed = await live.book(1001, doctor, day, "10:00")
    waiting = [4001, 4002, 4003, 4004]
    for who in waiting:  # in this order: the oldest three are offered
        response = await live.call(
            "POST", "/api/waitlist", who, json={"doctor_id": doctor, "date": day}
        )
        assert response.status == 201
        await live.client.get("/healthz")  # distinct created_at
    assert (await live.call("POST", f"/api/bookings/{freed['id']}/cancel", 1001)).status == 200

    offers = {}
    for who in waiting[:3]:
        [message] = await eventually(lambda who=who: live.messages(who))
        assert message["text"].startswith(texts.RU("offer.header")) and "10:00" in message["text"]
        [data] = buttons(message)
        assert data.startswith("v1:take:")
        offers[who] = (data, message["message_id"])
    await asyncio.sleep(0.3)
    assert live.messages(4004) == []  # beyond the fanout

    answers = await asyncio.gather(
        *(live.press(who, data, message_id) for who, (data, message_id) in offers.items())
    )
    texts_seen = sorted(a.get("text") for a in answers)
    assert texts_seen == sorted(
        [texts.RU("offer.booked"), texts.RU("offer.taken"), texts.RU("offer.taken")]
    )
    taken = await conn.fetch(
        "SELECT user_id FROM bookings WHERE status = 'confirmed' AND doctor_id = $1", doctor
    )
    [winner] = [r["user_id"] for r in taken]
    assert winner in offers
    entries = {
        r["user_id"]: r["status"] for r in await conn.fetch("SELECT user_id, status FROM waitlist")
    }
    assert entries[winner] == "booked"
    assert [entries[w] for w in waiting if w != winner] == ["active"] * 3
    for who, (_, message_id) in offers.items():  # the offers keep their text, not the button
        assert buttons(live.now_shown(who, message_id)) == []
    # Someone else's offer: the sender is not whom it was offered to.
    stranger = await live.press(4004, offers[waiting[0]][0], 1)
    assert stranger["text"] == texts.RU("offer.gone")


async def test_a_day_off_does_not_offer_the_slots_it_closes(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctor = await doctor_id(conn)
    day = workday(3)
    await conn.execute("INSERT INTO staff (telegram_id, role) VALUES (9001, 'reception')")
    booking = await live.book(1001, doctor, day, "10:00")
    await live.call("POST", "/api/waitlist", 4001, json={"doctor_id": doctor, "date": day})
    response = await live.call(
        "POST",
        f"/api/staff/doctors/{doctor}/time-off",
        9001,
        json={"date_from": day, "date_to": day, "cancel_bookings": True},
    )
    assert response.status == 201
    assert await conn.fetchval("SELECT status FROM bookings WHERE id = $1", booking["id"]) == (
        "cancelled"
    )
    offered = await conn.fetchval(
        "SELECT count(*) FROM notifications WHERE kind = 'waitlist_offer'"
    )
    assert offered == 0


# --- the two-way reminder and one truth in the chat ---------------------------------


async def test_the_day_before_the_patient_says_they_will_come(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctor = await doctor_id(conn)
    booking = await live.book(1001, doctor, workday(3), "10:00")
    await eventually(lambda: live.messages(1001))
    await conn.execute(
        "UPDATE notifications SET due_at = now() WHERE booking_id = $1 AND kind = '24h'",
        booking["id"],
    )
    await wake(conn)
    [reminder] = await eventually(lambda: live.messages(1001)[1:])
    assert reminder["text"].startswith(texts.RU("reminder.header"))
    assert buttons(reminder) == [
        f"v1:come:{booking['id']}",
        f"v1:remind_cancel:{booking['id']}",
        "web_app",
    ]
    shown = reminder["message_id"]

    asked = await live.press(1001, f"v1:remind_cancel:{booking['id']}", shown)
    assert "Отменить запись" in asked["text"]
    assert buttons(live.now_shown(1001, shown)) == [
        f"v1:cancel_yes:{booking['id']}",
        f"v1:remind_keep:{booking['id']}",
    ]
    kept = await live.press(1001, f"v1:remind_keep:{booking['id']}", shown)
    assert kept["text"] == texts.RU("booking.kept")
    assert buttons(live.now_shown(1001, shown))[0] == f"v1:come:{booking['id']}"

    came = await live.press(1001, f"v1:come:{booking['id']}", shown)
    assert came["text"] == texts.RU("booking.come_toast")
    assert buttons(live.now_shown(1001, shown)) == [f"v1:cancel:{booking['id']}", "web_app"]
    assert live.now_shown(1001, shown)["text"] == reminder["text"]  # the text stays
    assert live.fake.calls_to("editMessageText") == []
    confirmed = await conn.fetchval(
        "SELECT patient_confirmed_at IS NOT NULL FROM bookings WHERE id = $1", booking["id"]
    )
    assert confirmed is True


async def test_a_cancellation_anywhere_tells_the_patient_and_strips_the_old_cards(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctor = await doctor_id(conn)
    booking = await live.book(1001, doctor, workday(3), "10:00")
    [confirmation] = await eventually(lambda: live.messages(1001))
    # "Мои записи" -> the list: a card of the booking, with its buttons.
    await live.press(1001, "v1:list", confirmation["message_id"])
    [card] = [m for m in live.messages(1001) if m["message_id"] != confirmation["message_id"]]
    assert buttons(card)[0] == f"v1:cancel:{booking['id']}"

    assert (await live.call("POST", f"/api/bookings/{booking['id']}/cancel", 1001)).status == 200
    notice = await eventually(
        lambda: [
            m for m in live.messages(1001) if m["text"].startswith(f"Запись № {booking['id']}")
        ]
    )
    assert "отменена" in notice[0]["text"]
    for old in (confirmation, card):
        await eventually(lambda old=old: not buttons(live.now_shown(1001, old["message_id"])))
        assert live.now_shown(1001, old["message_id"])["text"] == old["text"]
    # A stale button on the patient's own cancelled booking says what happened to it.
    stale = await live.press(1001, f"v1:cancel:{booking['id']}", card["message_id"])
    assert stale["text"] == texts.RU("booking.already_cancelled")
    # The menu under the notice opens in a new message; the notice stays.
    before = len(live.messages(1001))
    await live.press(1001, "v1:menu_new", notice[0]["message_id"])
    assert len(live.messages(1001)) == before + 1
    assert live.now_shown(1001, notice[0]["message_id"])["text"] == notice[0]["text"]


async def test_the_waitlist_routes_are_the_callers_own(live: Live) -> None:
    await problem(await live.client.get("/api/waitlist"), 401, "init_data_missing")
    empty = await (await live.call("GET", "/api/waitlist", 1001)).json()
    assert empty == []
    assert date.fromisoformat(workday(1)) > (datetime.now(UTC) + MOSCOW_OFFSET).date()
