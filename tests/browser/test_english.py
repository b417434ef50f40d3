"""The MiniApp in English, and "Add to calendar", in headless Chromium against the real
app on a real database.

A Telegram user whose language_code is "en" gets the page in English (everyone else in
Russian); a plain browser in demo mode chooses English with `?lang=en`, kept for the
tab. Every API request says which language the page speaks (Accept-Language). Pages
open as Telegram opens them (see test_miniapp.py, whose fixtures and helpers this module
shares). The app's clock stands at Wednesday 2 December 2026, 10:17 Moscow time.
Screenshots (390x844, some at 360) go to tests/browser/artifacts/.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Download, Page, Request, Route, expect

from clinic.app import create_app
from clinic.telegram.models import TelegramUser
from clinic.web import initdata
from tests.browser import test_miniapp as miniapp
from tests.browser.test_miniapp import (
    PAGE_ERRORS,
    PATIENT,
    THEME,
    base_url,
    book_over_http,
    doctor_of,
    fits_360,
    main_button,
    open_page,
    shot,
    telegram_events,
    telegram_sends,
    telegram_url,
)
from tests.browser.test_staff import at_path
from tests.conftest import BOT_TOKEN, Clock, auth, make_settings

# The fixtures of test_miniapp.py, shared by name.
browser = miniapp.browser
page = miniapp.page
server = miniapp.server

RECEPTION = 7002
# A host the page believes it is on, so that its own URLs are https as in production;
# the browser's requests to it are answered by the test server (see `on_https`).
HTTPS_HOST = "https://clinic.test"


def english(who: int, first_name: str = "Anna") -> TelegramUser:
    return TelegramUser(id=who, first_name=first_name, language_code="en")


def english_init_data(who: int, clock: Clock) -> str:
    return initdata.sign(english(who), bot_token=BOT_TOKEN, auth_date=int(clock().timestamp()))


def languages_asked(page: Page) -> list[str]:
    """The Accept-Language of every API request the page sends from now on."""
    asked: list[str] = []

    def keep(request: Request) -> None:
        if "/api/" in request.url and request.resource_type == "fetch":
            asked.append(request.headers.get("accept-language", ""))

    page.on("request", keep)
    return asked


async def on_https(page: Page, server: TestServer) -> None:
    """The page's requests to HTTPS_HOST go to the test server, as a TLS proxy would."""

    async def forward(route: Route) -> None:
        url = base_url(server) + route.request.url.removeprefix(HTTPS_HOST)
        await route.fulfill(response=await route.fetch(url=url))

    await page.context.route(f"{HTTPS_HOST}/**", forward)


async def saved_text(download: Download) -> str:
    """What the browser saved, read off the event loop."""
    path = Path(await download.path())
    return await asyncio.to_thread(path.read_text, encoding="utf-8")


def launch_url(base: str, path: str, init_data: str, *, version: str = "8.0") -> str:
    params = {
        "tgWebAppData": init_data,
        "tgWebAppVersion": version,
        "tgWebAppPlatform": "android",
        "tgWebAppThemeParams": json.dumps(THEME, separators=(",", ":")),
    }
    hash_ = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
    return f"{base}{path}#{hash_}"


async def test_an_english_patient_books_and_cancels_in_english(
    server: TestServer, page: Page, clock: Clock, conn: asyncpg.Connection
) -> None:
    therapist = await doctor_of(conn, "smirnova-olga")  # 21 years of experience
    asked = languages_asked(page)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    await page.goto(telegram_url(server, "/", english_init_data(PATIENT, clock)))

    await expect(page.get_by_role("heading", name="Book a doctor")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page).to_have_title("Zdorovye Plus — book a doctor")
    cards = page.get_by_test_id("specialization-card")
    await expect(cards).to_have_count(10)
    await expect(cards.filter(has_text="Кардиология")).to_contain_text("2 doctors")
    await expect(page.get_by_label("Search specialties, symptoms and doctors")).to_have_attribute(
        "placeholder", "Symptom, doctor or specialty…"
    )
    await shot(page, "en-01-specializations")
    await fits_360(page, "en-01-specializations")

    await cards.filter(has_text="Терапия").click()
    doctors = page.get_by_test_id("doctor-card")
    await expect(doctors).to_have_count(2)
    await expect(doctors.filter(has_text=therapist["full_name"])).to_contain_text(
        "21 years of experience"
    )
    await expect(doctors.filter(has_text="Кузнецов")).to_contain_text("3 years of experience")
    await shot(page, "en-02-doctors")

    await doctors.filter(has_text=therapist["full_name"]).click()
    await expect(page.get_by_test_id("doctor")).to_contain_text(therapist["full_name"])
    await expect(page.get_by_test_id("schedule").locator("#week-title")).to_have_text(
        "30 November – 5 December"
    )
    days = page.get_by_test_id("day")
    await expect(days.nth(2)).to_have_attribute("aria-pressed", "true")
    await expect(days.nth(2)).to_contain_text("Wed")
    await expect(
        page.get_by_role("button", name="Thursday 3 December: 24 free slots")
    ).to_be_enabled()
    await expect(page.get_by_role("button", name="Previous week")).to_be_disabled()
    assert await main_button(page) in (None, {"is_visible": False})
    slots = page.get_by_test_id("slot")
    await slots.filter(has_text="15:00").click()
    button = await main_button(page)
    assert button["is_visible"] and button["is_active"]
    assert button["text"] == "Book for 02/12 at 15:00"
    await expect(page.get_by_text("A visit lasts 30 minutes.")).to_be_visible()
    await shot(page, "en-03-doctor-slots")
    await fits_360(page, "en-03-doctor-slots")

    await telegram_sends(page, "main_button_pressed")
    await expect(page.get_by_test_id("booking-done")).to_contain_text("You're booked")
    await expect(page.get_by_test_id("booking-done")).to_contain_text("Booking #")
    await expect(page.get_by_test_id("done-date")).to_have_text("02/12/2026, Wednesday")
    await expect(page.get_by_test_id("done-time")).to_have_text("15:00")
    await expect(page.get_by_text("Please come 10–15 minutes before your visit.")).to_be_visible()
    reminders = page.get_by_test_id("reminders")
    await expect(reminders).to_contain_text("Reminders in Telegram")
    await expect(reminders).to_contain_text("30 minutes before the visit")
    await expect(reminders).to_contain_text("02/12/2026 at 14:30")
    await expect(page.get_by_test_id("add-to-calendar")).to_have_text("Add to calendar")
    await shot(page, "en-04-booking-done")
    await fits_360(page, "en-04-booking-done")

    await page.get_by_role("link", name="My bookings").last.click()
    upcoming = page.get_by_test_id("section-upcoming")
    await expect(upcoming).to_contain_text("Upcoming")
    card = upcoming.get_by_test_id("booking")
    await expect(card).to_contain_text("02/12/2026 at 15:00")
    await expect(card).to_contain_text("Wednesday · booking #")
    await expect(card).to_contain_text("Come 10–15 minutes early")
    await expect(
        card.get_by_role("link", name="Move the booking for 02/12/2026 at 15:00")
    ).to_be_visible()
    await expect(
        card.get_by_role("link", name="Add the booking for 02/12/2026 at 15:00 to your calendar")
    ).to_be_visible()
    await shot(page, "en-05-bookings")
    await fits_360(page, "en-05-bookings")

    await card.get_by_role("button", name="Cancel the booking for 02/12/2026 at 15:00").click()
    popups = await telegram_events(page, "web_app_open_popup")
    assert len(popups) == 1
    assert popups[0]["message"] == (
        f"Cancel the booking for 02/12/2026 at 15:00?\n"
        f"{therapist['full_name']}, Терапия"  # the catalog's names are the clinic's own
    )
    await telegram_sends(page, "popup_closed", {"button_id": "ok"})
    await expect(page.get_by_test_id("notice")).to_have_text(
        "The booking for 02/12/2026 at 15:00 is cancelled."
    )
    cancelled = page.get_by_test_id("section-cancelled")
    await expect(cancelled).to_contain_text("Cancelled")
    await expect(cancelled.get_by_test_id("booking")).to_contain_text("cancelled")
    await expect(page.get_by_test_id("add-to-calendar")).to_have_count(0)  # nothing upcoming
    await shot(page, "en-06-booking-cancelled")

    assert asked and set(asked) == {"en"}, asked
    assert await conn.fetchval("SELECT status FROM bookings") == "cancelled"
    # vue-i18n says nothing: no missing key, no fallback to Russian, no build-flag warning.
    assert not [line for line in console if "i18n" in line.lower() or "intlify" in line], console


async def test_plural_forms_in_both_languages(
    server: TestServer, page: Page, clock: Clock, conn: asyncpg.Connection
) -> None:
    """Russian one / few / many (with 11-14 many) and English one / other, on real pages."""
    years = {
        "morozova-ekaterina": ("Стаж 1 год", "1 year of experience"),
        "egorova-yulia": ("Стаж 4 года", "4 years of experience"),
        "medvedev-sergey": ("Стаж 22 года", "22 years of experience"),
        "volkov-igor": ("Стаж 12 лет", "12 years of experience"),
        "nikitin-aleksey": ("Стаж 14 лет", "14 years of experience"),
        "ivanova-anna": ("Стаж 16 лет", "16 years of experience"),
    }
    russian = miniapp.signed_init_data(PATIENT, clock)
    for slug, (ru, en) in years.items():
        doctor = await doctor_of(conn, slug)
        for init_data, text in ((russian, ru), (english_init_data(PATIENT, clock), en)):
            await page.goto("about:blank")  # a new hash alone would not reload the page
            await page.goto(telegram_url(server, f"/doctors/{doctor['id']}", init_data))
            await expect(page.get_by_test_id("doctor")).to_contain_text(text)


async def test_the_staff_day_in_english(
    server: TestServer, page: Page, clock: Clock, conn: asyncpg.Connection
) -> None:
    volkov = await doctor_of(conn, "volkov-igor")
    await conn.execute(
        "INSERT INTO staff (telegram_id, role, doctor_id) VALUES ($1, 'reception', NULL)",
        RECEPTION,
    )
    arriving = await book_over_http(server, clock, 1101, volkov["id"], "2026-12-02", "11:00")
    await book_over_http(server, clock, 1102, volkov["id"], "2026-12-02", "12:00")
    asked = languages_asked(page)

    await page.goto(telegram_url(server, "/", english_init_data(RECEPTION, clock)))
    await page.get_by_test_id("staff-link").click()
    await expect(page.get_by_role("heading", name="Staff")).to_be_visible()
    await expect(page.get_by_text("Reception", exact=True)).to_be_visible()
    nav = page.get_by_test_id("staff-nav")
    for tab in ("Day", "Book", "Hours", "Days off"):
        await expect(nav.get_by_role("link", name=tab, exact=True)).to_be_visible()
    await expect(page.get_by_test_id("day-title")).to_have_text("Wednesday 2 December")
    await expect(page.get_by_test_id("day-summary")).to_have_text("2 bookings")
    await expect(page.get_by_label("Doctor", exact=True)).to_have_value("")
    await expect(page.get_by_role("option", name="All doctors")).to_have_count(1)
    volkov_card = page.get_by_test_id("staff-doctor").filter(has_text=volkov["full_name"])
    await expect(volkov_card).to_contain_text("08:00–20:00")
    await expect(page.get_by_test_id("quiet-doctors")).to_contain_text("No bookings")
    await expect(page.get_by_test_id("notify")).to_contain_text("Telegram notifications")
    await shot(page, "en-staff-01-day")
    await fits_360(page, "en-staff-01-day")

    row = page.locator(f'[data-testid="staff-booking"][data-booking-id="{arriving["id"]}"]')
    await row.click()
    sheet = page.get_by_test_id("booking-sheet")
    await expect(sheet).to_contain_text("Patient")
    await expect(sheet).to_contain_text(f"#{arriving['id']} · by the patient, in Telegram")
    await sheet.get_by_test_id("mark-arrived").click()
    await expect(sheet.get_by_test_id("sheet-done")).to_have_text("Marked: the patient arrived")
    await sheet.get_by_test_id("start-cancel").click()
    await expect(sheet.get_by_label("Reason — the patient will read it")).to_be_visible()
    await expect(sheet.get_by_role("button", name="The doctor is ill")).to_be_visible()
    await shot(page, "en-staff-02-sheet")
    await fits_360(page, "en-staff-02-sheet")
    await sheet.get_by_role("button", name="Don't cancel").click()
    await sheet.get_by_role("button", name="Close").click()
    await expect(row).to_contain_text("arrived")
    await expect(row).to_contain_text("Анна")  # still named, not "Telegram 1101"
    await expect(page.get_by_test_id("day-summary")).to_have_text("2 bookings · 1 arrived")

    await nav.get_by_role("link", name="Book", exact=True).click()
    await at_path(page, "/staff/book")  # the page left has a "Doctor" select too
    await page.get_by_label("Doctor", exact=True).select_option(label=volkov["full_name"])
    await page.get_by_role("button", name="Friday 4 December: 24 free slots").click()
    await page.get_by_test_id("slot").filter(has_text="09:30").click()
    await page.get_by_label("Patient's name").fill("Peter Sidorov")
    assert (await main_button(page))["text"] == "Book for 04/12 at 09:30"
    await shot(page, "en-staff-03-phone-booking")
    await fits_360(page, "en-staff-03-phone-booking")

    await nav.get_by_role("link", name="Hours", exact=True).click()
    await at_path(page, "/staff/hours")  # the page left has a "Doctor" select too
    await page.get_by_label("Doctor", exact=True).select_option(label=volkov["full_name"])
    await expect(page.get_by_test_id("hours-kind")).to_contain_text("the clinic's schedule")
    await expect(page.get_by_label("Monday: start")).to_have_value("08:00")
    await expect(page.locator('[data-testid="hours-day"][data-weekday="6"]')).to_contain_text(
        "Saturday"
    )
    await shot(page, "en-staff-04-hours")
    await fits_360(page, "en-staff-04-hours")

    await nav.get_by_role("link", name="Days off", exact=True).click()
    await at_path(page, "/staff/days-off")  # the page left has a "Doctor" select too
    await page.get_by_label("Doctor", exact=True).select_option(label=volkov["full_name"])
    await expect(page.get_by_test_id("days-off-empty")).to_have_text("No days off planned.")
    await page.get_by_label("From", exact=True).fill("2026-12-03")
    assert (await main_button(page))["text"] == "Add a day off on 03/12"
    await shot(page, "en-staff-05-days-off")
    await fits_360(page, "en-staff-05-days-off")

    assert asked and set(asked) == {"en"}, asked


async def test_a_plain_browser_chooses_english_and_downloads_the_calendar_file(
    aiohttp_server: Any, dsn: str, clock: Clock, browser: Browser, conn: asyncpg.Connection
) -> None:
    demo = await aiohttp_server(create_app(make_settings(dsn, bot_token=None), clock=clock))
    dentist = await doctor_of(conn, "petrov-mikhail")
    plain = await open_page(browser, in_telegram=False)
    asked = languages_asked(plain)

    await plain.goto(f"{base_url(demo)}/?lang=en")
    await expect(plain.get_by_role("heading", name="Book a doctor")).to_be_visible()
    await expect(plain.locator("html")).to_have_attribute("lang", "en")
    await expect(plain.get_by_test_id("demo-badge")).to_have_text("demo")

    # The next page of the tab, without ?lang: still English.
    await plain.goto(f"{base_url(demo)}/doctors/{dentist['id']}")
    confirm = plain.get_by_test_id("confirm-booking")
    await expect(confirm).to_have_text("Choose a time")
    await plain.get_by_role("button", name="Thursday 3 December: 24 free slots").click()
    await plain.get_by_test_id("slot").filter(has_text="09:30").click()
    await expect(confirm).to_have_text("Book for 03/12 at 09:30")
    await confirm.click()
    await expect(plain.get_by_test_id("booking-done")).to_contain_text("You're booked")
    booking_id = await conn.fetchval("SELECT id FROM bookings")

    # A plain download link to the signed .ics: no Authorization header needed. (The
    # server's Content-Disposition names the saved file; `download` is the page's wish.)
    calendar = plain.get_by_test_id("add-to-calendar")
    await expect(calendar).to_have_attribute("download", f"booking-{booking_id}.ics")
    async with plain.expect_download() as downloading:
        await calendar.click()
    download = await downloading.value
    assert download.suggested_filename.endswith(f"{booking_id}.ics")
    content = await saved_text(download)
    assert content.startswith("BEGIN:VCALENDAR"), content[:80]
    assert "END:VCALENDAR" in content
    await shot(plain, "en-07-demo-done")

    # The same from the list.
    await plain.get_by_role("link", name="My bookings").first.click()
    listed = plain.get_by_test_id("section-upcoming").get_by_test_id("add-to-calendar")
    async with plain.expect_download() as downloading:
        await listed.click()
    again = await saved_text(await downloading.value)
    assert again.startswith("BEGIN:VCALENDAR")

    assert asked and set(asked) == {"en"}, asked

    # ?lang=ru turns the tab back to Russian.
    await plain.goto(f"{base_url(demo)}/?lang=ru")
    await expect(plain.get_by_role("heading", name="Запись к врачу")).to_be_visible()
    await expect(plain.locator("html")).to_have_attribute("lang", "ru")
    await plain.goto(f"{base_url(demo)}/bookings")
    await expect(plain.get_by_test_id("add-to-calendar")).to_have_text("Добавить в календарь")
    assert asked[-1] == "ru"
    assert PAGE_ERRORS[plain] == []


@pytest.mark.parametrize("version", ["8.0", "7.10"])
async def test_telegram_saves_the_calendar_file_where_the_client_can(
    server: TestServer, page: Page, clock: Clock, conn: asyncpg.Connection, version: str
) -> None:
    """Bot API 8.0: the page asks Telegram to download the file (downloadFile takes https
    only, so the page is served as HTTPS_HOST); an older client gets the plain link."""
    neurologist = await doctor_of(conn, "sokolov-andrey")
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{base_url(server)}/api/bookings",
            json={"doctor_id": neurologist["id"], "date": "2026-12-03", "time": "12:00"},
            headers=auth(english(PATIENT), clock=clock),
        )
        booked = await response.json()
    assert booked["calendar_url"].startswith("/api/calendar/")
    # Chromium cancels downloads of responses a route fulfils: the older client, whose
    # download is the browser's own, stays on the test server's http.
    base = HTTPS_HOST if version == "8.0" else base_url(server)
    if version == "8.0":
        await on_https(page, server)

    await page.goto(
        launch_url(base, "/bookings", english_init_data(PATIENT, clock), version=version)
    )
    button = page.get_by_test_id("add-to-calendar")
    await expect(button).to_have_text("Add to calendar")

    if version == "8.0":
        await button.click()
        [asked] = await telegram_events(page, "web_app_request_file_download")
        assert asked == {
            "url": HTTPS_HOST + booked["calendar_url"],
            "file_name": f"booking-{booked['id']}.ics",
        }
        await telegram_sends(page, "file_download_requested", {"status": "downloading"})
        # What Telegram fetches: the signed link alone, no initData.
        async with aiohttp.ClientSession() as http:
            response = await http.get(base_url(server) + booked["calendar_url"])
            assert response.status == 200
            assert (await response.text()).startswith("BEGIN:VCALENDAR")
    else:
        async with page.expect_download() as downloading:
            await button.click()
        content = await saved_text(await downloading.value)
        assert content.startswith("BEGIN:VCALENDAR")
        assert await telegram_events(page, "web_app_request_file_download") == []
