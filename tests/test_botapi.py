"""The Bot API client against the fake Bot API server, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import time
import traceback
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from clinic.telegram.botapi import (
    BadRequest,
    BotApi,
    BotApiError,
    Forbidden,
    RateLimited,
    ServerError,
    TransportError,
    multipart,
)
from clinic.texts import escape
from tests.fakes.bot_api import FakeBotApi

CHAT = 5_000_001
KEYBOARD = {
    "inline_keyboard": [
        [{"text": "📅 Мои записи", "callback_data": "v1:bookings"}],
        [{"text": "🔖 Записаться", "web_app": {"url": "https://clinic.example/"}}],
    ]
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def api(session: aiohttp.ClientSession, fake: FakeBotApi) -> BotApi:
    return BotApi(session, fake.token, fake.url, request_timeout=2.0)


def assert_token_hidden(error: BaseException, token: str) -> None:
    shown = [str(error), repr(error), "".join(traceback.format_exception(error))]
    assert all(token not in text for text in shown)
    assert all(token.split(":")[1] not in text for text in shown)


async def test_success_returns_the_result(api: BotApi, fake: FakeBotApi) -> None:
    me = await api.get_me()
    first = await api.send_message(CHAT, "Здравствуйте, <b>Анна</b>!")
    second = await api.send_message(CHAT, "ещё")
    other = await api.send_message(CHAT + 1, "другой чат")

    assert me == {**fake.bot_user, "id": 123456789}
    assert me["is_bot"] is True
    assert [first["message_id"], second["message_id"], other["message_id"]] == [1, 2, 1]
    assert first["chat"] == {"id": CHAT, "type": "private"}
    assert first["text"] == "Здравствуйте, Анна!"  # Telegram returns the text without the tags
    assert isinstance(first["date"], int)
    assert await api.call("getMe") == me


async def test_sent_params_are_recorded_as_sent(api: BotApi, fake: FakeBotApi) -> None:
    message = await api.send_message(CHAT, "<i>Меню</i>", reply_markup=KEYBOARD)

    assert [call.method for call in fake.calls] == ["sendMessage"]
    assert fake.calls[0].params == {
        "chat_id": CHAT,
        "text": "<i>Меню</i>",
        "parse_mode": "HTML",
        "reply_markup": KEYBOARD,
        "link_preview_options": {"is_disabled": True},
    }
    assert fake.calls[0].status == 200
    assert message["reply_markup"] == KEYBOARD
    assert fake.sent_messages(CHAT) == [message]
    assert fake.sent_messages(CHAT + 1) == []


async def test_none_values_are_left_out(api: BotApi, fake: FakeBotApi) -> None:
    assert await api.answer_callback_query("q-1") is True
    await api.send_message(CHAT, "plain", parse_mode=None, disable_web_page_preview=False)

    assert fake.calls[0].params == {"callback_query_id": "q-1", "show_alert": False}
    assert fake.calls[1].params == {"chat_id": CHAT, "text": "plain"}


async def test_429_raises_rate_limited_with_retry_after(api: BotApi, fake: FakeBotApi) -> None:
    fake.fail_next("sendMessage", 429, retry_after=7)

    with pytest.raises(RateLimited) as caught:
        await api.send_message(CHAT, "hi")

    error = caught.value
    assert (error.method, error.error_code, error.retry_after) == ("sendMessage", 429, 7.0)
    assert error.description == "Too Many Requests: retry after 7"
    assert_token_hidden(error, fake.token)
    assert (await api.send_message(CHAT, "hi"))["message_id"] == 1  # only the next call failed


async def test_403_raises_forbidden(api: BotApi, fake: FakeBotApi) -> None:
    fake.fail_chat(CHAT, 403)

    for _ in range(2):  # a blocked user stays blocked
        with pytest.raises(Forbidden) as caught:
            await api.send_message(CHAT, "напоминание")
        assert caught.value.error_code == 403
        assert caught.value.description == "Forbidden: bot was blocked by the user"
        assert_token_hidden(caught.value, fake.token)
    assert (await api.send_message(CHAT + 1, "другому можно"))["chat"]["id"] == CHAT + 1
    assert [call.status for call in fake.calls] == [403, 403, 200]


async def test_400_raises_bad_request(api: BotApi, fake: FakeBotApi) -> None:
    fake.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest) as caught:
        await api.send_message(CHAT, "hi")
    assert (caught.value.error_code, caught.value.description) == (
        400,
        "Bad Request: chat not found",
    )
    assert_token_hidden(caught.value, fake.token)


async def test_unescaped_user_input_is_a_bad_request_and_escape_fixes_it(
    api: BotApi, fake: FakeBotApi
) -> None:
    name = "<Иван> & Co"
    with pytest.raises(BadRequest, match="can't parse entities"):
        await api.send_message(CHAT, f"Здравствуйте, <b>{name}</b>!")

    sent = await api.send_message(CHAT, f"Здравствуйте, <b>{escape(name)}</b>!")
    assert sent["text"] == "Здравствуйте, <Иван> & Co!"


def test_escape_escapes_html() -> None:
    assert escape('<b>"Tom" & Jerry</b>') == '&lt;b&gt;"Tom" &amp; Jerry&lt;/b&gt;'
    assert escape("Анна") == "Анна"


@pytest.mark.parametrize("status", [500, 502])
async def test_5xx_raises_server_error(api: BotApi, fake: FakeBotApi, status: int) -> None:
    fake.fail_next("*", status)
    with pytest.raises(ServerError) as caught:
        await api.get_me()
    assert caught.value.error_code == status
    assert_token_hidden(caught.value, fake.token)


async def test_random_faults_and_reset(api: BotApi, fake: FakeBotApi) -> None:
    fake.random_faults(rate_429=0.5, rate_5xx=0.5, seed=7, retry_after=0.25)
    outcomes = set()
    for _ in range(20):
        with pytest.raises((RateLimited, ServerError)) as caught:
            await api.get_me()
        outcomes.add(caught.value.error_code)
        if isinstance(caught.value, RateLimited):
            assert caught.value.retry_after == 0.25
    assert outcomes == {429, 500, 502}

    fake.reset()
    assert fake.calls == []
    assert (await api.get_me())["is_bot"] is True


async def test_a_non_json_body_raises_transport_error(api: BotApi, fake: FakeBotApi) -> None:
    fake.fail_next("sendMessage", 502, body=b"<html><h1>502 Bad Gateway</h1></html>")
    with pytest.raises(TransportError) as caught:
        await api.send_message(CHAT, "hi")
    assert caught.value.error_code == 502
    assert_token_hidden(caught.value, fake.token)


async def test_a_stalled_answer_beyond_the_timeout_raises_transport_error(
    api: BotApi, fake: FakeBotApi
) -> None:
    fake.stall("sendMessage", 5)
    started = time.monotonic()

    with pytest.raises(TransportError) as caught:
        await api.call("sendMessage", {"chat_id": CHAT, "text": "hi"}, timeout=0.2)

    assert time.monotonic() - started < 1.5
    assert caught.value.error_code is None
    assert_token_hidden(caught.value, fake.token)
    assert fake.calls[0].method == "sendMessage"  # it did arrive


async def test_connection_refused_raises_transport_error(session: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "42:connection-refused-secret"
    api = BotApi(session, token, f"http://127.0.0.1:{port}", request_timeout=2.0)

    with pytest.raises(TransportError) as caught:
        await api.get_me()

    assert caught.value.error_code is None
    assert_token_hidden(caught.value, token)


async def test_an_error_that_quotes_the_url_does_not_leak_the_token(
    session: aiohttp.ClientSession,
) -> None:
    token = "42:url-quoting-secret"
    api = BotApi(session, token, "no-scheme.invalid")  # aiohttp's error quotes the whole URL

    with pytest.raises(TransportError) as caught:
        await api.get_me()

    assert_token_hidden(caught.value, token)
    assert token not in repr(api)


async def test_a_wrong_token_is_a_401(session: aiohttp.ClientSession, fake: FakeBotApi) -> None:
    token = "987654:wrong-token-secret"
    api = BotApi(session, token, fake.url)

    with pytest.raises(BotApiError) as caught:
        await api.get_me()

    assert type(caught.value) is BotApiError
    assert (caught.value.error_code, caught.value.description) == (401, "Unauthorized")
    assert_token_hidden(caught.value, token)
    assert fake.calls == []


async def test_get_updates_returns_pushed_updates_from_the_offset(
    api: BotApi, fake: FakeBotApi
) -> None:
    ids = [fake.push_update({"message": {"message_id": n, "text": "/start"}}) for n in range(3)]

    assert [u["update_id"] for u in await api.get_updates()] == ids
    assert [u["update_id"] for u in await api.get_updates(offset=ids[1])] == ids[1:]
    assert await api.get_updates(offset=ids[2] + 1) == []
    assert await api.get_updates() == []  # the offset confirmed them all


async def test_get_updates_long_polls(session: aiohttp.ClientSession, fake: FakeBotApi) -> None:
    # The HTTP timeout must cover the long poll: 0.3 s per request, 1 s of polling.
    api = BotApi(session, fake.token, fake.url, request_timeout=0.3)
    started = time.monotonic()
    assert await api.get_updates(timeout=1) == []
    assert 0.9 < time.monotonic() - started < 2.0

    poll = asyncio.create_task(api.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    update_id = fake.push_update({"callback_query": {"id": "q", "data": "v1:about"}})
    updates = await asyncio.wait_for(poll, 1)
    assert [u["update_id"] for u in updates] == [update_id]


async def test_the_product_methods(api: BotApi, fake: FakeBotApi) -> None:
    hook = "https://clinic.example/telegram/webhook"
    assert await api.set_webhook(hook, secret_token="s3cr3t_-", allowed_updates=["message"])
    assert fake.webhook is not None and fake.webhook["secret_token"] == "s3cr3t_-"
    with pytest.raises(BotApiError) as caught:  # Telegram refuses getUpdates with a webhook
        await api.get_updates()
    assert caught.value.error_code == 409
    assert await api.delete_webhook(drop_pending_updates=True)
    assert fake.webhook is None

    commands = [{"command": "start", "description": "Главное меню"}]
    assert await api.set_my_commands(commands)
    assert fake.commands == commands
    assert await api.set_chat_menu_button(text="Записаться", url="https://clinic.example/")
    assert fake.menu_button == {
        "type": "web_app",
        "text": "Записаться",
        "web_app": {"url": "https://clinic.example/"},
    }

    sent = await api.send_message(CHAT, "Ваши записи: 1", reply_markup=KEYBOARD)
    edited = await api.edit_message_text(CHAT, sent["message_id"], "Ваши записи: 0")
    assert (edited["message_id"], edited["text"]) == (sent["message_id"], "Ваши записи: 0")
    assert "reply_markup" not in edited
    with pytest.raises(BadRequest, match="message is not modified"):
        await api.edit_message_text(CHAT, sent["message_id"], "Ваши записи: 0")
    with pytest.raises(BadRequest, match="message to edit not found"):
        await api.edit_message_text(CHAT, 999, "x")
    with pytest.raises(BadRequest, match="BUTTON_DATA_INVALID"):
        too_long = {"inline_keyboard": [[{"text": "x", "callback_data": "x" * 65}]]}
        await api.send_message(CHAT, "x", reply_markup=too_long)


async def test_the_fake_speaks_get_and_form_posts(
    session: aiohttp.ClientSession, fake: FakeBotApi
) -> None:
    base = f"{fake.url}/bot{fake.token}"

    async def envelope(response: aiohttp.ClientResponse) -> tuple[int, Any]:
        return response.status, await response.json()

    async with session.get(f"{base}/getme") as response:
        assert await envelope(response) == (200, {"ok": True, "result": fake.bot_user})
    form = {"chat_id": str(CHAT), "text": "hi", "reply_markup": '{"inline_keyboard": []}'}
    async with session.post(f"{base}/sendMessage", data=form) as response:
        status, body = await envelope(response)
    assert (status, body["result"]["chat"]["id"]) == (200, CHAT)
    assert fake.calls[-1].params == {
        **form,
        "chat_id": CHAT,
        "reply_markup": {"inline_keyboard": []},
    }
    async with session.post(f"{base}/noSuchMethod") as response:
        assert await envelope(response) == (
            404,
            {"ok": False, "error_code": 404, "description": "Not Found"},
        )


async def test_a_document_is_uploaded_as_multipart_form_data(api: BotApi, fake: FakeBotApi) -> None:
    content = b"BEGIN:VCALENDAR\r\nSUMMARY:\xd0\x9f\xd1\x80\xd0\xb8\xd1\x91\xd0\xbc\r\n"
    sent = await api.send_document(
        CHAT,
        file_name="zapis-7.ics",
        content=content,
        mime_type="text/calendar",
        caption="Приём «в календарь»",
        disable_notification=True,
    )
    assert fake.documents[(CHAT, sent["message_id"])] == content
    assert sent["document"] == {
        "file_name": "zapis-7.ics",
        "mime_type": "text/calendar",
        "file_id": f"fake-file-{CHAT}-{sent['message_id']}",
        "file_size": len(content),
    }
    assert sent["caption"] == "Приём «в календарь»"
    assert fake.calls_to("sendDocument")[-1].params["disable_notification"] is True


async def test_the_fake_reads_another_writers_multipart_and_refuses_a_broken_one(
    session: aiohttp.ClientSession, fake: FakeBotApi
) -> None:
    url = f"{fake.url}/bot{fake.token}/sendDocument"
    form = aiohttp.FormData()  # aiohttp's own writer: per-part Content-Type and charset
    form.add_field("chat_id", str(CHAT))
    form.add_field("caption", "Запись №7")
    form.add_field("document", b"\x01\x02", filename="x.ics", content_type="text/calendar")
    async with session.post(url, data=form) as response:
        answer = await response.json()
    assert answer["ok"] and answer["result"]["caption"] == "Запись №7"
    assert fake.documents[(CHAT, answer["result"]["message_id"])] == b"\x01\x02"

    broken = b'--b\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n42'  # no end
    for body, content_type in (
        (broken, "multipart/form-data; boundary=b"),
        (broken, "multipart/form-data"),
    ):
        async with session.post(url, data=body, headers={"Content-Type": content_type}) as response:
            assert response.status == 400
            assert (await response.json())["description"].startswith("Bad Request: can't parse")


def test_the_multipart_body_reads_back_with_another_parser() -> None:
    fields = {"chat_id": "42", "caption": 'a "quoted"\r\nline: Привет'}
    content = b"\x00\r\n--not-the-boundary\r\n\xff"
    body, content_type = multipart(fields, "document", 'name "x".ics', content, "text/calendar")
    message = email.message_from_bytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body, policy=email.policy.HTTP
    )
    parts = {
        part.get_param("name", header="content-disposition"): part for part in message.iter_parts()
    }
    assert list(parts) == ["chat_id", "caption", "document"]
    assert parts["chat_id"].get_payload(decode=True) == b"42"
    assert parts["caption"].get_payload(decode=True) == fields["caption"].encode()
    upload = parts["document"]
    assert upload.get_filename() == "name %22x%22.ics"
    assert upload.get_content_type() == "text/calendar"
    assert upload.get_payload(decode=True) == content
