"""The MiniApp's "Для персонала" section in headless Chromium, against the real app in
bot mode on a real database, with the fake Bot API on loopback standing in for Telegram:
what the clinic tells a patient is read off the fake, as the patient's chat would show it.

Pages open as Telegram opens them (see test_miniapp.py, whose helpers this module
shares). The app's clock stands at Wednesday 2 December 2026, 10:17 Moscow time.
Screenshots (390x844) go to tests/browser/artifacts/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Locator, Page, expect

from clinic.app import create_app
from clinic.web import initdata
from tests.browser import test_miniapp as miniapp
from tests.browser.test_miniapp import (
    PAGE_ERRORS,
    PATIENT,
    base_url,
    doctor_of,
    fits_360,
    main_button,
    open_page,
    shot,
    telegram_events,
    telegram_sends,
    telegram_url,
)
from tests.conftest import BOT_TOKEN, Clock, auth, make_settings, user
from tests.fakes.bot_api import FakeBotApi
from tests.test_reminders_dispatch import eventually

# The fixtures of test_miniapp.py, shared by name.
browser = miniapp.browser
page = miniapp.page

ADMIN = 7001  # in ADMIN_IDS
RECEPTION = 7002
DOCTOR = 7003  # Volkov's own account
ARRIVING, CANCELLED, OFF_DAY = 1101, 1102, 1103  # patients


@dataclass
class Clinic:
    server: TestServer
    fake: FakeBotApi
    clock: Clock
    volkov: asyncpg.Record
    smirnova: asyncpg.Record

    def url(self, path: str, who: int) -> str:
        init_data = initdata.sign(
            user(who, first_name=f"Сотрудник {who}"),
            bot_token=BOT_TOKEN,
            auth_date=int(self.clock().timestamp()),
        )
        return telegram_url(self.server, path, init_data)

    async def book(self, who: int, doctor: int, day: str, at: str, **names: Any) -> dict[str, Any]:
        headers = auth(user(who, **names), clock=self.clock)
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                f"{base_url(self.server)}/api/bookings",
                json={"doctor_id": doctor, "date": day, "time": at},
                headers=headers,
            )
            assert response.status == 201, await response.text()
            booked: dict[str, Any] = await response.json()
            return booked

    def told(self, chat: int, words: str) -> list[str]:
        return [m["text"] for m in self.fake.sent_messages(chat) if words in m["text"]]


@pytest.fixture
async def clinic(
    dsn: str, aiohttp_server: Any, clock: Clock, conn: asyncpg.Connection
) -> AsyncIterator[Clinic]:
    volkov = await doctor_of(conn, "volkov-igor")
    smirnova = await doctor_of(conn, "smirnova-olga")
    await conn.execute(
        "INSERT INTO staff (telegram_id, role, doctor_id) VALUES"
        " ($1, 'reception', NULL), ($2, 'doctor', $3)",
        RECEPTION,
        DOCTOR,
        volkov["id"],
    )
    async with FakeBotApi(BOT_TOKEN) as fake:
        settings = make_settings(dsn, telegram_api_url=fake.url, admin_ids=[ADMIN])
        server = await aiohttp_server(create_app(settings, clock=clock))
        yield Clinic(server, fake, clock, volkov, smirnova)
        await server.close()  # while the fake still answers the app's goodbye to its admins


async def at_path(page: Page, path: str) -> None:
    """Waits (bounded) until the page's route is `path`: routes change asynchronously."""
    await page.wait_for_url(lambda url: urlsplit(url).path == path)


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def booking_row(page: Page, booking_id: int) -> Locator:
    return page.locator(f'[data-testid="staff-booking"][data-booking-id="{booking_id}"]')


async def test_the_desk_runs_the_day_end_to_end(
    clinic: Clinic, page: Page, conn: asyncpg.Connection
) -> None:
    volkov, smirnova = clinic.volkov, clinic.smirnova
    arriving = await clinic.book(
        ARRIVING,
        volkov["id"],
        "2026-12-02",
        "11:00",
        first_name="Анна",
        last_name="Иванова",
        username="anna_ivanova",
    )
    cancelled = await clinic.book(
        CANCELLED, volkov["id"], "2026-12-02", "12:00", first_name="Борис"
    )
    off_day = await clinic.book(OFF_DAY, volkov["id"], "2026-12-03", "10:00", first_name="Вера")
    await clinic.book(PATIENT, smirnova["id"], "2026-12-02", "15:00", first_name="Галина")

    # --- the way in: a link in the header, for staff only --------------------------------
    await page.goto(clinic.url("/", ADMIN))
    await page.get_by_test_id("staff-link").click()
    await at_path(page, "/staff")
    await expect(page.get_by_test_id("day-title")).to_have_text("Среда, 2 декабря")
    await expect(page.get_by_test_id("day-summary")).to_have_text("3 записи")
    doctors = page.get_by_test_id("staff-doctor")
    await expect(doctors).to_have_count(2)
    volkov_card = doctors.filter(has_text=volkov["full_name"])
    await expect(volkov_card.get_by_test_id("staff-booking")).to_have_count(2)
    await expect(volkov_card).to_contain_text("08:00–20:00")
    await expect(page.get_by_test_id("quiet-doctors")).to_be_visible()
    assert (await telegram_events(page, "web_app_setup_back_button"))[-1] == {"is_visible": True}
    await shot(page, "staff-01-day")
    await fits_360(page, "staff-01-day")

    # --- the doctor filter ---------------------------------------------------------------
    await page.get_by_label("Врач", exact=True).select_option(label=volkov["full_name"])
    await expect(doctors).to_have_count(1)
    await expect(page.get_by_test_id("quiet-doctors")).to_have_count(0)
    await expect(page.get_by_test_id("day-summary")).to_have_text("2 записи")
    assert query_of(page)["doctor"] == [str(volkov["id"])]

    # --- a booking's sheet: the patient, then arrived ------------------------------------
    await booking_row(page, arriving["id"]).click()
    sheet = page.get_by_test_id("booking-sheet")
    await expect(sheet.get_by_test_id("sheet-patient")).to_have_text("Анна Иванова")
    await expect(sheet.get_by_test_id("sheet-username")).to_have_attribute(
        "href", "https://t.me/anna_ivanova"
    )
    await expect(sheet.get_by_test_id("sheet-phone")).to_have_count(0)  # she gave none
    await shot(page, "staff-02-sheet")
    await fits_360(page, "staff-02-sheet")
    await sheet.get_by_test_id("mark-arrived").click()
    await expect(sheet.get_by_test_id("sheet-done")).to_have_text("Отмечено: пациент пришёл")
    await expect(sheet.get_by_test_id("mark-arrived")).to_have_attribute("aria-pressed", "true")
    assert await conn.fetchval("SELECT attendance FROM bookings WHERE id = $1", arriving["id"]) == (
        "arrived"
    )
    # Telegram's BackButton closes the sheet first, and leaves the day where it was.
    await telegram_sends(page, "back_button_pressed")
    await expect(sheet).to_have_count(0)
    await at_path(page, "/staff")
    await expect(booking_row(page, arriving["id"])).to_contain_text("пришёл")
    await expect(page.get_by_test_id("day-summary")).to_have_text("2 записи · пришли 1")

    # --- a cancellation with a reason, which the patient reads in Telegram ---------------
    await booking_row(page, cancelled["id"]).click()
    await sheet.get_by_test_id("start-cancel").click()
    await sheet.get_by_label("Причина — её прочтёт пациент").fill("Врач заболел")
    await shot(page, "staff-03-cancel")
    await sheet.get_by_test_id("confirm-cancel").click()
    await expect(sheet.get_by_test_id("sheet-done")).to_contain_text("пациенту отправлено")
    await expect(sheet.get_by_test_id("sheet-cancelled")).to_have_text(
        "Отменена клиникой. Причина: Врач заболел"
    )
    row = await conn.fetchrow(
        "SELECT status, cancelled_by, cancel_reason FROM bookings WHERE id = $1", cancelled["id"]
    )
    assert dict(row) == {
        "status": "cancelled",
        "cancelled_by": "clinic",
        "cancel_reason": "Врач заболел",
    }
    [told] = await eventually(lambda: clinic.told(CANCELLED, "Причина: Врач заболел"))
    assert f"Запись № {cancelled['id']}" in told and "02.12.2026" in told
    await sheet.get_by_role("button", name="Закрыть").click()
    await expect(booking_row(page, cancelled["id"])).to_contain_text("отменена клиникой")

    # --- a day off that hits a booking: listed, then cancelled on confirmation -----------
    await page.get_by_test_id("staff-nav").get_by_role("link", name="Выходные").click()
    await at_path(page, "/staff/days-off")
    await page.get_by_label("Врач", exact=True).select_option(label=volkov["full_name"])
    await expect(page.get_by_test_id("days-off-empty")).to_be_visible()
    await page.get_by_label("С", exact=True).fill("2026-12-03")
    await expect(page.get_by_label("По", exact=True)).to_have_value("2026-12-03")
    await page.get_by_label("Причина").fill("Конференция")
    assert (await main_button(page))["text"] == "Добавить выходной 03.12"
    await telegram_sends(page, "main_button_pressed")
    affected = page.get_by_test_id("affected")
    listed = affected.get_by_test_id("affected-booking")
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text("03.12 в 10:00")
    await expect(listed).to_contain_text(f"запись № {off_day['id']}")
    assert await conn.fetchval("SELECT count(*) FROM time_off") == 0  # nothing written yet
    await shot(page, "staff-04-affected")
    await affected.get_by_role("button", name="Отменить их и сообщить пациентам").click()
    await expect(affected).to_have_count(0)
    await expect(page.get_by_test_id("days-off-message")).to_contain_text("Отменено: 1 запись")
    await expect(page.get_by_test_id("day-off")).to_contain_text("03.12.2026")
    await expect(page.get_by_test_id("day-off")).to_contain_text("Конференция")
    await shot(page, "staff-05-days-off")
    await fits_360(page, "staff-05-days-off")
    off = await conn.fetchrow("SELECT doctor_id, date_from, date_to, reason FROM time_off")
    assert (off["doctor_id"], off["date_from"].isoformat(), off["reason"]) == (
        volkov["id"],
        "2026-12-03",
        "Конференция",
    )
    assert await conn.fetchval(
        "SELECT cancelled_by FROM bookings WHERE id = $1 AND status = 'cancelled'", off_day["id"]
    ) == ("clinic")
    await eventually(lambda: clinic.told(OFF_DAY, "Причина: Конференция"))

    # --- a booking taken by phone ------------------------------------------------------------
    await page.get_by_test_id("staff-nav").get_by_role("link", name="Записать").click()
    # The page left has a "Врач" select too: pick on the new one, once it is there.
    await at_path(page, "/staff/book")
    await page.get_by_label("Врач", exact=True).select_option(label=volkov["full_name"])
    thursday = page.get_by_test_id("day").nth(3)
    await expect(thursday).to_be_disabled()  # the day off just added
    await page.get_by_role("button", name="Пятница, 4 декабря: 24 свободных окна").click()
    await page.get_by_test_id("slot").filter(has_text="09:30").click()
    assert await main_button(page) in (None, {"is_visible": False})  # no name yet
    await page.get_by_label("Имя пациента").fill("Пётр Сидоров")
    await page.get_by_label("Телефон").fill("+7 916 123-45-67")
    assert (await main_button(page))["text"] == "Записать на 04.12 в 09:30"
    await shot(page, "staff-06-phone-booking")
    await fits_360(page, "staff-06-phone-booking")
    await telegram_sends(page, "main_button_pressed")
    await expect(page.get_by_test_id("staff-booked-text")).to_have_text(
        "Пётр Сидоров · 04.12.2026 в 09:30"
    )
    await shot(page, "staff-07-phone-booked")
    by_phone = await conn.fetchrow(
        "SELECT id, user_id, doctor_id, starts_at, source, patient_name, phone FROM bookings"
        " WHERE source = 'staff'"
    )
    assert dict(by_phone) == {
        "id": by_phone["id"],
        "user_id": None,
        "doctor_id": volkov["id"],
        "starts_at": datetime(2026, 12, 4, 6, 30, tzinfo=UTC),
        "source": "staff",
        "patient_name": "Пётр Сидоров",
        "phone": "+7 916 123-45-67",
    }

    # The day it went into, with a tel: link to call the patient back.
    await page.get_by_role("link", name="Открыть день").click()
    await expect(page.get_by_test_id("day-title")).to_have_text("Пятница, 4 декабря")
    phoned = booking_row(page, by_phone["id"])
    await expect(phoned).to_contain_text("по телефону")
    await phoned.click()
    await expect(sheet.get_by_test_id("sheet-phone")).to_have_attribute("href", "tel:+79161234567")
    await sheet.get_by_role("button", name="Закрыть").click()

    # --- weekly hours ----------------------------------------------------------------------
    await page.get_by_test_id("staff-nav").get_by_role("link", name="Часы").click()
    await at_path(page, "/staff/hours")
    await page.get_by_label("Врач", exact=True).select_option(label=volkov["full_name"])
    await expect(page.get_by_test_id("hours-kind")).to_contain_text("график клиники")
    saturday = page.locator('[data-testid="hours-day"][data-weekday="6"]')
    await saturday.get_by_role("checkbox").uncheck()
    await page.get_by_label("Понедельник: начало").select_option("09:00")
    await page.get_by_label("Понедельник: конец").select_option("15:00")
    assert (await main_button(page))["text"] == "Сохранить часы"
    await shot(page, "staff-08-hours")
    await fits_360(page, "staff-08-hours")
    await telegram_sends(page, "main_button_pressed")
    await expect(page.get_by_test_id("hours-message")).to_contain_text("Часы сохранены")
    await expect(page.get_by_test_id("hours-kind")).to_contain_text("Свой график")
    hours = await conn.fetch(
        "SELECT weekday, starts::text, ends::text FROM doctor_hours WHERE doctor_id = $1"
        " ORDER BY weekday",
        volkov["id"],
    )
    assert [tuple(r) for r in hours] == [
        (1, "09:00:00", "15:00:00"),
        *[(w, "08:00:00", "20:00:00") for w in range(2, 6)],
    ]


async def test_a_closure_that_hits_bookings_of_several_doctors(
    clinic: Clinic, page: Page, conn: asyncpg.Connection
) -> None:
    first = await clinic.book(ARRIVING, clinic.volkov["id"], "2026-12-05", "10:00")
    second = await clinic.book(CANCELLED, clinic.smirnova["id"], "2026-12-05", "11:30")

    await page.goto(clinic.url("/staff/days-off", ADMIN))
    await page.get_by_role("tab", name="Клиника закрыта").click()
    await expect(page.get_by_test_id("days-off-empty")).to_contain_text("обычному графику")
    await page.get_by_label("День").fill("2026-12-05")
    await page.get_by_label("Причина").fill("Санитарный день")
    assert (await main_button(page))["text"] == "Закрыть клинику 05.12"
    await telegram_sends(page, "main_button_pressed")
    listed = page.get_by_test_id("affected-booking")
    await expect(listed).to_have_count(2)
    await page.get_by_role("button", name="Отменить их и сообщить пациентам").click()
    await expect(page.get_by_test_id("day-off")).to_contain_text("Сб, 5 декабря")
    await shot(page, "staff-09-closure")
    for booked, chat in ((first, ARRIVING), (second, CANCELLED)):
        status = await conn.fetchval("SELECT status FROM bookings WHERE id = $1", booked["id"])
        assert status == "cancelled"
        await eventually(lambda chat=chat: clinic.told(chat, "Санитарный день"))

    # Removing it asks first (Telegram's popup), then opens the day again.
    await page.get_by_role("button", name="Открыть клинику 05.12.2026").click()
    [popup] = await telegram_events(page, "web_app_open_popup")
    assert "05.12.2026" in popup["message"]
    await telegram_sends(page, "popup_closed", {"button_id": "ok"})
    await expect(page.get_by_test_id("days-off-empty")).to_be_visible()
    assert await conn.fetchval("SELECT count(*) FROM closures") == 0


async def test_a_doctor_sees_their_own_day_and_cannot_cancel(
    clinic: Clinic, page: Page, conn: asyncpg.Connection
) -> None:
    mine = await clinic.book(ARRIVING, clinic.volkov["id"], "2026-12-02", "11:00")
    await clinic.book(CANCELLED, clinic.smirnova["id"], "2026-12-02", "11:00")

    await page.goto(clinic.url("/staff", DOCTOR))
    doctors = page.get_by_test_id("staff-doctor")
    await expect(doctors).to_have_count(1)
    await expect(doctors).to_contain_text(clinic.volkov["full_name"])
    await expect(page.get_by_test_id("staff-nav")).to_have_count(0)
    await expect(page.get_by_test_id("doctor-picker")).to_have_count(0)
    await booking_row(page, mine["id"]).click()
    sheet = page.get_by_test_id("booking-sheet")
    await expect(sheet.get_by_test_id("mark-arrived")).to_be_visible()
    await expect(sheet.get_by_test_id("start-cancel")).to_have_count(0)
    await shot(page, "staff-10-doctor")
    # A no-show is only after the start: the server's reason is shown.
    await sheet.get_by_test_id("mark-no-show").click()
    await expect(sheet.get_by_test_id("sheet-error")).to_have_text(
        "Неявку можно отметить только после начала приёма"
    )
    assert await conn.fetchval("SELECT attendance FROM bookings WHERE id = $1", mine["id"]) is None


async def test_patients_never_see_the_staff_section(clinic: Clinic, page: Page) -> None:
    await page.goto(clinic.url("/", PATIENT))
    await expect(page.get_by_test_id("specialization-card")).to_have_count(10)
    await expect(page.get_by_label("Мои записи", exact=True)).to_be_visible()  # the header
    await expect(page.get_by_test_id("staff-link")).to_have_count(0)
    await page.goto(clinic.url("/staff", PATIENT))
    await expect(page.get_by_test_id("staff-only")).to_contain_text(
        "Раздел только для сотрудников клиники"
    )
    await expect(page.get_by_test_id("staff-doctor")).to_have_count(0)
    await shot(page, "staff-11-not-staff")


async def test_the_notices_switch_turns_a_members_telegram_notices_off(
    clinic: Clinic, page: Page, conn: asyncpg.Connection
) -> None:
    async with aiohttp.ClientSession() as http:
        probe = await http.post(
            f"{base_url(clinic.server)}/api/staff/me/notify",
            json={"notify": True},
            headers=auth(user(RECEPTION), clock=clinic.clock),
        )
    if probe.status == 404:
        pytest.skip("POST /api/staff/me/notify is not on this branch yet")

    await page.goto(clinic.url("/staff", RECEPTION))
    switch = page.get_by_role("switch", name="Уведомления в Telegram")
    await expect(switch).to_have_attribute("aria-checked", "true")
    await switch.click()
    await expect(switch).to_have_attribute("aria-checked", "false")
    await expect(page.get_by_test_id("notify-error")).to_have_count(0)
    await shot(page, "staff-12-notices-off")
    assert await conn.fetchval("SELECT notify FROM staff WHERE telegram_id = $1", RECEPTION) is (
        False
    )
    await page.reload()
    await expect(switch).to_have_attribute("aria-checked", "false")


async def test_demo_mode_shows_the_staff_section_in_a_plain_browser(
    aiohttp_server: Any, dsn: str, clock: Clock, browser: Browser, conn: asyncpg.Connection
) -> None:
    """No Telegram: the demo identity is an admin, and each main action is a page button."""
    demo = await aiohttp_server(create_app(make_settings(dsn, bot_token=None), clock=clock))
    volkov = await doctor_of(conn, "volkov-igor")
    plain = await open_page(browser, in_telegram=False)
    await plain.goto(f"{base_url(demo)}/")
    await plain.get_by_test_id("staff-link").click()
    await expect(plain.get_by_test_id("quiet-doctors")).to_contain_text(volkov["full_name"])
    await expect(plain.get_by_test_id("day-empty")).to_have_text("Записей на этот день нет")

    await plain.get_by_test_id("staff-nav").get_by_role("link", name="Записать").click()
    await at_path(plain, "/staff/book")
    await plain.get_by_label("Врач", exact=True).select_option(label=volkov["full_name"])
    confirm = plain.get_by_test_id("confirm-staff-booking")
    await expect(confirm).to_have_text("Выберите время")
    await expect(confirm).to_be_disabled()
    await plain.get_by_test_id("slot").filter(has_text="16:00").click()
    await expect(confirm).to_have_text("Впишите имя пациента")
    await plain.get_by_label("Имя пациента").fill("Ольга Павлова")
    await plain.get_by_label("Телефон").fill("12")
    await expect(confirm).to_have_text("Проверьте телефон")
    await plain.get_by_label("Телефон").fill("")
    await expect(confirm).to_have_text("Записать на 02.12 в 16:00")
    await shot(plain, "staff-13-demo-phone-booking")
    await confirm.click()
    await expect(plain.get_by_test_id("staff-booked-text")).to_have_text(
        "Ольга Павлова · 02.12.2026 в 16:00"
    )
    row = await conn.fetchrow("SELECT patient_name, phone, source FROM bookings")
    assert dict(row) == {"patient_name": "Ольга Павлова", "phone": None, "source": "staff"}
    assert PAGE_ERRORS[plain] == []
