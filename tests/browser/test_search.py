"""The MiniApp's search box in headless Chromium, against the real app and database.

The page is opened as Telegram opens it (see test_miniapp.py, whose fixtures and helpers
this module shares). Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, Route, expect

from tests.browser import test_miniapp as miniapp
from tests.browser.test_miniapp import (
    ARTIFACTS,
    PAGE_ERRORS,
    PATIENT,
    open_page,
    signed_init_data,
    telegram_url,
)
from tests.conftest import Clock

SEARCH_LABEL = "Поиск по направлениям, симптомам и врачам"

# The fixtures of test_miniapp.py (Chromium, a page inside a stand-in Telegram client, the
# app on a real server), shared by name.
browser = miniapp.browser
page = miniapp.page
server = miniapp.server


async def viewport_shot(page: Page, name: str) -> None:
    """What the patient sees at once: the viewport only (390x844), not the whole page."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def test_a_symptom_finds_specializations_and_doctors(
    server: TestServer, page: Page, clock: Clock, conn: asyncpg.Connection
) -> None:
    await page.goto(telegram_url(server, "/", signed_init_data(PATIENT, clock)))
    await expect(page.get_by_test_id("specialization-card")).to_have_count(10)

    await page.get_by_label(SEARCH_LABEL).press_sequentially("сыпь", delay=40)
    specializations = page.get_by_test_id("found-specializations").get_by_test_id(
        "specialization-card"
    )
    doctors = page.get_by_test_id("doctor-result")
    await expect(specializations).to_have_count(2)
    await expect(specializations.first).to_contain_text("Дерматология")
    await expect(specializations.nth(1)).to_contain_text("Педиатрия")
    await expect(doctors).to_have_count(4)
    await expect(doctors.filter(has_text="Васильева Ирина Михайловна")).to_contain_text(
        "Дерматология"
    )
    await expect(page.get_by_role("status")).to_have_text("Найдено: 2 направления, 4 врача")
    await expect(page.get_by_test_id("search-results")).to_have_attribute("aria-busy", "false")
    assert page.viewport_size == {"width": 390, "height": 844}
    await viewport_shot(page, "search-symptom")

    # The search stays in the URL: a doctor's page, then back, shows the same results.
    doctor_id = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'zaitsev-pavel'")
    await doctors.filter(has_text="Зайцев").click()
    await expect(page.get_by_test_id("doctor")).to_contain_text("Зайцев Павел Ильич")
    assert urlsplit(page.url).path == f"/doctors/{doctor_id}"
    await page.go_back()
    await expect(page.get_by_label(SEARCH_LABEL)).to_have_value("сыпь")
    await expect(doctors).to_have_count(4)


async def test_a_doctor_found_by_name_opens_their_page(
    server: TestServer, page: Page, clock: Clock
) -> None:
    await page.goto(telegram_url(server, "/", signed_init_data(PATIENT, clock)))
    await page.get_by_label(SEARCH_LABEL).fill("федорова")  # written Фёдорова
    doctors = page.get_by_test_id("doctor-result")
    await expect(doctors).to_have_count(1)
    await expect(page.get_by_test_id("found-specializations")).to_have_count(0)
    await doctors.click()
    await expect(page.get_by_test_id("doctor")).to_contain_text("Фёдорова Елена Владимировна")
    assert urlsplit(page.url).path.startswith("/doctors/")


async def test_nothing_found_says_so_and_resets(
    server: TestServer, page: Page, clock: Clock
) -> None:
    await page.goto(telegram_url(server, "/", signed_init_data(PATIENT, clock)))
    await page.get_by_label(SEARCH_LABEL).fill("астрология")
    empty = page.get_by_test_id("empty-state")
    await expect(empty).to_contain_text("Ничего не нашлось")
    await expect(empty).to_contain_text("По запросу «астрология» ничего нет")
    await expect(page.get_by_role("status")).to_have_text("Ничего не нашлось")
    await viewport_shot(page, "search-nothing")
    await page.get_by_role("button", name="Сбросить поиск").click()
    await expect(page.get_by_test_id("specialization-card")).to_have_count(10)
    await expect(page.get_by_label(SEARCH_LABEL)).to_have_value("")


async def test_the_results_stay_in_place_while_the_next_answer_loads(
    server: TestServer, page: Page, clock: Clock
) -> None:
    """A slow answer: the earlier results stay (dimmed, aria-busy) and nothing moves."""
    release = asyncio.Event()
    calls: list[str] = []

    async def slow_search(route: Route) -> None:
        calls.append(route.request.url)
        if "%D0%BA%D0%B0%D1%80" in route.request.url:  # "кар...": the second search
            await release.wait()
        await route.continue_()

    await page.route("**/api/search?*", slow_search)
    await page.goto(telegram_url(server, "/", signed_init_data(PATIENT, clock)))
    search = page.get_by_label(SEARCH_LABEL)
    await search.fill("зубы")
    results = page.get_by_test_id("search-results")
    await expect(results.get_by_test_id("specialization-card")).to_contain_text(["Стоматология"])
    await expect(results).to_have_attribute("aria-busy", "false")
    first_box = await results.get_by_test_id("specialization-card").bounding_box()
    input_box = await search.bounding_box()

    await search.fill("кардиолог")
    await expect(page.get_by_test_id("search-pending")).to_be_visible()
    await expect(results).to_have_attribute("aria-busy", "true")
    await expect(results.get_by_test_id("specialization-card")).to_contain_text(["Стоматология"])
    assert await results.get_by_test_id("specialization-card").bounding_box() == first_box
    assert await search.bounding_box() == input_box
    await viewport_shot(page, "search-loading")

    release.set()
    await expect(results.get_by_test_id("specialization-card")).to_contain_text(["Кардиология"])
    await expect(results).to_have_attribute("aria-busy", "false")
    await expect(page.get_by_test_id("search-pending")).to_have_count(0)
    assert await search.bounding_box() == input_box
    # Typing was debounced: one request per pause, not one per letter.
    assert len(calls) == 2, calls


async def test_the_search_fits_a_360_pixel_screen(
    server: TestServer, browser: Browser, clock: Clock
) -> None:
    narrow = await open_page(browser, in_telegram=True)
    await narrow.set_viewport_size({"width": 360, "height": 740})
    await narrow.goto(telegram_url(server, "/", signed_init_data(PATIENT, clock)))
    await narrow.get_by_label(SEARCH_LABEL).fill("давление")
    await expect(narrow.get_by_test_id("doctor-result")).to_have_count(6)
    overflow = await narrow.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    for card in await narrow.get_by_test_id("doctor-result").all():
        box = await card.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    await viewport_shot(narrow, "search-360")
    assert PAGE_ERRORS[narrow] == []
