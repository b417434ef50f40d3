"""The built MiniApp in headless Chromium against the real app on a real database.

The page is opened the way Telegram opens it: launch parameters in the URL hash
(`#tgWebAppData=...`) and a stand-in for the Telegram client's webview bridge
(`window.TelegramWebviewProxy`) that records what the page asks of Telegram
(MainButton, BackButton, popups, haptics). Telegram's answers (the MainButton
pressed, a popup closed) are fed back through `Telegram.WebView.receiveEvent`,
as the clients do. The app's clock stands at Wednesday 2 December 2026, 10:17
Moscow time; the browser's own clock does not matter to the page.

A screenshot of every screen goes to tests/browser/artifacts/.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from clinic.app import create_app
from clinic.users.service import DEMO_USER
from clinic.web import initdata
from tests.conftest import BOT_TOKEN, ROOT, Clock, auth, make_settings, user

CHROMIUM = Path("/usr/bin/chromium")
DIST = ROOT / "miniapp" / "dist" / "index.html"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
if not DIST.exists():
    pytest.skip("the MiniApp is not built (make miniapp)", allow_module_level=True)

from playwright.async_api import Browser, Page, async_playwright, expect  # noqa: E402

pytestmark = pytest.mark.browser

PATIENT = 1001
OTHER_PATIENT = 2002
SLOT_TAKEN = "Это время только что заняли, выберите другое"
SESSION_INVALID = "Сессия недействительна или устарела. Откройте приложение заново из Telegram."

# Telegram's light theme, as a client passes it in tgWebAppThemeParams.
THEME = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
    "section_bg_color": "#ffffff",
    "section_separator_color": "#e7e7eb",
    "accent_text_color": "#2481cc",
    "subtitle_text_color": "#999999",
    "destructive_text_color": "#e53935",
}

# The Telegram client's side of the bridge: keep every event the page posts.
TELEGRAM_BRIDGE = """
window.__telegramEvents = [];
window.TelegramWebviewProxy = {
  postEvent(type, data) {
    window.__telegramEvents.push({ type, data: data ? JSON.parse(data) : null });
  },
};
"""


# Fixtures


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            await chromium.close()


async def open_page(browser: Browser, *, in_telegram: bool) -> Page:
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, locale="ru-RU", device_scale_factor=1
    )
    context.set_default_timeout(10_000)
    if in_telegram:
        await context.add_init_script(TELEGRAM_BRIDGE)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    PAGE_ERRORS[page] = errors
    return page


# Uncaught exceptions in each page's scripts: every test ends with none.
PAGE_ERRORS: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page inside a (stand-in) Telegram client."""
    opened = await open_page(browser, in_telegram=True)
    yield opened
    assert PAGE_ERRORS[opened] == []


@pytest.fixture
async def server(aiohttp_server: Any, settings: Any, clock: Clock) -> TestServer:
    started: TestServer = await aiohttp_server(create_app(settings, clock=clock))
    return started


def base_url(server: TestServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def signed_init_data(who: int, clock: Clock, *, token: str = BOT_TOKEN, age: int = 0) -> str:
    return initdata.sign(user(who), bot_token=token, auth_date=int(clock().timestamp()) - age)


def telegram_url(server: TestServer, path: str, init_data: str) -> str:
    """The URL a Telegram client opens: launch parameters in the hash."""
    params = {
        "tgWebAppData": init_data,
        "tgWebAppVersion": "8.0",
        "tgWebAppPlatform": "tdesktop",
        "tgWebAppThemeParams": json.dumps(THEME, separators=(",", ":")),
    }
    hash_ = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
    return f"{base_url(server)}{path}#{hash_}"


async def telegram_events(page: Page, kind: str) -> list[Any]:
    events: list[dict[str, Any]] = await page.evaluate("window.__telegramEvents")
    return [event["data"] for event in events if event["type"] == kind]


async def main_button(page: Page) -> Any:
    """The MainButton as the page last set it up."""
    setups = await telegram_events(page, "web_app_setup_main_button")
    return setups[-1] if setups else None


async def telegram_sends(page: Page, event: str, data: dict[str, Any] | None = None) -> None:
    await page.evaluate(
        "([event, data]) => window.Telegram.WebView.receiveEvent(event, data)", [event, data]
    )


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    # Transitions finished: a button just pressed shows as pressed, not half-way there.
    await page.screenshot(
        path=str(ARTIFACTS / f"{name}.png"), full_page=True, animations="disabled"
    )


async def fits_360(page: Page, name: str) -> None:
    """At 360 px wide nothing sticks out sideways; a screenshot of it, then back to 390."""
    await page.set_viewport_size({"width": 360, "height": 844})
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{name}: {width} px wide at 360"
    await shot(page, f"{name}-360")
    await page.set_viewport_size({"width": 390, "height": 844})


async def doctor_of(conn: asyncpg.Connection, slug: str) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "SELECT id, last_name || ' ' || first_name || ' ' || middle_name AS full_name"
        " FROM doctors WHERE slug = $1",
        slug,
    )
    return row


async def book_over_http(
    server: TestServer, clock: Clock, who: int, doctor: int, day: str, at: str
) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{base_url(server)}/api/bookings",
            json={"doctor_id": doctor, "date": day, "time": at},
            headers=auth(who, clock=clock),
        )
        assert response.status == 201, await response.text()
        booked: dict[str, Any] = await response.json()
        return booked


# Tests


async def test_search_filters_the_cards(server: TestServer, page: Page, clock: Clock) -> None:
    await page.goto(telegram_url(server, "/", signed_init_data(PATIENT, clock)))
    cards = page.get_by_test_id("specialization-card")
    await expect(cards).to_have_count(10)
    cardiology = cards.filter(has_text="Кардиология")
    await expect(cardiology).to_contain_text("2 врача")
    assert await telegram_events(page, "web_app_ready") and await telegram_events(
        page, "web_app_expand"
    )
    await shot(page, "01-specializations")

    search = page.get_by_label("Поиск по направлениям")
    await search.fill("КАРДИО")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("Кардиология")
    await shot(page, "02-search")

    await search.fill("лор")  # Оториноларингология (ЛОР)
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("Оториноларингология")

    # ё and е are one letter to the search: "распространённых" in the therapy card.
    await search.fill("распространенных")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("Терапия")

    await search.fill("астрология")
    await expect(cards).to_have_count(0)
    await expect(page.get_by_test_id("empty-state")).to_contain_text("Ничего не нашлось")
    await shot(page, "03-search-empty")

    await page.get_by_role("button", name="Сбросить поиск").click()
    await expect(cards).to_have_count(10)


async def test_booking_through_the_main_button(
    server: TestServer, page: Page, clock: Clock, conn: asyncpg.Connection
) -> None:
    therapist = await doctor_of(conn, "smirnova-olga")  # 21 years of experience
    await page.goto(telegram_url(server, "/", signed_init_data(PATIENT, clock)))
    await page.get_by_test_id("specialization-card").filter(has_text="Терапия").click()

    doctors = page.get_by_test_id("doctor-card")
    await expect(doctors).to_have_count(2)
    await expect(doctors.filter(has_text=therapist["full_name"])).to_contain_text("Стаж 21 год")
    await expect(doctors.filter(has_text="Кузнецов")).to_contain_text("Стаж 3 года")
    assert (await telegram_events(page, "web_app_setup_back_button"))[-1] == {"is_visible": True}
    await shot(page, "04-doctors")

    await doctors.filter(has_text=therapist["full_name"]).click()
    await expect(page.get_by_test_id("doctor")).to_contain_text(therapist["full_name"])
    days = page.get_by_test_id("day")
    await expect(days).to_have_count(6)
    # Monday and Tuesday are past; Wednesday is chosen, with 10:30 its first free time.
    await expect(days.nth(0)).to_be_disabled()
    await expect(days.nth(2)).to_have_attribute("aria-pressed", "true")
    await expect(page.get_by_role("button", name="Предыдущая неделя")).to_be_disabled()
    slots = page.get_by_test_id("slot")
    await expect(slots.first).to_have_text("10:30")
    assert await main_button(page) in (None, {"is_visible": False})

    await slots.filter(has_text="11:00").click()
    await expect(slots.filter(has_text="11:00")).to_have_attribute("aria-pressed", "true")
    button = await main_button(page)
    assert button["is_visible"] and button["is_active"]
    assert button["text"] == "Записаться на 02.12 в 11:00"
    await shot(page, "05-doctor-slots")

    await telegram_sends(page, "main_button_pressed")
    done = page.get_by_test_id("booking-done")
    await expect(done).to_contain_text("Вы записаны")
    await expect(page.get_by_test_id("done-doctor")).to_have_text(therapist["full_name"])
    await expect(page.get_by_test_id("done-date")).to_contain_text("02.12.2026")
    await expect(page.get_by_test_id("done-time")).to_have_text("11:00")
    await expect(page.get_by_text("приходите за 10–15 минут")).to_be_visible()
    haptics = await telegram_events(page, "web_app_trigger_haptic_feedback")
    assert {"type": "notification", "notification_type": "success"} in haptics
    assert (await main_button(page))["is_visible"] is False
    # The planned reminders are listed when the booking comes with them.
    booking_id = int(page.url.split("/bookings/")[1].split("/")[0])
    async with aiohttp.ClientSession() as http:
        response = await http.get(
            f"{base_url(server)}/api/bookings/{booking_id}", headers=auth(PATIENT, clock=clock)
        )
        reminders = (await response.json()).get("reminders") or []
    listed = page.get_by_test_id("reminders").get_by_role("listitem")
    await expect(listed).to_have_count(len(reminders))
    await shot(page, "06-booking-done")

    rows = await conn.fetch("SELECT doctor_id, user_id, starts_at, status FROM bookings")
    assert [dict(row) for row in rows] == [
        {
            "doctor_id": therapist["id"],
            "user_id": PATIENT,
            "starts_at": clock().replace(hour=8, minute=0),  # 11:00 in Moscow
            "status": "confirmed",
        }
    ]


async def test_a_slot_taken_meanwhile_is_reported_and_the_slots_reload(
    server: TestServer, page: Page, clock: Clock, conn: asyncpg.Connection
) -> None:
    cardiologist = await doctor_of(conn, "volkov-igor")
    await page.goto(
        telegram_url(server, f"/doctors/{cardiologist['id']}", signed_init_data(PATIENT, clock))
    )
    slots = page.get_by_test_id("slot")
    await slots.filter(has_text="11:00").click()
    assert (await main_button(page))["text"] == "Записаться на 02.12 в 11:00"

    # Someone else books it while this patient looks at the button.
    await book_over_http(server, clock, OTHER_PATIENT, cardiologist["id"], "2026-12-02", "11:00")
    await telegram_sends(page, "main_button_pressed")

    await expect(page.get_by_test_id("notice")).to_have_text(SLOT_TAKEN)
    await expect(slots.first).to_have_text("10:30")
    await expect(slots.filter(has_text="11:00")).to_have_count(0)
    await expect(slots).to_have_count(18)
    await expect(page.get_by_test_id("day").nth(2)).to_have_attribute("aria-pressed", "true")
    haptics = await telegram_events(page, "web_app_trigger_haptic_feedback")
    assert {"type": "notification", "notification_type": "error"} in haptics
    assert (await main_button(page))["is_visible"] is False
    await shot(page, "07-slot-taken")

    owners = await conn.fetch("SELECT user_id FROM bookings WHERE status = 'confirmed'")
    assert [row["user_id"] for row in owners] == [OTHER_PATIENT]


async def test_cancel_from_my_bookings(
    server: TestServer, page: Page, clock: Clock, conn: asyncpg.Connection
) -> None:
    neurologist = await doctor_of(conn, "sokolov-andrey")
    booked = await book_over_http(server, clock, PATIENT, neurologist["id"], "2026-12-03", "12:00")

    await page.goto(telegram_url(server, "/bookings", signed_init_data(PATIENT, clock)))
    upcoming = page.get_by_test_id("section-upcoming")
    await expect(upcoming.get_by_test_id("booking")).to_contain_text("03.12.2026 в 12:00")
    await expect(upcoming).to_contain_text(neurologist["full_name"])
    await shot(page, "08-bookings")

    await page.get_by_role("button", name="Отменить запись на 03.12.2026 в 12:00").click()
    # Inside Telegram the question is Telegram's own popup.
    popups = await telegram_events(page, "web_app_open_popup")
    assert len(popups) == 1 and "03.12.2026 в 12:00" in popups[0]["message"]
    await telegram_sends(page, "popup_closed", {"button_id": "ok"})

    await expect(page.get_by_test_id("notice")).to_contain_text("отменена")
    cancelled = page.get_by_test_id("section-cancelled")
    await expect(cancelled.get_by_test_id("booking")).to_contain_text("отменена")
    await expect(upcoming).to_have_count(0)
    await shot(page, "09-booking-cancelled")

    status = await conn.fetchval("SELECT status FROM bookings WHERE id = $1", booked["id"])
    assert status == "cancelled"


@pytest.mark.parametrize("case", ["expired", "forged"])
async def test_a_stale_or_forged_init_data_gets_a_clear_message(
    server: TestServer, page: Page, clock: Clock, case: str
) -> None:
    if case == "expired":
        init_data = signed_init_data(PATIENT, clock, age=int(timedelta(days=2).total_seconds()))
    else:
        init_data = signed_init_data(PATIENT, clock, token="654321:not-the-clinic-bot")
    await page.goto(telegram_url(server, "/bookings", init_data))

    await expect(page.get_by_test_id("error-state")).to_contain_text(SESSION_INVALID)
    await expect(page.get_by_test_id("booking")).to_have_count(0)
    await expect(page.get_by_test_id("specialization-card")).to_have_count(0)
    await shot(page, f"10-session-{case}")


async def test_a_plain_browser_without_demo_mode_is_sent_to_telegram(
    server: TestServer, browser: Browser
) -> None:
    plain = await open_page(browser, in_telegram=False)
    await plain.goto(f"{base_url(server)}/")
    await expect(plain.get_by_test_id("outside-telegram")).to_contain_text(
        "Откройте приложение из Telegram"
    )
    await expect(plain.get_by_test_id("specialization-card")).to_have_count(0)
    await shot(plain, "11-outside-telegram")
    assert PAGE_ERRORS[plain] == []


async def test_the_demo_identity_books_and_cancels_in_a_plain_browser(
    aiohttp_server: Any, dsn: str, clock: Clock, browser: Browser, conn: asyncpg.Connection
) -> None:
    demo = await aiohttp_server(create_app(make_settings(dsn, bot_token=None), clock=clock))
    dentist = await doctor_of(conn, "petrov-mikhail")
    plain = await open_page(browser, in_telegram=False)

    await plain.goto(f"{base_url(demo)}/")
    await expect(plain.get_by_test_id("demo-badge")).to_have_text("демо")
    await expect(plain.get_by_test_id("specialization-card")).to_have_count(10)
    await shot(plain, "12-demo-catalog")

    await plain.goto(f"{base_url(demo)}/doctors/{dentist['id']}")
    await expect(plain.get_by_test_id("demo-badge")).to_be_visible()
    confirm = plain.get_by_test_id("confirm-booking")  # no MainButton outside Telegram
    await expect(confirm).to_be_disabled()
    await plain.get_by_role("button", name="Четверг, 3 декабря: 24 свободных окна").click()
    await plain.get_by_test_id("slot").filter(has_text="09:30").click()
    await expect(confirm).to_have_text("Записаться на 03.12 в 09:30")
    await shot(plain, "13-demo-doctor")
    await confirm.click()
    await expect(plain.get_by_test_id("booking-done")).to_contain_text("Вы записаны")

    await plain.get_by_role("link", name="Мои записи").first.click()
    await plain.get_by_role("button", name="Отменить запись на 03.12.2026 в 09:30").click()
    dialog = plain.get_by_role("alertdialog")
    await expect(dialog).to_contain_text("03.12.2026 в 09:30")
    await shot(plain, "14-demo-cancel-dialog")
    await dialog.get_by_role("button", name="Отменить запись").click()
    await expect(plain.get_by_test_id("section-cancelled")).to_contain_text("отменена")

    rows = await conn.fetch("SELECT user_id, status FROM bookings")
    assert [dict(row) for row in rows] == [{"user_id": DEMO_USER.id, "status": "cancelled"}]
    assert PAGE_ERRORS[plain] == []
