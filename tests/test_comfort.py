"""Patients' comfort: quiet hours, reminder texts that tell the real lead time, reminders
overtaken after downtime, and the booking as a calendar file read back by a real
iCalendar parser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import icalendar
import pytest

from clinic import texts
from clinic.app import create_app
from clinic.booking.service import Calendar
from clinic.reminders import quiet as rules
from clinic.reminders.models import Quiet
from tests.conftest import BOT_TOKEN, make_settings
from tests.fakes.bot_api import FakeBotApi
from tests.test_patient_self_service import Live, workday
from tests.test_reminders_dispatch import eventually, wake

MOSCOW = ZoneInfo("Europe/Moscow")
NIGHT = Quiet(time(22), time(8), MOSCOW)


def at(day: str, hh_mm: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hh_mm), MOSCOW)


# --- planning around the night -----------------------------------------------------------


def test_a_reminder_at_night_moves_to_the_evening_before() -> None:
    # Booked on Tuesday morning for Thursday 09:00.
    planned = dict(rules.plan(at("2026-12-03", "09:00"), at("2026-12-01", "10:00"), NIGHT))
    assert planned["24h"] == at("2026-12-02", "09:00")
    assert planned["6h"] == at("2026-12-02", "21:45")  # was 03:00, inside the night
    assert planned["30m"] == at("2026-12-03", "08:30")  # allowed at night anyway
    # At noon the 6-hour one falls at 06:00: the evening before, 9 h after the 24-hour one.
    noon = dict(rules.plan(at("2026-12-03", "12:00"), at("2026-12-01", "10:00"), NIGHT))
    assert noon["6h"] == at("2026-12-02", "21:45")


def test_a_moved_reminder_too_close_to_another_message_is_dropped() -> None:
    # Booked at 21:00 for 09:00 the next morning: the 6-hour one would come at 21:45,
    # 45 minutes after the confirmation.
    planned = dict(rules.plan(at("2026-12-03", "09:00"), at("2026-12-02", "21:00"), NIGHT))
    assert "6h" not in planned and planned["30m"] == at("2026-12-03", "08:30")
    # A visit at 10:00 booked the day before at 20:00: the 24-hour one (10:00) is past, the
    # 6-hour one at 04:00 moves to 21:45: too close to the confirmation. Only 30 min is left.
    late = dict(rules.plan(at("2026-12-03", "10:00"), at("2026-12-02", "20:00"), NIGHT))
    assert late == {"30m": at("2026-12-03", "09:30")}


def test_reminders_already_past_on_the_callers_clock_are_not_planned() -> None:
    # Booked at 13:00 for 15:00 the same day, in the daytime: only the 30-minute one.
    assert rules.plan(at("2026-12-02", "15:00"), at("2026-12-02", "13:00"), None) == [
        ("30m", at("2026-12-02", "14:30"))
    ]
    # A quarter of an hour ahead: none at all (the confirmation still goes, planned apart).
    assert rules.plan(at("2026-12-02", "15:00"), at("2026-12-02", "14:45"), NIGHT) == []
    # With no quiet hours, every reminder keeps its exact offset.
    exact = dict(rules.plan(at("2026-12-03", "09:00"), at("2026-12-01", "10:00"), None))
    assert exact["6h"] == at("2026-12-03", "03:00")


def test_through_a_night_minute_by_minute_only_the_allowed_reach_a_patient() -> None:
    """A fake clock from 20:00 to 10:00: what the dispatcher does with each kind."""
    visit_soon, visit_later = at("2026-12-03", "07:00"), at("2026-12-03", "15:00")
    clock = at("2026-12-02", "20:00")
    seen: dict[str, set[str]] = {}
    while clock < at("2026-12-03", "10:00"):
        night = NIGHT.inside(clock)
        for kind, visit in (
            ("confirmation", visit_later),
            ("cancelled", visit_later),
            ("moved", visit_later),
            ("30m", visit_later),
            ("24h", at("2026-12-04", "12:00")),
            ("6h", at("2026-12-04", "12:00")),
            ("waitlist_offer", visit_later),
            ("cancelled_by_clinic", visit_soon),
            ("cancelled_by_clinic", visit_later + timedelta(days=1)),
            ("staff_new_booking", visit_later),
        ):
            verdict = rules.verdict(kind, starts_at=visit, now=clock, quiet=NIGHT)
            key = f"{kind}@{'night' if night else 'day'}"
            seen.setdefault(key, set()).add(verdict.action + ("/silent" if verdict.silent else ""))
            if verdict.action == "hold":
                assert night and verdict.until == NIGHT.ends_after(clock)
                assert verdict.until.astimezone(MOSCOW).time() == time(8)
        clock += timedelta(minutes=1)
    for kind in ("confirmation", "cancelled", "moved", "30m"):
        assert seen[f"{kind}@night"] == {"send"}
    assert seen["24h@night"] == seen["6h@night"] == seen["waitlist_offer@night"] == {"hold"}
    # One clinic cancellation is less than 12 hours away (sent), the other more (held).
    assert seen["cancelled_by_clinic@night"] == {"send", "hold"}
    assert seen["staff_new_booking@night"] == {"send/silent"}
    assert all(actions <= {"send"} for key, actions in seen.items() if key.endswith("@day"))


def test_a_reminder_overtaken_after_downtime_is_dropped_not_sent_late() -> None:
    visit = at("2026-12-03", "12:00")
    assert rules.verdict(
        "24h", starts_at=visit, now=at("2026-12-02", "13:00"), quiet=None
    ).action == ("send")
    late = rules.verdict("24h", starts_at=visit, now=at("2026-12-03", "06:30"), quiet=None)
    assert late.action == "drop" and "6h" in (late.reason or "")
    assert rules.verdict(
        "6h", starts_at=visit, now=at("2026-12-03", "11:45"), quiet=None
    ).action == ("drop")
    assert rules.verdict(
        "30m", starts_at=visit, now=at("2026-12-03", "11:45"), quiet=None
    ).action == ("send")


def test_the_text_tells_the_real_lead_time() -> None:
    visit = at("2026-12-03", "09:00")
    assert texts.RU.lead(visit, at("2026-12-02", "09:00"), MOSCOW) == "Приём завтра в 09:00."
    assert texts.RU.lead(visit, at("2026-12-02", "23:59"), MOSCOW) == "Приём завтра в 09:00."
    assert texts.RU.lead(visit, at("2026-12-03", "03:00"), MOSCOW) == "Приём сегодня в 09:00."
    assert (
        texts.RU.lead(visit, at("2026-12-03", "08:31"), MOSCOW) == "Приём через 29 минут, в 09:00."
    )
    assert (
        texts.RU.lead(visit, at("2026-12-03", "08:00"), MOSCOW) == "Приём через 60 минут, в 09:00."
    )
    assert (
        texts.RU.lead(visit, at("2026-12-03", "08:59"), MOSCOW) == "Приём через 1 минуту, в 09:00."
    )
    assert texts.RU.lead(visit, at("2026-11-30", "10:00"), MOSCOW) == "Приём 03.12 в 09:00."
    assert "через 24 часа" not in texts.RU.lead(visit, at("2026-12-02", "09:00"), MOSCOW)


# --- the dispatcher applies them -----------------------------------------------------------


@pytest.fixture
async def night(dsn: str, aiohttp_client: Any) -> AsyncIterator[Live]:
    """The app with quiet hours around the present moment (it is always night here)."""
    now = datetime.now(MOSCOW)
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=2)).time()
    quiet = f"{start:%H:%M}-{end:%H:%M}"
    async with FakeBotApi(BOT_TOKEN) as fake:
        settings = make_settings(dsn, telegram_api_url=fake.url, quiet_hours=quiet)
        app = create_app(settings, clock=lambda: datetime.now(UTC))
        yield Live(await aiohttp_client(app), app, fake)


async def test_at_night_the_confirmation_goes_and_an_offer_waits_for_the_morning(
    night: Live, conn: asyncpg.Connection
) -> None:
    doctor = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    await conn.execute("INSERT INTO staff (telegram_id, role) VALUES (8801, 'reception')")
    day = workday(3)
    booking = await night.book(1001, doctor, day, "10:00")
    await eventually(lambda: night.messages(1001))  # the answer to the patient's booking
    staff_notice = await eventually(lambda: night.fake.calls_to("sendMessage")[1:])
    [silent] = [c for c in staff_notice if c.params["chat_id"] == 8801]
    assert silent.params.get("disable_notification") is True
    await night.call("POST", "/api/waitlist", 1002, json={"doctor_id": doctor, "date": day})
    await night.call("POST", f"/api/bookings/{booking['id']}/cancel", 1001)
    offer = await eventually(
        lambda: conn.fetchrow(
            "SELECT status, due_at, last_error FROM notifications"
            " WHERE kind = 'waitlist_offer' AND attempts = 0 AND status = 'pending'"
            " AND due_at > now() + interval '30 minutes'"
        )
    )
    assert offer["last_error"] == rules.QUIET_HOURS
    assert night.messages(1002) == []


async def test_after_downtime_only_the_latest_reminder_goes(
    night: Live, conn: asyncpg.Connection
) -> None:
    """The dispatcher was down through the 24-hour and 6-hour reminders of a visit five
    hours away: the 24-hour one is dropped, the 6-hour one (the 30-minute rule's kin:
    still ahead of its next) waits for the quiet hours to end, none is sent late."""
    await conn.execute("INSERT INTO users (telegram_id, first_name) VALUES (1003, 'Вера')")
    booking = await conn.fetchval(
        "INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at)"
        " SELECT min(id), 1003, now() + interval '5 hours', now() + interval '330 minutes'"
        " FROM doctors RETURNING id"
    )
    await conn.execute(
        "INSERT INTO notifications (booking_id, chat_id, kind, due_at) VALUES"
        " ($1, 1003, '24h', now() - interval '19 hours'),"
        " ($1, 1003, '6h', now() - interval '1 hour')",
        booking,
    )
    await wake(conn)
    dropped = await eventually(
        lambda: conn.fetchval(
            "SELECT last_error FROM notifications WHERE booking_id = $1 AND kind = '24h'"
            " AND status = 'cancelled'",
            booking,
        )
    )
    assert "overtaken" in dropped
    await asyncio.sleep(0.3)
    assert night.messages(1003) == []


# --- the calendar file ----------------------------------------------------------------------


def parse(raw: bytes) -> Any:
    calendar = icalendar.Calendar.from_ical(raw)
    [event] = [c for c in calendar.walk() if c.name == "VEVENT"]
    return calendar, event


async def test_the_booking_as_a_calendar_file_follows_its_changes(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctor = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    day, later = workday(3), workday(4)
    booking = await live.book(1001, doctor, day, "10:00")
    path = f"/api/bookings/{booking['id']}/calendar.ics"
    first = await live.call("GET", path, 1001)
    assert first.status == 200 and first.content_type == "text/calendar"
    assert "attachment" in first.headers["Content-Disposition"]
    calendar, event = parse(await first.read())
    assert str(event["UID"]) == f"booking-{booking['id']}@clinic.test"
    assert int(event["SEQUENCE"]) == 0 and str(event["STATUS"]) == "CONFIRMED"
    starts = event["DTSTART"].dt
    assert starts.tzinfo is not None and str(event["DTSTART"].params["TZID"]) == "Europe/Moscow"
    assert starts == at(day, "10:00") and event["DTEND"].dt == at(day, "10:30")
    assert "Садовая, 15" in str(event["LOCATION"]) and "Волков" in str(event["SUMMARY"])
    assert [c.name for c in calendar.walk() if c.name == "VTIMEZONE"] == ["VTIMEZONE"]

    await live.call(
        "POST",
        f"/api/bookings/{booking['id']}/reschedule",
        1001,
        json={"date": later, "time": "11:30"},
    )
    _, moved = parse(await (await live.call("GET", path, 1001)).read())
    assert str(moved["UID"]) == str(event["UID"]) and int(moved["SEQUENCE"]) == 1
    assert moved["DTSTART"].dt == at(later, "11:30")
    await live.call("POST", f"/api/bookings/{booking['id']}/cancel", 1001)
    _, cancelled = parse(await (await live.call("GET", path, 1001)).read())
    assert str(cancelled["STATUS"]) == "CANCELLED" and int(cancelled["SEQUENCE"]) == 2
    assert (await live.call("GET", path, 1002)).status == 404

    # The signed link in the booking works without initData (Telegram's downloadFile).
    [listed] = await (await live.call("GET", "/api/bookings", 1001)).json()
    link = listed["calendar_url"]
    assert link.startswith("/api/calendar/") and link.endswith(".ics")
    by_link = await live.client.get(link)
    assert by_link.status == 200 and b"STATUS:CANCELLED" in await by_link.read()
    forged = link.replace(f"/{booking['id']}-", f"/{booking['id'] + 1}-")
    assert (await live.client.get(forged)).status == 404
    assert (await live.client.get("/api/calendar/1-2-3-" + "0" * 32 + ".ics")).status == 404


async def test_the_confirmation_is_followed_by_the_calendar_file(
    live: Live, conn: asyncpg.Connection
) -> None:
    doctor = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    booking = await live.book(1001, doctor, workday(3), "10:00")
    [document] = await eventually(lambda: live.fake.sent_documents(1001))
    assert document["document"]["file_name"] == f"zapis-{booking['id']}.ics"
    assert document["caption"] == texts.RU("calendar.caption")
    _, event = parse(live.fake.documents[(1001, document["message_id"])])
    assert str(event["UID"]) == f"booking-{booking['id']}@clinic.test"
    [confirmation] = live.messages(1001)
    assert confirmation["message_id"] < document["message_id"]  # right after it


def test_a_calendar_link_expires_and_cannot_be_forged() -> None:
    links = Calendar(key=b"k" * 32)
    now = datetime(2026, 12, 2, 10, tzinfo=UTC)
    token = links.token(42, 1001, now)
    assert links.booking_of(token, now) == (42, 1001)
    assert links.booking_of(token, now + timedelta(days=8)) is None
    assert Calendar(key=b"other").booking_of(token, now) is None
    for bad in ("", "42-1001", "x-1-2-" + "0" * 32, token + "0", token.replace("1001", "1002")):
        assert links.booking_of(bad, now) is None


@pytest.fixture
async def live(dsn: str, aiohttp_client: Any) -> AsyncIterator[Live]:
    async with FakeBotApi(BOT_TOKEN) as fake:
        settings = make_settings(dsn, telegram_api_url=fake.url)
        app = create_app(settings, clock=lambda: datetime.now(UTC))
        yield Live(await aiohttp_client(app), app, fake)
