"""Moving a booking and the waitlist in the MiniApp, in headless Chromium, against the
real app on a real database.

Pages open as Telegram opens them (see test_miniapp.py, whose fixtures and helpers this
module shares), or in a plain browser in demo mode. The app's clock stands at Wednesday
2 December 2026, 10:17 Moscow time. Screenshots (390x844) go to tests/browser/artifacts/.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from clinic.app import create_app
from clinic.users.service import DEMO_USER
from tests.browser import test_miniapp as miniapp
from tests.browser.test_miniapp import (
    OTHER_PATIENT,
    PAGE_ERRORS,
    PATIENT,
    SLOT_TAKEN,
    base_url,
    book_over_http,
    doctor_of,
    fits_360,
    main_button,
    open_page,
    shot,
    signed_init_data,
    telegram_events,
    telegram_sends,
    telegram_url,
)
from tests.conftest import Clock, auth, make_settings

# The fixtures of test_miniapp.py, shared by name.
browser = miniapp.browser
page = miniapp.page
server = miniapp.server

CLINIC_PHONE = "+7 (495) 000-00-00"


async def at_path(page: Page, path: str) -> None:
    """Waits (bounded) until the page's route is `path`: routes change asynchronously."""
    await page.wait_for_url(lambda url: urlsplit(url).path == path)


async def api(
    server: TestServer, method: str, path: str, headers: dict[str, str], **kwargs: Any
) -> Any:
    async with aiohttp.ClientSession() as http:
        response = await http.request(
            method, f"{base_url(server)}{path}", headers=headers, **kwargs
        )
        body = None if response.status == 204 else await response.json()
        return response.status, body


# --- reschedule ----------------------------------------------------------------------


async def test_a_booking_moves_to_another_day_through_the_main_button(
    server: TestServer, page: Page, clock: Clock, conn: asyncpg.Connection
) -> None:
    neurologist = await doctor_of(conn, "sokolov-andrey")
    booked = await book_over_http(server, clock, PATIENT, neurologist["id"], "2026-12-03", "12:00")

    await page.goto(telegram_url(server, "/bookings", signed_init_data(PATIENT, clock)))
    card = page.get_by_test_id("booking").filter(has_text="03.12.2026 в 12:00")
    await expect(card.get_by_test_id("reschedule-booking")).to_be_visible()
    await shot(page, "self-01-bookings")
    await fits_360(page, "self-01-bookings")
    await card.get_by_role("link", name="Перенести запись 03.12.2026 в 12:00").click()

    await at_path(page, f"/bookings/{booked['id']}/reschedule")
    await expect(page.get_by_test_id("current-when")).to_contain_text("03.12.2026 в 12:00")
    days = page.get_by_test_id("day")
    # The booking's own day comes first; its own time is not offered as a new one.
    await expect(days.nth(3)).to_have_attribute("aria-pressed", "true")
    slots = page.get_by_test_id("slot")
    await expect(slots).to_have_count(23)
    await expect(slots.filter(has_text="12:00")).to_have_count(0)
    assert await main_button(page) in (None, {"is_visible": False})

    await page.get_by_role("button", name="Пятница, 4 декабря: 24 свободных окна").click()
    await slots.filter(has_text="09:30").click()
    button = await main_button(page)
    assert button["is_visible"] and button["is_active"]
    assert button["text"] == "Перенести на 04.12 в 09:30"
    await shot(page, "self-02-reschedule")
    await fits_360(page, "self-02-reschedule")

    await telegram_sends(page, "main_button_pressed")
    await expect(page.get_by_test_id("booking-done")).to_contain_text("Запись перенесена")
    await at_path(page, f"/bookings/{booked['id']}/moved")
    await expect(page.get_by_test_id("done-date")).to_contain_text("04.12.2026")
    await expect(page.get_by_test_id("done-time")).to_have_text("09:30")
    await expect(page.get_by_test_id("moved-from")).to_contain_text("03.12.2026 в 12:00")
    assert (await main_button(page))["is_visible"] is False
    haptics = await telegram_events(page, "web_app_trigger_haptic_feedback")
    assert {"type": "notification", "notification_type": "success"} in haptics
    await shot(page, "self-03-moved")

    rows = await conn.fetch("SELECT id, starts_at, status FROM bookings")
    assert [dict(row) for row in rows] == [
        {
            "id": booked["id"],
            "starts_at": datetime(2026, 12, 4, 6, 30, tzinfo=UTC),  # 09:30 in Moscow
            "status": "confirmed",
        }
    ]

    # Telegram's BackButton leads to the list, which shows the new time.
    await telegram_sends(page, "back_button_pressed")
    await expect(page.get_by_test_id("section-upcoming")).to_contain_text("04.12.2026 в 09:30")
    await at_path(page, "/bookings")


async def test_a_move_that_is_refused_says_why_and_changes_nothing(
    server: TestServer, page: Page, clock: Clock, conn: asyncpg.Connection
) -> None:
    cardiologist = await doctor_of(conn, "volkov-igor")
    soon = await book_over_http(server, clock, PATIENT, cardiologist["id"], "2026-12-02", "11:00")
    later = await book_over_http(server, clock, PATIENT, cardiologist["id"], "2026-12-03", "12:00")
    init_data = signed_init_data(PATIENT, clock)

    # Opened from the bot's "🔁 Перенести" 43 minutes before the visit: only by phone.
    await page.goto(telegram_url(server, f"/bookings/{soon['id']}/reschedule", init_data))
    await expect(page.get_by_test_id("current-when")).to_contain_text("02.12.2026 в 11:00")
    await page.get_by_role("button", name="Четверг, 3 декабря: 23 свободных окна").click()
    await page.get_by_test_id("slot").filter(has_text="15:00").click()
    await telegram_sends(page, "main_button_pressed")
    notice = page.get_by_test_id("notice")
    await expect(notice).to_contain_text("только по телефону")
    await expect(notice).to_contain_text(CLINIC_PHONE)
    await shot(page, "self-04-too-late")

    # Someone takes the chosen time while the patient looks at it.
    await page.goto(telegram_url(server, f"/bookings/{later['id']}/reschedule", init_data))
    slots = page.get_by_test_id("slot")
    await slots.filter(has_text="15:00").click()
    assert (await main_button(page))["text"] == "Перенести на 03.12 в 15:00"
    await book_over_http(server, clock, OTHER_PATIENT, cardiologist["id"], "2026-12-03", "15:00")
    await telegram_sends(page, "main_button_pressed")
    await expect(page.get_by_test_id("notice")).to_have_text(SLOT_TAKEN)
    await expect(slots.filter(has_text="15:00")).to_have_count(0)
    await expect(page.get_by_test_id("day").nth(3)).to_have_attribute("aria-pressed", "true")
    assert (await main_button(page))["is_visible"] is False

    mine = await conn.fetch(
        "SELECT id, starts_at FROM bookings WHERE user_id = $1 ORDER BY id", PATIENT
    )
    assert [(r["id"], r["starts_at"]) for r in mine] == [
        (soon["id"], datetime(2026, 12, 2, 8, 0, tzinfo=UTC)),
        (later["id"], datetime(2026, 12, 3, 9, 0, tzinfo=UTC)),
    ]


async def test_a_plain_browser_moves_with_its_own_button_and_reads_a_clinic_cancellation(
    aiohttp_server: Any, dsn: str, clock: Clock, browser: Browser, conn: asyncpg.Connection
) -> None:
    """Demo mode: no MainButton, a button on the page; the demo identity is also an admin,
    so the clinic's cancellation is made through the staff API."""
    demo = await aiohttp_server(create_app(make_settings(dsn, bot_token=None), clock=clock))
    dentist = await doctor_of(conn, "petrov-mikhail")
    _, identity = await api(demo, "GET", "/api/demo/identity", {})
    as_demo = {"Authorization": f"tma {identity['init_data']}"}
    status, booked = await api(
        demo,
        "POST",
        "/api/bookings",
        as_demo,
        json={"doctor_id": dentist["id"], "date": "2026-12-03", "time": "09:30"},
    )
    assert status == 201

    plain = await open_page(browser, in_telegram=False)
    await plain.goto(f"{base_url(demo)}/bookings/{booked['id']}/reschedule")
    confirm = plain.get_by_test_id("confirm-reschedule")
    await expect(confirm).to_have_text("Выберите новое время")
    await expect(confirm).to_be_disabled()
    await plain.get_by_test_id("slot").filter(has_text="10:00").click()
    await expect(confirm).to_have_text("Перенести на 03.12 в 10:00")
    await confirm.click()
    await expect(plain.get_by_test_id("booking-done")).to_contain_text("Запись перенесена")
    await expect(plain.get_by_test_id("done-time")).to_have_text("10:00")

    status, _ = await api(
        demo,
        "POST",
        f"/api/staff/bookings/{booked['id']}/cancel",
        as_demo,
        json={"reason": "Врач заболел"},
    )
    assert status == 200
    await plain.goto(f"{base_url(demo)}/bookings")
    cancelled = plain.get_by_test_id("section-cancelled").get_by_test_id("booking")
    await expect(cancelled).to_contain_text("03.12.2026 в 10:00")
    await expect(cancelled.get_by_test_id("clinic-cancelled")).to_have_text(
        "Отменена клиникой. Причина: Врач заболел"
    )
    await expect(plain.get_by_test_id("reschedule-booking")).to_have_count(0)
    await shot(plain, "self-05-clinic-cancelled")

    row = await conn.fetchrow("SELECT user_id, starts_at, status FROM bookings")
    assert dict(row) == {
        "user_id": DEMO_USER.id,
        "starts_at": datetime(2026, 12, 3, 7, 0, tzinfo=UTC),
        "status": "cancelled",
    }
    assert PAGE_ERRORS[plain] == []


# --- the waitlist ----------------------------------------------------------------------


async def test_a_full_day_offers_the_waitlist_and_my_bookings_lists_it(
    server: TestServer, page: Page, clock: Clock, conn: asyncpg.Connection
) -> None:
    ophthalmologist = await doctor_of(conn, "lebedeva-natalya")  # Mon, Wed, Fri 09:00-15:00
    doctor = ophthalmologist["id"]
    for n in range(12):  # every time of Friday 4 December, each by another patient
        at = f"{9 + n // 2:02d}:{30 * (n % 2):02d}"
        await book_over_http(server, clock, 3000 + n, doctor, "2026-12-04", at)
    # Five days waited for already: the most one patient may.
    for day in ("2026-12-07", "2026-12-09", "2026-12-11", "2026-12-14", "2026-12-16"):
        status, _ = await api(
            server,
            "POST",
            "/api/waitlist",
            auth(PATIENT, clock=clock),
            json={"doctor_id": doctor, "date": day},
        )
        assert status == 201

    await page.goto(telegram_url(server, f"/doctors/{doctor}", signed_init_data(PATIENT, clock)))
    days = page.get_by_test_id("day")
    await expect(days.nth(2)).to_have_attribute("aria-pressed", "true")  # today, times left
    # Tuesday, Thursday and Saturday are not hers: nothing to wait for there.
    for n in (1, 3, 5):
        await expect(days.nth(n)).to_be_disabled()
    friday = page.get_by_role("button", name="Пятница, 4 декабря: всё время занято")
    await expect(friday).to_be_enabled()
    await friday.click()
    full = page.get_by_test_id("day-full")
    await expect(full).to_contain_text("всё время занято")
    toggle = page.get_by_test_id("waitlist-toggle")
    await expect(toggle).to_have_text("Сообщить, если освободится")
    assert await main_button(page) in (None, {"is_visible": False})
    await shot(page, "self-06-day-full")
    await fits_360(page, "self-06-day-full")

    await toggle.click()
    await expect(page.get_by_test_id("waitlist-error")).to_contain_text("не больше 5 дней")
    await expect(toggle).to_have_attribute("aria-pressed", "false")

    # One given up elsewhere (the API), then the button works.
    _, entries = await api(server, "GET", "/api/waitlist", auth(PATIENT, clock=clock))
    status, _ = await api(
        server, "DELETE", f"/api/waitlist/{entries[-1]['id']}", auth(PATIENT, clock=clock)
    )
    assert status == 204
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await expect(toggle).to_have_text("Не сообщать")
    await expect(page.get_by_test_id("waitlist-on")).to_contain_text("Вы в листе ожидания")
    await expect(page.get_by_test_id("waitlist-error")).to_have_count(0)
    await shot(page, "self-07-waitlist-on")
    active = await conn.fetch(
        "SELECT doctor_id, day FROM waitlist WHERE user_id = $1 AND status = 'active' ORDER BY day",
        PATIENT,
    )
    assert (active[0]["doctor_id"], active[0]["day"].isoformat()) == (doctor, "2026-12-04")
    assert len(active) == 5

    # Opened again, the page knows the patient is waiting for that day.
    await page.reload()
    await friday.click()
    await expect(page.get_by_test_id("waitlist-toggle")).to_have_text("Не сообщать")

    await page.get_by_role("link", name="Мои записи").click()
    listed = page.get_by_test_id("section-waitlist").get_by_test_id("waitlist-entry")
    await expect(listed).to_have_count(5)
    await expect(listed.first).to_contain_text("Пт, 4 декабря")
    await expect(listed.first).to_contain_text(ophthalmologist["full_name"])
    await expect(page.get_by_test_id("empty-state")).to_have_count(0)
    await shot(page, "self-08-waitlist-listed")

    await listed.first.get_by_role("button", name="Не ждать время на Пт, 4 декабря").click()
    await expect(listed).to_have_count(4)
    await expect(page.get_by_test_id("notice")).to_contain_text("Больше не ждём время")
    left = await conn.fetchval(
        "SELECT count(*) FROM waitlist WHERE user_id = $1 AND status = 'active'"
        " AND day = '2026-12-04'",
        PATIENT,
    )
    assert left == 0
