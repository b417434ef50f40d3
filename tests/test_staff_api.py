"""The staff side through /api/staff, on a real database: roles, the day, the desk,
attendance, the schedule, the audit log and the export.

The app's clock stands at Wednesday 2 December 2026, 10:17 Moscow time.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from clinic import texts
from clinic.app import create_app
from clinic.telegram.models import TelegramUser
from tests.conftest import BOT_TOKEN, Clock, auth, make_settings, user
from tests.fakes.bot_api import FakeBotApi
from tests.test_reminders_dispatch import eventually

ADMIN, RECEPTION, DOCTOR, OTHER_DOCTOR, PATIENT, CONFIGURED = 501, 502, 503, 504, 1001, 777
THURSDAY, FRIDAY, SATURDAY = "2026-12-03", "2026-12-04", "2026-12-05"


async def doctor_id(conn: asyncpg.Connection, slug: str = "volkov-igor") -> int:
    found: int = await conn.fetchval("SELECT id FROM doctors WHERE slug = $1", slug)
    return found


@pytest.fixture
async def staffed(conn: asyncpg.Connection) -> dict[str, int]:
    """Staff rows: an admin, a receptionist and two doctors (Volkov and Smirnova)."""
    volkov, smirnova = await doctor_id(conn), await doctor_id(conn, "smirnova-olga")
    await conn.execute(
        "INSERT INTO staff (telegram_id, role, doctor_id) VALUES"
        " ($1, 'admin', NULL), ($2, 'reception', NULL), ($3, 'doctor', $5), ($4, 'doctor', $6)",
        ADMIN,
        RECEPTION,
        DOCTOR,
        OTHER_DOCTOR,
        volkov,
        smirnova,
    )
    return {"volkov": volkov, "smirnova": smirnova}


@pytest.fixture
async def client(dsn: str, clock: Clock, aiohttp_client: Any) -> TestClient:
    settings = make_settings(dsn, admin_ids=[CONFIGURED])
    return await aiohttp_client(create_app(settings, clock=clock, worker=False))


def as_(who: int, clock: Clock) -> dict[str, str]:
    return auth(user(who, first_name=f"Сотрудник {who}"), clock=clock)


async def patient_booking(
    client: TestClient,
    clock: Clock,
    doctor: int,
    day: str,
    at: str,
    who: int | TelegramUser = PATIENT,
) -> dict[str, Any]:
    response = await client.post(
        "/api/bookings",
        json={"doctor_id": doctor, "date": day, "time": at},
        headers=auth(who, clock=clock),
    )
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json()
    assert body["code"] == code, body
    return body


# --- who may do what ---------------------------------------------------------------


ROUTES: list[tuple[str, str, Any, set[int]]] = [
    # method, path ({v}: Volkov's id), JSON body, who is allowed
    ("GET", "/api/staff/me", None, {ADMIN, RECEPTION, DOCTOR, CONFIGURED}),
    ("GET", "/api/staff/members", None, {ADMIN, CONFIGURED}),
    ("POST", "/api/staff/members", {"telegram_id": 909, "role": "reception"}, {ADMIN}),
    ("GET", "/api/staff/schedule?date=2026-12-03", None, {ADMIN, RECEPTION, DOCTOR}),
    ("GET", "/api/staff/doctors/{v}/hours", None, {ADMIN, RECEPTION}),
    ("GET", "/api/staff/doctors/{v}/time-off", None, {ADMIN, RECEPTION}),
    ("GET", "/api/staff/closures", None, {ADMIN}),
    ("GET", "/api/staff/actions", None, {ADMIN}),
    ("GET", "/api/staff/bookings.csv?from=2026-12-01&to=2026-12-31", None, {ADMIN, RECEPTION}),
    (
        "POST",
        "/api/staff/bookings",
        {"doctor_id": "{v}", "date": SATURDAY, "time": "{t}", "patient_name": "Петров"},
        {ADMIN, RECEPTION},
    ),
]


async def test_every_route_admits_its_roles_and_refuses_the_rest_with_403(
    client: TestClient, clock: Clock, staffed: dict[str, int]
) -> None:
    volkov = staffed["volkov"]
    everyone = [ADMIN, RECEPTION, DOCTOR, PATIENT]
    hours = iter(f"{h:02d}:00" for h in range(8, 20))
    for method, path, body, allowed in ROUTES:
        for who in everyone:
            json = None
            if body is not None:
                json = {
                    k: (volkov if v == "{v}" else next(hours) if v == "{t}" else v)
                    for k, v in body.items()
                }
            response = await client.request(
                method, path.replace("{v}", str(volkov)), json=json, headers=as_(who, clock)
            )
            if who in allowed:
                assert response.status < 300, (method, path, who, await response.text())
            else:
                await problem(response, 403, "forbidden")
        unauthenticated = await client.request(method, path.replace("{v}", str(volkov)))
        await problem(unauthenticated, 401, "init_data_missing")


async def test_me_says_who_and_which_doctor(
    client: TestClient, clock: Clock, staffed: dict[str, int]
) -> None:
    me = await (await client.get("/api/staff/me", headers=as_(DOCTOR, clock))).json()
    assert me == {
        "telegram_id": DOCTOR,
        "role": "doctor",
        "doctor_id": staffed["volkov"],
        "notify": True,
        "configured": False,
    }
    configured = await (await client.get("/api/staff/me", headers=as_(CONFIGURED, clock))).json()
    assert (configured["role"], configured["configured"]) == ("admin", True)


async def test_the_demo_identity_is_an_admin_in_demo_mode(
    dsn: str, clock: Clock, aiohttp_client: Any
) -> None:
    demo = await aiohttp_client(create_app(make_settings(dsn, bot_token=None), clock=clock))
    identity = await (await demo.get("/api/demo/identity")).json()
    headers = {"Authorization": f"tma {identity['init_data']}"}
    me = await (await demo.get("/api/staff/me", headers=headers)).json()
    assert me["role"] == "admin" and me["telegram_id"] == identity["user"]["id"]


# --- members --------------------------------------------------------------------------


async def test_admins_manage_members_and_every_change_is_audited(
    client: TestClient, clock: Clock, staffed: dict[str, int], conn: asyncpg.Connection
) -> None:
    admin = as_(ADMIN, clock)
    added = await client.post(
        "/api/staff/members",
        json={"telegram_id": 601, "role": "doctor", "doctor_id": staffed["smirnova"]},
        headers=admin,
    )
    await problem(added, 409, "doctor_taken")  # Smirnova already has her account
    orlov = await doctor_id(conn, "orlov-kirill")
    added = await client.post(
        "/api/staff/members",
        json={"telegram_id": 601, "role": "doctor", "doctor_id": orlov},
        headers=admin,
    )
    assert added.status == 201
    changed = await client.post(
        "/api/staff/members", json={"telegram_id": 601, "role": "reception"}, headers=admin
    )
    assert changed.status == 200 and (await changed.json())["doctor_id"] is None
    for bad in (
        {"telegram_id": 602, "role": "doctor"},
        {"telegram_id": 602, "role": "reception", "doctor_id": orlov},
        {"telegram_id": 602, "role": "boss"},
        {"telegram_id": -1, "role": "admin"},
        {"telegram_id": 602, "role": "admin", "extra": 1},
    ):
        await problem(
            await client.post("/api/staff/members", json=bad, headers=admin),
            422,
            "validation_error",
        )
    missing = await client.post(
        "/api/staff/members",
        json={"telegram_id": 602, "role": "doctor", "doctor_id": 99999},
        headers=admin,
    )
    await problem(missing, 404, "not_found")

    members = await (await client.get("/api/staff/members", headers=admin)).json()
    assert [(m["telegram_id"], m["role"]) for m in members] == [
        (ADMIN, "admin"),
        (RECEPTION, "reception"),
        (601, "reception"),
        (DOCTOR, "doctor"),
        (OTHER_DOCTOR, "doctor"),
        (CONFIGURED, "admin"),
    ]
    assert (await client.delete("/api/staff/members/601", headers=admin)).status == 204
    await problem(await client.delete("/api/staff/members/601", headers=admin), 404, "not_found")
    await problem(
        await client.delete(f"/api/staff/members/{CONFIGURED}", headers=admin), 409, "conflict"
    )

    log = await (await client.get("/api/staff/actions", headers=admin)).json()
    assert [(a["action"], a["subject"], a["actor"]) for a in log] == [
        ("member.remove", "staff:601", ADMIN),
        ("member.change", "staff:601", ADMIN),
        ("member.add", "staff:601", ADMIN),
    ]
    assert log[1]["before"]["role"] == "doctor" and log[1]["after"]["role"] == "reception"
    assert log[0]["after"] is None and log[0]["before"]["telegram_id"] == 601
    page = await (
        await client.get(f"/api/staff/actions?before={log[0]['id']}&limit=1", headers=admin)
    ).json()
    assert [a["id"] for a in page] == [log[1]["id"]]


# --- the day ---------------------------------------------------------------------------


async def test_the_day_shows_hours_days_off_and_bookings_with_their_patients(
    client: TestClient, clock: Clock, staffed: dict[str, int], conn: asyncpg.Connection
) -> None:
    volkov, smirnova = staffed["volkov"], staffed["smirnova"]
    anna = user(PATIENT, last_name="Соколова", username="anna_s")
    mine = await patient_booking(client, clock, volkov, THURSDAY, "09:00", who=anna)
    desk = await client.post(
        "/api/staff/bookings",
        json={
            "doctor_id": volkov,
            "date": THURSDAY,
            "time": "11:00",
            "patient_name": "Иван Петров",
            "phone": "+7 (916) 123-45-67",
        },
        headers=as_(RECEPTION, clock),
    )
    assert desk.status == 201
    await conn.execute(
        "INSERT INTO time_off (doctor_id, date_from, date_to, reason) VALUES ($1, $2, $2, 'курсы')",
        smirnova,
        datetime(2026, 12, 3).date(),
    )

    day = await (
        await client.get(f"/api/staff/schedule?date={THURSDAY}", headers=as_(ADMIN, clock))
    ).json()
    assert day["date"] == THURSDAY and day["closure"] is None
    assert len(day["doctors"]) == 20
    [v] = [d for d in day["doctors"] if d["doctor_id"] == volkov]
    assert v["hours"] is not None and v["time_off"] == []
    assert [(b["time"], b["source"], b["patient"]["name"]) for b in v["bookings"]] == [
        ("09:00", "patient", "Анна Соколова"),
        ("11:00", "staff", "Иван Петров"),
    ]
    first = v["bookings"][0]
    assert first["id"] == mine["id"] and first["patient"]["username"] == "anna_s"
    assert first["patient"]["telegram_id"] == PATIENT and first["patient_confirmed"] is False
    assert v["bookings"][1]["patient"] == {
        "telegram_id": None,
        "name": "Иван Петров",
        "username": None,
        "phone": "+7 (916) 123-45-67",
    }
    [s] = [d for d in day["doctors"] if d["doctor_id"] == smirnova]
    assert [t["reason"] for t in s["time_off"]] == ["курсы"]

    own = await (
        await client.get(f"/api/staff/schedule?date={THURSDAY}", headers=as_(DOCTOR, clock))
    ).json()
    assert [d["doctor_id"] for d in own["doctors"]] == [volkov]
    other = await client.get(
        f"/api/staff/schedule?date={THURSDAY}&doctor_id={smirnova}", headers=as_(DOCTOR, clock)
    )
    await problem(other, 403, "forbidden")
    sunday = await (
        await client.get("/api/staff/schedule?date=2026-12-06", headers=as_(ADMIN, clock))
    ).json()
    assert all(d["hours"] is None for d in sunday["doctors"])
    for bad in ("date=2026-13-01", "date=tomorrow", "doctor_id=abc", "doctor_id=0"):
        await problem(
            await client.get(f"/api/staff/schedule?{bad}", headers=as_(ADMIN, clock)),
            422,
            "validation_error",
        )
    await problem(
        await client.get("/api/staff/schedule?doctor_id=99999", headers=as_(ADMIN, clock)),
        404,
        "not_found",
    )


# --- the desk ---------------------------------------------------------------------------


async def test_bookings_by_phone_follow_the_slot_rules_and_need_no_telegram(
    client: TestClient, clock: Clock, staffed: dict[str, int], conn: asyncpg.Connection
) -> None:
    volkov, smirnova = staffed["volkov"], staffed["smirnova"]
    desk = as_(RECEPTION, clock)

    async def by_phone(**fields: Any) -> Any:
        body = {"doctor_id": volkov, "date": THURSDAY, "time": "12:00", "patient_name": "Петров"}
        return await client.post("/api/staff/bookings", json={**body, **fields}, headers=desk)

    assert (await by_phone()).status == 201
    # Two patients without Telegram at the same hour with two doctors: nobody's conflict.
    assert (await by_phone(doctor_id=smirnova, patient_name="Сидорова")).status == 201
    await problem(await by_phone(patient_name="Другой"), 409, "slot_taken")
    await problem(await by_phone(time="12:15"), 422, "validation_error")
    await problem(await by_phone(date="2026-12-01"), 422, "validation_error")
    await problem(await by_phone(date="2026-12-06"), 422, "validation_error")  # Sunday
    await problem(await by_phone(telegram_id=424242), 422, "unknown_patient")
    for bad in (
        {"patient_name": ""},
        {"phone": "call me"},
        {"doctor_id": "x"},
        {"time": "9:00"},
        {"nickname": "x"},
    ):
        await problem(await by_phone(**bad), 422, "validation_error")
    await problem(await by_phone(doctor_id=99999), 404, "not_found")
    bad_json = await client.post(
        "/api/staff/bookings", data=b"{", headers={**desk, "Content-Type": "application/json"}
    )
    await problem(bad_json, 400, "malformed_body")

    # A patient known in Telegram: their booking, with their confirmation and reminders.
    await conn.execute("INSERT INTO users (telegram_id, first_name) VALUES ($1, 'Анна')", PATIENT)
    known = await by_phone(time="15:00", telegram_id=PATIENT, patient_name="Анна")
    assert known.status == 201
    booking = await known.json()
    assert booking["patient"]["telegram_id"] == PATIENT and booking["source"] == "staff"
    # (The confirmation is due at the database's now, the reminders on the app's clock,
    # which these tests hold still: so the kinds, not their order.)
    kinds = await conn.fetch(
        "SELECT kind, chat_id FROM notifications WHERE booking_id = $1 AND chat_id = $2",
        booking["id"],
        PATIENT,
    )
    assert sorted((r["kind"], r["chat_id"]) for r in kinds) == [
        ("24h", PATIENT),
        ("30m", PATIENT),
        ("6h", PATIENT),
        ("confirmation", PATIENT),
    ]
    mine = await (await client.get("/api/bookings", headers=auth(PATIENT, clock=clock))).json()
    assert [b["id"] for b in mine] == [booking["id"]]
    # The patient's own overlap rule holds for a desk booking of theirs, too.
    await problem(
        await by_phone(doctor_id=smirnova, time="15:00", telegram_id=PATIENT), 409, "patient_busy"
    )
    actions = await conn.fetch("SELECT action, actor FROM staff_actions ORDER BY id")
    assert [(a["action"], a["actor"]) for a in actions] == [("booking.create", RECEPTION)] * 3


async def test_a_clinic_cancellation_frees_the_slot_and_tells_the_patient(
    client: TestClient, clock: Clock, staffed: dict[str, int], conn: asyncpg.Connection
) -> None:
    volkov = staffed["volkov"]
    booking = await patient_booking(client, clock, volkov, THURSDAY, "10:00")
    desk = as_(RECEPTION, clock)
    path = f"/api/staff/bookings/{booking['id']}/cancel"
    await problem(
        await client.post(path, json={"reason": ""}, headers=desk), 422, "validation_error"
    )
    await problem(await client.post(path, json={}, headers=desk), 422, "validation_error")
    cancelled = await client.post(path, json={"reason": "Врач заболел"}, headers=desk)
    assert cancelled.status == 200
    body = await cancelled.json()
    assert (body["status"], body["cancelled_by"], body["cancel_reason"]) == (
        "cancelled",
        "clinic",
        "Врач заболел",
    )
    await problem(
        await client.post(path, json={"reason": "ещё раз"}, headers=desk), 409, "booking_cancelled"
    )
    await problem(
        await client.post("/api/staff/bookings/999999/cancel", json={"reason": "x"}, headers=desk),
        404,
        "not_found",
    )
    rows = await conn.fetch(
        "SELECT kind, status FROM notifications WHERE booking_id = $1 AND chat_id = $2 ORDER BY id",
        booking["id"],
        PATIENT,
    )
    statuses = {r["kind"]: r["status"] for r in rows}
    # Reminders are planned on the database's clock, which is the real one, while this
    # app's is fixed: which of them were still ahead depends on when the test runs.
    assert statuses.pop("cancelled_by_clinic") == "pending"
    assert statuses.pop("confirmation") == "cancelled"
    assert set(statuses) <= {"24h", "6h", "30m"}
    assert set(statuses.values()) <= {"cancelled"}
    slots = await (await client.get(f"/api/doctors/{volkov}/slots?week_of={THURSDAY}")).json()
    assert "10:00" in slots["days"][3]["slots"]
    seen = await (await client.get("/api/bookings", headers=auth(PATIENT, clock=clock))).json()
    assert (seen[0]["status"], seen[0]["cancelled_by"]) == ("cancelled", "clinic")


async def test_the_patient_reads_the_clinics_cancellation_in_telegram(
    dsn: str, clock: Clock, aiohttp_client: Any, staffed: dict[str, int]
) -> None:
    async with FakeBotApi(BOT_TOKEN) as fake:
        settings = make_settings(dsn, telegram_api_url=fake.url)
        client = await aiohttp_client(create_app(settings, clock=clock))
        booking = await patient_booking(client, clock, staffed["volkov"], THURSDAY, "10:00")
        await eventually(lambda: fake.sent_messages(PATIENT))  # the confirmation
        cancelled = await client.post(
            f"/api/staff/bookings/{booking['id']}/cancel",
            json={"reason": "Врач <заболел>"},
            headers=as_(RECEPTION, clock),
        )
        assert cancelled.status == 200
        messages = await eventually(lambda: fake.sent_messages(PATIENT)[1:])
        [notice] = messages
        assert notice["text"].startswith(texts.RU("booking.clinic_cancelled_header"))
        assert f"Запись № {booking['id']}" in notice["text"] and "03.12.2026" in notice["text"]
        assert "Причина: Врач <заболел>" in notice["text"]  # escaped, or Telegram refuses it
        buttons = [b for row in notice["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons[0] == {
            "text": texts.RU("btn.book_again"),
            "web_app": {"url": "https://clinic.test/"},
        }
        await asyncio.sleep(0.3)
        assert len(fake.sent_messages(PATIENT)) == 2  # sent once


# --- attendance ---------------------------------------------------------------------------


async def test_attendance_follows_the_clock_and_a_doctor_marks_only_their_own(
    client: TestClient, clock: Clock, staffed: dict[str, int]
) -> None:
    volkov, smirnova = staffed["volkov"], staffed["smirnova"]
    booking = await patient_booking(client, clock, volkov, "2026-12-02", "12:00")
    theirs = await patient_booking(client, clock, smirnova, "2026-12-02", "13:00", who=1002)
    path = f"/api/staff/bookings/{booking['id']}/attendance"
    doctor = as_(DOCTOR, clock)
    await problem(
        await client.post(path, json={"attendance": "arrived"}, headers=doctor), 409, "too_early"
    )  # 10:17: more than an hour ahead
    clock.now = datetime(2026, 12, 2, 8, 5, tzinfo=UTC)  # 11:05 Moscow
    await problem(
        await client.post(path, json={"attendance": "no_show"}, headers=doctor), 409, "too_early"
    )
    arrived = await client.post(path, json={"attendance": "arrived"}, headers=doctor)
    assert arrived.status == 200 and (await arrived.json())["attendance"] == "arrived"
    other = f"/api/staff/bookings/{theirs['id']}/attendance"
    await problem(
        await client.post(other, json={"attendance": "arrived"}, headers=doctor), 403, "forbidden"
    )
    await problem(
        await client.post(path, json={"attendance": "late"}, headers=doctor),
        422,
        "validation_error",
    )
    clock.now = datetime(2026, 12, 2, 10, 5, tzinfo=UTC)  # 13:05: Smirnova's visit began
    no_show = await client.post(other, json={"attendance": "no_show"}, headers=as_(ADMIN, clock))
    assert (await no_show.json())["attendance"] == "no_show"
    log = await (await client.get("/api/staff/actions", headers=as_(ADMIN, clock))).json()
    assert [(a["action"], a["actor"]) for a in log] == [
        ("booking.attendance", ADMIN),
        ("booking.attendance", DOCTOR),
    ]
    assert log[1]["before"]["attendance"] is None and log[1]["after"]["attendance"] == "arrived"


# --- hours, days off, closures ------------------------------------------------------------


async def test_weekly_hours_change_the_slots_and_keep_the_bookings(
    client: TestClient, clock: Clock, staffed: dict[str, int]
) -> None:
    volkov = staffed["volkov"]
    desk = as_(RECEPTION, clock)
    path = f"/api/staff/doctors/{volkov}/hours"
    booked = await patient_booking(client, clock, volkov, FRIDAY, "18:00")
    default = await (await client.get(path, headers=desk)).json()
    assert default["own"] is False and len(default["days"]) == 6
    week = [
        {"weekday": 4, "starts": "09:00", "ends": "13:00"},
        {"weekday": 5, "starts": "14:00", "ends": "16:30"},
    ]
    changed = await client.put(path, json=week, headers=desk)
    assert changed.status == 200
    assert (await changed.json())["days"] == week and (await changed.json())["own"] is True
    slots = await (await client.get(f"/api/doctors/{volkov}/slots?week_of={FRIDAY}")).json()
    counts = [d["count"] for d in slots["days"]]
    assert counts == [0, 0, 0, 8, 5, 0]
    mine = await (await client.get("/api/bookings", headers=auth(PATIENT, clock=clock))).json()
    assert [(b["id"], b["status"]) for b in mine] == [(booked["id"], "confirmed")]
    for bad in (
        [{"weekday": 7, "starts": "09:00", "ends": "10:00"}],
        [{"weekday": 1, "starts": "10:00", "ends": "09:00"}],
        [{"weekday": 1, "starts": "09:15", "ends": "10:00"}],
        [{"weekday": 1, "starts": "9:00", "ends": "10:00"}],
        [{"weekday": 1, "starts": "09:00", "ends": "10:00"}] * 2,
    ):
        await problem(await client.put(path, json=bad, headers=desk), 422, "validation_error")
    await problem(await client.put(path, json={"weekday": 1}, headers=desk), 400, "malformed_body")
    back = await client.put(path, json=[], headers=desk)
    assert (await back.json())["own"] is False
    await problem(
        await client.get("/api/staff/doctors/99999/hours", headers=desk), 404, "not_found"
    )


async def test_days_off_refuse_to_hide_bookings_unless_asked_to_cancel_them(
    client: TestClient, clock: Clock, staffed: dict[str, int], conn: asyncpg.Connection
) -> None:
    volkov = staffed["volkov"]
    desk = as_(RECEPTION, clock)
    path = f"/api/staff/doctors/{volkov}/time-off"
    first = await patient_booking(client, clock, volkov, THURSDAY, "09:00")
    second = await patient_booking(client, clock, volkov, FRIDAY, "10:00", who=1002)
    await patient_booking(client, clock, volkov, SATURDAY, "10:00", who=1003)  # outside
    days = {"date_from": THURSDAY, "date_to": FRIDAY, "reason": "отпуск"}

    refused = await client.post(path, json=days, headers=desk)
    body = await problem(refused, 409, "bookings_affected")
    assert {b["patient"] for b in body["bookings"]} == {"Анна"}  # the Telegram names
    assert [(b["id"], b["date"], b["time"]) for b in body["bookings"]] == [
        (first["id"], THURSDAY, "09:00"),
        (second["id"], FRIDAY, "10:00"),
    ]
    assert await conn.fetchval("SELECT count(*) FROM time_off") == 0

    created = await client.post(path, json={**days, "cancel_bookings": True}, headers=desk)
    assert created.status == 201
    statuses = await conn.fetch(
        "SELECT id, status, cancelled_by, cancel_reason FROM bookings ORDER BY id"
    )
    assert [(r["status"], r["cancelled_by"], r["cancel_reason"]) for r in statuses] == [
        ("cancelled", "clinic", "отпуск"),
        ("cancelled", "clinic", "отпуск"),
        ("confirmed", None, None),
    ]
    told = await conn.fetch(
        "SELECT booking_id, chat_id FROM notifications WHERE kind = 'cancelled_by_clinic'"
        " ORDER BY booking_id"
    )
    assert [(r["booking_id"], r["chat_id"]) for r in told] == [
        (first["id"], PATIENT),
        (second["id"], 1002),
    ]

    slots = await (await client.get(f"/api/doctors/{volkov}/slots?week_of={THURSDAY}")).json()
    assert [d["count"] for d in slots["days"]][3:] == [0, 0, 23]
    assert [d["open"] for d in slots["days"]][3:] == [False, False, True]  # off, not full
    refused = await client.post(
        "/api/bookings",
        json={"doctor_id": volkov, "date": THURSDAY, "time": "12:00"},
        headers=auth(1004, clock=clock),
    )
    await problem(refused, 422, "doctor_unavailable")
    overlapping = await client.post(
        path,
        json={"date_from": FRIDAY, "date_to": SATURDAY, "cancel_bookings": True},
        headers=desk,
    )
    await problem(overlapping, 409, "time_off_overlap")
    assert (await conn.fetchval("SELECT status FROM bookings WHERE user_id = 1003")) == "confirmed"
    for bad in (
        {"date_from": FRIDAY, "date_to": THURSDAY},
        {"date_from": "2026-11-30", "date_to": THURSDAY},
        {"date_from": "2026-12-10", "date_to": "2028-01-01"},
        {"date_from": "soon", "date_to": THURSDAY},
        {"date_from": THURSDAY},
    ):
        await problem(await client.post(path, json=bad, headers=desk), 422, "validation_error")

    listed = await (await client.get(path, headers=desk)).json()
    [off] = listed
    assert (off["date_from"], off["date_to"], off["reason"]) == (THURSDAY, FRIDAY, "отпуск")
    assert (await client.delete(f"/api/staff/time-off/{off['id']}", headers=desk)).status == 204
    await problem(
        await client.delete(f"/api/staff/time-off/{off['id']}", headers=desk), 404, "not_found"
    )
    slots = await (await client.get(f"/api/doctors/{volkov}/slots?week_of={THURSDAY}")).json()
    assert [d["count"] for d in slots["days"]][3:] == [24, 24, 23]
    log = await (await client.get("/api/staff/actions", headers=as_(ADMIN, clock))).json()
    assert [a["action"] for a in log] == ["time_off.remove", "time_off.add"]
    assert log[1]["after"]["cancelled"] == [first["id"], second["id"]]


async def test_a_closure_covers_every_doctor_under_the_same_rule(
    client: TestClient, clock: Clock, staffed: dict[str, int], conn: asyncpg.Connection
) -> None:
    volkov, smirnova = staffed["volkov"], staffed["smirnova"]
    admin = as_(ADMIN, clock)
    one = await patient_booking(client, clock, volkov, FRIDAY, "09:00")
    two = await patient_booking(client, clock, smirnova, FRIDAY, "16:00", who=1002)
    closing = {"date": FRIDAY, "reason": "санитарный день"}
    body = await problem(
        await client.post("/api/staff/closures", json=closing, headers=admin),
        409,
        "bookings_affected",
    )
    assert sorted(b["id"] for b in body["bookings"]) == sorted([one["id"], two["id"]])
    await problem(
        await client.post("/api/staff/closures", json=closing, headers=as_(RECEPTION, clock)),
        403,
        "forbidden",
    )
    closed = await client.post(
        "/api/staff/closures", json={**closing, "cancel_bookings": True}, headers=admin
    )
    assert closed.status == 201
    assert await conn.fetchval("SELECT count(*) FROM bookings WHERE status = 'confirmed'") == 0
    await problem(
        await client.post("/api/staff/closures", json=closing, headers=admin), 409, "closure_exists"
    )
    for doctor in (volkov, smirnova):
        week = await (await client.get(f"/api/doctors/{doctor}/slots?week_of={FRIDAY}")).json()
        assert week["days"][4]["count"] == 0
    day = await (await client.get(f"/api/staff/schedule?date={FRIDAY}", headers=admin)).json()
    assert day["closure"]["reason"] == "санитарный день"
    [listed] = await (await client.get("/api/staff/closures", headers=admin)).json()
    assert (await client.delete(f"/api/staff/closures/{listed['id']}", headers=admin)).status == 204
    week = await (await client.get(f"/api/doctors/{volkov}/slots?week_of={FRIDAY}")).json()
    assert week["days"][4]["count"] == 24
    await problem(
        await client.post("/api/staff/closures", json={"date": "2026-12-01"}, headers=admin),
        422,
        "validation_error",
    )


async def test_a_time_off_and_racing_bookings_never_both_commit(
    dsn: str, clock: Clock, aiohttp_client: Any, staffed: dict[str, int], conn: asyncpg.Connection
) -> None:
    """A time off of a day posted while 50 patients book that day at once, five times
    over: whichever side wins each race, no confirmed booking lies inside a day off."""
    settings = make_settings(dsn, db_pool_min=4, db_pool_max=30)
    client = await aiohttp_client(create_app(settings, clock=clock, worker=False))
    volkov = staffed["volkov"]
    days = ["2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10", "2026-12-11"]
    grid = [f"{h:02d}:{m:02d}" for h in range(8, 20) for m in (0, 30)]
    outcomes: dict[int, int] = {}
    for round_, day in enumerate(days):

        async def book(n: int, day: str = day, round_: int = round_) -> int:
            response = await client.post(
                "/api/bookings",
                json={"doctor_id": volkov, "date": day, "time": grid[n % len(grid)]},
                headers=auth(20_000 + round_ * 100 + n, clock=clock),
            )
            return response.status

        async def time_off(day: str = day, round_: int = round_) -> int:
            await asyncio.sleep(0.005 * round_)  # each round the time off comes a bit later
            response = await client.post(
                f"/api/staff/doctors/{volkov}/time-off",
                json={"date_from": day, "date_to": day},
                headers=as_(RECEPTION, clock),
            )
            return response.status

        statuses = await asyncio.gather(time_off(), *(book(n) for n in range(50)))
        for status in statuses:
            outcomes[status] = outcomes.get(status, 0) + 1
        assert set(statuses[1:]) <= {201, 409, 422}, statuses
        assert statuses[0] in (201, 409), statuses
    inside = await conn.fetchval(
        "SELECT count(*) FROM bookings AS b JOIN time_off AS t ON t.doctor_id = b.doctor_id"
        " WHERE b.status = 'confirmed'"
        " AND (b.starts_at AT TIME ZONE 'Europe/Moscow')::date BETWEEN t.date_from AND t.date_to"
    )
    assert inside == 0, outcomes
    assert 500 not in outcomes and 503 not in outcomes


# --- the export ------------------------------------------------------------------------------


async def test_the_export_is_a_spreadsheet_of_the_days_bookings(
    client: TestClient, clock: Clock, staffed: dict[str, int]
) -> None:
    volkov = staffed["volkov"]
    await patient_booking(client, clock, volkov, THURSDAY, "09:00")
    await client.post(
        "/api/staff/bookings",
        json={
            "doctor_id": volkov,
            "date": FRIDAY,
            "time": "09:00",
            "patient_name": '=HYPERLINK("x")',
            "phone": "+7 916 000-00-00",
        },
        headers=as_(RECEPTION, clock),
    )
    response = await client.get(
        f"/api/staff/bookings.csv?from={THURSDAY}&to={FRIDAY}", headers=as_(RECEPTION, clock)
    )
    assert response.status == 200 and response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["id", "date", "time"]
    assert [(r[1], r[2], r[9]) for r in rows[1:]] == [
        (THURSDAY, "09:00", "patient"),
        (FRIDAY, "09:00", "staff"),
    ]
    assert rows[2][5] == '\'=HYPERLINK("x")' and rows[2][6] == "+7 916 000-00-00"
    assert "Волков" in rows[1][3]
    empty = await client.get(
        "/api/staff/bookings.csv?from=2027-01-01&to=2027-01-02", headers=as_(ADMIN, clock)
    )
    assert len((await empty.read()).decode("utf-8-sig").splitlines()) == 1
    for bad in ("from=2026-12-10&to=2026-12-01", "from=2026-01-01&to=2027-06-01", "from=x"):
        await problem(
            await client.get(f"/api/staff/bookings.csv?{bad}", headers=as_(ADMIN, clock)),
            422,
            "validation_error",
        )


async def test_staff_writes_leave_no_half_written_rows_on_conflict(
    client: TestClient, clock: Clock, staffed: dict[str, int], conn: asyncpg.Connection
) -> None:
    """A refused write writes nothing: no audit row, no time off, no cancelled booking."""
    volkov = staffed["volkov"]
    await patient_booking(client, clock, volkov, THURSDAY, "09:00")
    before = await conn.fetchval("SELECT count(*) FROM staff_actions")
    await client.post(
        f"/api/staff/doctors/{volkov}/time-off",
        json={"date_from": THURSDAY, "date_to": THURSDAY},
        headers=as_(RECEPTION, clock),
    )
    assert await conn.fetchval("SELECT count(*) FROM staff_actions") == before
    assert await conn.fetchval("SELECT count(*) FROM time_off") == 0
    assert await conn.fetchval("SELECT count(*) FROM bookings WHERE status = 'confirmed'") == 1
