"""No text points at a button that is not there, in each mode the bot runs in.

The same conversation (/start, "О нас", "Мои записи" with none, the list, the main menu,
a stray message) in webhook mode, long polling without a MiniApp address, and demo
mode. Every «quoted» button label in a message must be a button of that message; the
"🔖 Записаться" button opens the MiniApp where there is one (in demo mode, this server).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient

from clinic import keys, texts
from clinic.app import create_app
from clinic.config import Settings
from tests.conftest import BOT_TOKEN, Clock, make_settings
from tests.fakes.bot_api import FakeBotApi
from tests.test_bot import PATIENT, Bot, callback_update, message_update

PRESSED = ("v1:about", "v1:bookings", "v1:list", "v1:menu")
Shown = tuple[str, dict[str, Any] | None]  # a message's text and its reply_markup


def label(button_text: str) -> str:
    """A button's words without its emoji: "📅 Мои записи" -> "Мои записи"."""
    first, _, rest = button_text.partition(" ")
    return rest if rest and not re.search(r"[А-Яа-яЁёA-Za-z]", first) else button_text


LABELS = {label(value) for name, value in vars(texts).items() if name.startswith("BTN_")}


def buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [b for row in (markup or {}).get("inline_keyboard", []) for b in row]


def pointing_nowhere(shown: list[Shown]) -> list[str]:
    """Each «label» a text names that is not a button of its message."""
    found = []
    for text, markup in shown:
        there = {label(b["text"]) for b in buttons(markup)}
        for quoted in re.findall(r"«([^»]+)»", text):
            if quoted in LABELS and quoted not in there:
                found.append(f"«{quoted}» without its button in: {text!r}")
    return found


def book_buttons(shown: list[Shown]) -> list[dict[str, Any]]:
    return [b for _, markup in shown for b in buttons(markup) if b["text"] == texts.RU("btn.book")]


def from_fake(fake: FakeBotApi) -> list[Shown]:
    return [
        (c.params["text"], c.params.get("reply_markup"))
        for c in fake.calls
        if c.method.lower() in ("sendmessage", "editmessagetext")
        and c.params.get("chat_id") == PATIENT
    ]


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(250):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_webhook_mode_shows_the_button_it_names(
    dsn: str, clock: Clock, aiohttp_client: Any
) -> None:
    async with FakeBotApi(BOT_TOKEN) as fake:
        settings = make_settings(dsn, telegram_api_url=fake.url, miniapp_url=None)
        app = create_app(settings, clock=clock)
        bot = Bot(await aiohttp_client(app), app, fake)
        await bot.post(message_update("/start"))
        for data in PRESSED:
            await bot.post(callback_update(data))
        await bot.post(message_update("что-нибудь"))
        shown = from_fake(fake)
    assert len(shown) >= 6, shown
    assert not pointing_nowhere(shown), pointing_nowhere(shown)
    booking = book_buttons(shown)
    assert booking and {b["web_app"]["url"] for b in booking} == {"https://clinic.test/"}
    assert any("«Записаться»" in text for text, _ in shown), "the check must have met one"


async def test_polling_without_a_miniapp_address_never_names_the_missing_button(
    dsn: str, clock: Clock, aiohttp_client: Any
) -> None:
    async with FakeBotApi(BOT_TOKEN) as fake:
        settings = make_settings(dsn, telegram_api_url=fake.url, public_url=None, miniapp_url=None)
        assert settings.webapp_url is None
        updates = [message_update("/start"), *(callback_update(d) for d in PRESSED)]
        updates.append(message_update("что-нибудь"))
        for update in updates:
            fake.push_update(update)
        client = await aiohttp_client(create_app(settings, clock=clock))
        await wait_for(lambda: len(from_fake(fake)) >= len(updates), "the bot's answers")
        await wait_for(
            lambda: len(fake.calls_to("answerCallbackQuery")) == len(PRESSED), "the answers"
        )
        shown = from_fake(fake)
        await client.close()
    assert not pointing_nowhere(shown), pointing_nowhere(shown)
    assert not book_buttons(shown)
    assert not any("Записаться" in text for text, _ in shown), shown
    assert any(texts.RU("bot.no_miniapp") in text for text, _ in shown), (
        "say why there is no booking"
    )
    assert not fake.calls_to("setChatMenuButton")


async def demo_conversation(client: TestClient) -> list[Shown]:
    """The conversation on /demo/chat; every bot message as it stood after each step."""
    shown: list[Shown] = []

    async def after(path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        assert (await client.post(path, json=body)).status == 200
        await client.app[keys.bot].intake.drain(5)
        chat = (await (await client.get("/demo/chat/messages")).json())["messages"]
        shown.extend((m["text"], m.get("reply_markup")) for m in chat if m["from_bot"])
        return list(chat)

    chat = await after("/demo/chat/send", {"text": "/start"})
    greeting = next(m for m in chat if m["from_bot"])
    for data in PRESSED:
        await after("/demo/chat/press", {"message_id": greeting["message_id"], "data": data})
    await after("/demo/chat/send", {"text": "что-нибудь"})
    return shown


async def test_demo_mode_has_the_button_and_it_opens_the_miniapp_here(
    dsn: str, clock: Clock, aiohttp_client: Any
) -> None:
    settings: Settings = make_settings(
        dsn, bot_token=None, public_url=None, miniapp_url=None, host="127.0.0.1", port=8765
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    shown = await demo_conversation(client)
    assert not pointing_nowhere(shown), pointing_nowhere(shown)
    booking = book_buttons(shown)
    assert booking, "demo mode's /start must offer «Записаться»"
    assert {b["web_app"]["url"] for b in booking} == {"http://127.0.0.1:8765/"}
    page = await client.get("/demo/chat")
    assert "b.web_app.url" in await page.text(), "the demo chat opens the button's URL"


def test_the_local_address_is_one_a_browser_here_can_open() -> None:
    def local(host: str) -> str:
        demo = Settings(_env_file=None, host=host, port=8000)  # type: ignore[call-arg]
        assert demo.demo and demo.webapp_url == demo.local_url
        return demo.local_url

    assert local("127.0.0.1") == "http://127.0.0.1:8000/"
    assert local("0.0.0.0") == "http://127.0.0.1:8000/"
    assert local("::") == "http://[::1]:8000/"
    assert local("clinic.local") == "http://clinic.local:8000/"
