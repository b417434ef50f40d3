"""A fake Telegram Bot API server on loopback, for tests, benchmarks and demos.

It speaks the real protocol: `/bot<token>/<method>` (POST JSON or form, or GET with
a query string; method names are case-insensitive), the `{"ok": true, "result": ...}`
envelope, and Telegram's error envelope. It checks what Telegram checks on the
methods the product uses, so bugs show up here rather than in production: HTML
parse mode is parsed (unknown or unbalanced tags answer 400 "can't parse
entities", and the Message it returns carries the text with the tags removed, as
Telegram's does), callback_data must be 1-64 bytes, Web App URLs must be HTTPS,
command names must be lower-case. Error descriptions are Telegram's where known.

In-process use:

    async with FakeBotApi() as fake:
        api = BotApi(session, fake.token, fake.url)
        fake.fail_next("sendMessage", 429, retry_after=1)

Standalone (benchmarks, demos): `python -m tests.fakes.bot_api --port 8081 --token T`
prints the base URL and serves until SIGTERM/SIGINT. For other processes it also
serves `GET /_fake/stats`, `GET /_fake/messages[?chat_id=]`, `POST /_fake/updates`
(body: one Update) and `POST /_fake/reset`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import random
import re
import signal
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, NoReturn

import orjson
from aiohttp import hdrs, web

DEFAULT_TOKEN = "123456789:AAFakeTokenForTests_0123456789abcdef"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_HTML_TAGS = _words(
    "b strong i em u ins s strike del span tg-spoiler a tg-emoji code pre blockquote"
)
_BUTTON_ACTIONS = _words(
    "callback_data url web_app login_url switch_inline_query switch_inline_query_current_chat"
    " switch_inline_query_chosen_chat copy_text callback_game pay"
)
_JSON_FIELDS = _words("reply_markup allowed_updates commands menu_button link_preview_options")
_INT_FIELDS = _words("chat_id message_id offset limit timeout")
_TAG_RE = re.compile(r"<(/?)([^\s/>]*)([^>]*)>")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(slots=True)
class RecordedCall:
    """One call that reached the fake with the right token."""

    method: str  # canonical spelling, e.g. "sendMessage"
    params: dict[str, Any]
    monotonic: float  # time.monotonic() on arrival
    wall_time: float  # time.time() on arrival
    status: int | None = None  # HTTP status answered; None while the answer is pending


@dataclass(slots=True)
class _Fault:
    status: int
    description: str
    retry_after: float | None = None
    body: bytes | None = None


class _ApiFail(Exception):
    def __init__(self, status: int, description: str | None = None) -> None:
        super().__init__(status)
        self.fault = _Fault(status, description or _default_description(status))


_Handler = Callable[[dict[str, Any]], Awaitable[tuple[Any, str | None]]]


class FakeBotApi:
    """The fake server; every field is inspectable from the test."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "clinic_test_bot",
        max_poll_timeout: float = 50.0,
    ) -> None:
        self.token = token
        self.max_poll_timeout = max_poll_timeout
        bot_id = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": int(bot_id) if bot_id.isdigit() else 1,
            "is_bot": True,
            "first_name": "Clinic Test Bot",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._sender = {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}
        self._handlers: dict[str, tuple[str, _Handler]] = {
            name.lower(): (name, handler)
            for name, handler in [
                ("getMe", self._get_me),
                ("sendMessage", self._send_message),
                ("sendDocument", self._send_document),
                ("editMessageText", self._edit_message_text),
                ("editMessageReplyMarkup", self._edit_message_reply_markup),
                ("answerCallbackQuery", self._answer_callback_query),
                ("setWebhook", self._set_webhook),
                ("deleteWebhook", self._delete_webhook),
                ("getWebhookInfo", self._get_webhook_info),
                ("getUpdates", self._get_updates),
                ("setMyCommands", self._set_my_commands),
                ("getMyCommands", self._get_my_commands),
                ("setChatMenuButton", self._set_chat_menu_button),
                ("getChatMenuButton", self._get_chat_menu_button),
            ]
        }
        self._update_id = 0
        self._closing = asyncio.Event()
        self._changed = asyncio.Event()
        self._poll_generation = 0
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self.reset()
        self.app = web.Application()
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self.app.router.add_get("/_fake/stats", self._stats)
        self.app.router.add_get("/_fake/messages", self._messages_page)
        self.app.router.add_post("/_fake/updates", self._push_update_page)
        self.app.router.add_post("/_fake/reset", self._reset_page)
        self.app.router.add_route("*", "/{tail:.*}", self._not_found)

    # --- running ----------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._closing = asyncio.Event()
        self._changed = asyncio.Event()
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1]
        self._url = f"http://[{host}]:{bound}" if ":" in host else f"http://{host}:{bound}"

    async def close(self) -> None:
        self._closing.set()  # wakes long polls and stalled answers
        self._changed.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """The base URL to give the client (TELEGRAM_API_URL), without the /bot part."""
        if self._url is None:
            raise RuntimeError("FakeBotApi is not started")
        return self._url

    # --- inspecting and programming ---------------------------------------------

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages sendMessage created, in order, as they were sent (later edits not applied)."""
        if chat_id is None:
            return list(self._sent)
        return [m for m in self._sent if m["chat"]["id"] == chat_id]

    def sent_documents(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages sendDocument created, in order; their uploads are in `documents`."""
        return [m for m in self._documents if chat_id in (None, m["chat"]["id"])]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current state of a message (edits applied)."""
        return self._messages.get((chat_id, message_id))

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an Update for getUpdates; an update_id is assigned when absent. Returns it."""
        update_id = update.get("update_id")
        if not isinstance(update_id, int):
            update_id = self._update_id + 1
            update = {"update_id": update_id, **update}
        self._update_id = max(self._update_id, update_id)
        self._updates.append(update)
        self._wake_pollers()
        return update_id

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        retry_after: float | None = None,
        description: str | None = None,
        times: int = 1,
        body: bytes | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` ("*": any method) with an error.

        429 carries parameters.retry_after (default 1). `body` replaces the JSON
        envelope with raw bytes, e.g. a proxy's HTML error page.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or _default_description(status, retry_after)
        fault = _Fault(status, text, retry_after if status == 429 else None, body)
        self._faults[method.lower()].extend([fault] * times)

    def fail_chat(self, chat_id: int, status: int = 403) -> None:
        """Every call naming this chat answers `status` (403: the user blocked the bot)."""
        self._failed_chats[chat_id] = _Fault(status, _default_description(status))

    def stall(self, method: str, seconds: float) -> None:
        """Hold every answer to `method` ("*": any) for `seconds`; 0 stops stalling."""
        if seconds > 0:
            self._stalls[method.lower()] = seconds
        else:
            self._stalls.pop(method.lower(), None)

    def random_faults(
        self,
        rate_429: float = 0.1,
        rate_5xx: float = 0.05,
        seed: int | None = None,
        *,
        retry_after: float = 1,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Fail calls at random (of `methods`, default all): 429s and 500/502s."""
        self._random = random.Random(seed)
        self._random_rates = (rate_429, rate_429 + rate_5xx, retry_after)
        self._random_methods = None if methods is None else {m.lower() for m in methods}

    def reset(self) -> None:
        """Forget calls, messages, updates, webhook and every programmed fault."""
        self.calls: list[RecordedCall] = []
        self.webhook: dict[str, Any] | None = None  # the last setWebhook's parameters
        self.commands: list[dict[str, str]] = []  # for every language with none of its own
        self.commands_by_language: dict[str, list[dict[str, str]]] = {}
        self.menu_button: dict[str, Any] = {"type": "default"}
        self._sent: list[dict[str, Any]] = []
        self.documents: dict[tuple[int, int], bytes] = {}  # what sendDocument uploaded
        self._documents: list[dict[str, Any]] = []
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._last_message_id: dict[int, int] = defaultdict(int)
        self._updates: deque[dict[str, Any]] = deque()
        self._faults: defaultdict[str, deque[_Fault]] = defaultdict(deque)
        self._failed_chats: dict[int, _Fault] = {}
        self._stalls: dict[str, float] = {}
        self._random: random.Random | None = None
        self._random_rates = (0.0, 0.0, 1.0)
        self._random_methods: set[str] | None = None

    # --- the protocol -----------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error_response(_Fault(401, "Unauthorized"))
        known = self._handlers.get(request.match_info["method"].lower())
        if known is None:
            return _error_response(_Fault(404, "Not Found"))
        name, handler = known
        try:
            params = await _read_params(request)
        except _ApiFail as exc:
            return _error_response(exc.fault)
        call = RecordedCall(name, params, time.monotonic(), time.time())
        self.calls.append(call)
        if self._stalls:
            delay = self._stalls.get(name.lower()) or self._stalls.get("*")
            if delay:
                await self._pause(delay)
        fault = self._injected_fault(name.lower(), params)
        if fault is None:
            try:
                result, description = await handler(params)
            except _ApiFail as exc:
                fault = exc.fault
        if fault is not None:
            call.status = fault.status
            return _error_response(fault)
        call.status = 200
        envelope: dict[str, Any] = {"ok": True, "result": result}
        if description:
            envelope["description"] = description
        return web.Response(body=orjson.dumps(envelope), content_type="application/json")

    def _injected_fault(self, method: str, params: dict[str, Any]) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                return queue.popleft()
        if self._failed_chats:
            chat_id = params.get("chat_id")
            if isinstance(chat_id, int) and chat_id in self._failed_chats:
                return self._failed_chats[chat_id]
        if self._random is not None and (
            self._random_methods is None or method in self._random_methods
        ):
            draw = self._random.random()
            below_429, below_5xx, retry_after = self._random_rates
            if draw < below_429:
                return _Fault(429, _default_description(429, retry_after), retry_after)
            if draw < below_5xx:
                return _ApiFail(self._random.choice((500, 502))).fault
        return None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # --- methods ----------------------------------------------------------------

    async def _get_me(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        return self.bot_user, None

    async def _send_message(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        chat_id = _chat_id(params)
        text = _render_text(params)
        markup = _checked_markup(params.get("reply_markup"))
        self._last_message_id[chat_id] += 1
        message: dict[str, Any] = {
            "message_id": self._last_message_id[chat_id],
            "from": self._sender,
            "chat": {"id": chat_id, "type": _chat_type(chat_id)},
            "date": int(time.time()),
            "text": text,
        }
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        self._sent.append(message)
        return message, None

    async def _send_document(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        """An uploaded file (multipart) or a file_id; the caption is rendered like a text."""
        chat_id = _chat_id(params)
        document = params.get("document")
        if not isinstance(document, dict):
            if isinstance(document, str) and document:
                document = {"file_name": None, "mime_type": None, "content": b""}
            else:
                raise _ApiFail(400, "Bad Request: there is no document in the request")
        caption = ""
        if params.get("caption"):
            caption = _render_text({**params, "text": params["caption"]})
            if len(caption) > 1024:
                raise _ApiFail(400, "Bad Request: message caption is too long")
        markup = _checked_markup(params.get("reply_markup"))
        self._last_message_id[chat_id] += 1
        message: dict[str, Any] = {
            "message_id": self._last_message_id[chat_id],
            "from": self._sender,
            "chat": {"id": chat_id, "type": _chat_type(chat_id)},
            "date": int(time.time()),
            "document": {
                "file_name": document["file_name"],
                "mime_type": document["mime_type"],
                "file_id": f"fake-file-{chat_id}-{self._last_message_id[chat_id]}",
                "file_size": len(document["content"]),
            },
            "caption": caption,
            # What the chat shows: the caption; kept under "text" for the tests' reading.
            "text": caption,
        }
        self.documents[(chat_id, message["message_id"])] = document["content"]
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        self._documents.append(message)
        return message, None

    async def _edit_message_text(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        if params.get("inline_message_id") is None and params.get("message_id") is None:
            raise _ApiFail(400, "Bad Request: message identifier is not specified")
        message_id = params.get("message_id")
        key = (_chat_id(params), message_id if isinstance(message_id, int) else 0)
        old = self._messages.get(key)
        if old is None:
            raise _ApiFail(400, "Bad Request: message to edit not found")
        text = _render_text(params)
        markup = _checked_markup(params.get("reply_markup"))
        if text == old["text"] and markup == old.get("reply_markup"):
            raise _ApiFail(400, _NOT_MODIFIED)
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        edited = {k: v for k, v in old.items() if k != "reply_markup"}
        edited.update(text=text, edit_date=int(time.time()))
        if markup is not None:
            edited["reply_markup"] = markup
        self._messages[key] = edited
        return edited, None

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        """Only the inline keyboard changes (none given: it goes); the text stays."""
        if params.get("inline_message_id") is None and params.get("message_id") is None:
            raise _ApiFail(400, "Bad Request: message identifier is not specified")
        message_id = params.get("message_id")
        key = (_chat_id(params), message_id if isinstance(message_id, int) else 0)
        old = self._messages.get(key)
        if old is None:
            raise _ApiFail(400, "Bad Request: message to edit not found")
        markup = _checked_markup(params.get("reply_markup"))
        if markup == old.get("reply_markup"):
            raise _ApiFail(400, _NOT_MODIFIED)
        edited = {k: v for k, v in old.items() if k != "reply_markup"}
        edited["edit_date"] = int(time.time())
        if markup is not None:
            edited["reply_markup"] = markup
        self._messages[key] = edited
        return edited, None

    async def _answer_callback_query(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        if not params.get("callback_query_id"):
            raise _ApiFail(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        return True, None

    async def _set_webhook(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        url = params.get("url") or ""
        if not url:
            return await self._delete_webhook(params)
        if not str(url).startswith("https://"):
            raise _ApiFail(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise _ApiFail(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = dict(params)
        self._wake_pollers()
        return True, "Webhook was set"

    async def _delete_webhook(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        existed, self.webhook = self.webhook is not None, None
        return True, "Webhook was deleted" if existed else "Webhook is already deleted"

    async def _get_webhook_info(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        info: dict[str, Any] = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook and self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info, None

    async def _get_updates(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        if self.webhook is not None:
            raise _ApiFail(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if isinstance(offset, int) and offset != 0:
            if offset < 0:  # the last -offset updates; earlier ones are forgotten
                while len(self._updates) > -offset:
                    self._updates.popleft()
            else:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
        limit = params.get("limit")
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout")
        wait = min(float(timeout), self.max_poll_timeout) if isinstance(timeout, int | float) else 0
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()  # a newer getUpdates ends an older one, as in Telegram
        deadline = time.monotonic() + wait
        while not self._updates and not self._closing.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                break
            if generation != self._poll_generation:
                raise _ApiFail(409)
        return [u for _, u in zip(range(limit), self._updates, strict=False)], None

    async def _set_my_commands(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiFail(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(
                str(command.get("command", ""))
            ):
                raise _ApiFail(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _ApiFail(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _ApiFail(400, "Bad Request: invalid language code specified")
        if language:
            self.commands_by_language[language] = commands
        else:
            self.commands = commands
        return True, None

    async def _get_my_commands(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        language = str(params.get("language_code") or "")
        if language:
            return self.commands_by_language.get(language, []), None
        return self.commands, None

    async def _set_chat_menu_button(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in {
            "default",
            "commands",
            "web_app",
        }:
            raise _ApiFail(400, "Bad Request: can't parse menu button JSON object")
        if button["type"] == "web_app":
            if not button.get("text"):
                raise _ApiFail(400, "Bad Request: menu button text is empty")
            _check_web_app_url(button.get("web_app"))
        self.menu_button = button
        return True, None

    async def _get_chat_menu_button(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        return self.menu_button, None

    # --- helpers and the pages for other processes ------------------------------

    def _wake_pollers(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error_response(_Fault(404, "Not Found"))

    async def _stats(self, request: web.Request) -> web.Response:
        by_method: dict[str, Counter[str]] = defaultdict(Counter)
        for call in self.calls:
            by_method[call.method][str(call.status)] += 1
        body = {"calls": len(self.calls), "messages": len(self._sent), "by_method": by_method}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def _messages_page(self, request: web.Request) -> web.Response:
        chat_id = request.query.get("chat_id")
        messages = self.sent_messages(int(chat_id) if chat_id else None)
        return web.Response(body=orjson.dumps(messages), content_type="application/json")

    async def _push_update_page(self, request: web.Request) -> web.Response:
        update_id = self.push_update(orjson.loads(await request.read()))
        body = orjson.dumps({"update_id": update_id})
        return web.Response(body=body, content_type="application/json")

    async def _reset_page(self, request: web.Request) -> web.Response:
        self.reset()
        return web.Response(body=b"{}", content_type="application/json")


async def _read_params(request: web.Request) -> dict[str, Any]:
    """The call's parameters: query string, then a JSON or form body on top."""
    params: dict[str, Any] = {}
    texts: dict[str, str] = dict(request.query) if request.query_string else {}
    if request.can_read_body:
        # The media type off the raw header: aiohttp's parse of it costs more than the
        # rest of a call (this server is the benchmarks' far end, too).
        header = request.headers.get(hdrs.CONTENT_TYPE, "")
        kind = header.partition(";")[0].strip().lower()
        if kind == "application/json":
            raw = await request.read()
            try:
                body = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError:
                raise _ApiFail(400, "Bad Request: can't parse JSON encoded request") from None
            if not isinstance(body, dict):
                raise _ApiFail(400, "Bad Request: can't parse JSON encoded request")
            params = body
        elif kind == "multipart/form-data":
            fields, files = _multipart(header, await request.read())
            texts.update(fields)
            params.update(files)
        else:
            form = await request.post()
            texts.update((k, v) for k, v in form.items() if isinstance(v, str))
            for key, value in form.items():
                if isinstance(value, web.FileField):  # an upload: kept whole, as sent
                    params[key] = {
                        "file_name": value.filename,
                        "mime_type": value.content_type,
                        "content": value.file.read(),
                    }
    for key, value in texts.items():  # form and query values are strings, like Telegram's
        params.setdefault(key, _from_text(key, value))
    return params


_PARAM = re.compile(r';\s*([A-Za-z*]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def _params_of(header: str) -> dict[str, str]:
    """The parameters of a header value (`type; name="x"; b=y`), names in lower case."""
    return {
        match[1].lower(): match[2] if match[2] is not None else match[3]
        for match in _PARAM.finditer(header)
    }


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    """A multipart/form-data body (RFC 7578) as its text fields and its files, each file
    kept whole as sent; a body that does not follow the format is a 400."""
    unreadable = _ApiFail(400, "Bad Request: can't parse multipart/form-data request")
    boundary = _params_of(content_type).get("boundary")
    if not boundary:
        raise unreadable
    parts = (b"\r\n" + body).split(b"\r\n--" + boundary.encode())
    if len(parts) < 2 or parts[0] or not parts[-1].startswith(b"--"):
        raise unreadable
    fields: dict[str, str] = {}
    files: dict[str, Any] = {}
    for part in parts[1:-1]:
        head, blank, content = part.partition(b"\r\n\r\n")
        if not blank:
            raise unreadable
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n")[1:]:
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        named = _params_of(disposition)
        if not disposition.lower().startswith("form-data") or "name" not in named:
            raise unreadable
        if "filename" in named:
            files[named["name"]] = {
                "file_name": named["filename"],
                "mime_type": headers.get("content-type", "application/octet-stream"),
                "content": content,
            }
        else:
            try:
                fields[named["name"]] = content.decode()
            except UnicodeDecodeError:
                raise unreadable from None
    return fields, files


def _from_text(key: str, value: str) -> Any:
    if key in _JSON_FIELDS:
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise _ApiFail(400, f"Bad Request: can't parse {key} JSON object") from None
    if key in _INT_FIELDS and value.lstrip("-").isdigit():
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    return value


def _chat_id(params: dict[str, Any]) -> int:
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise _ApiFail(400, "Bad Request: chat_id is empty")
    if isinstance(chat_id, bool) or not isinstance(chat_id, int):
        raise _ApiFail(400, "Bad Request: chat not found")  # @usernames: no channels here
    return chat_id


def _chat_type(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def _render_text(params: dict[str, Any]) -> str:
    text = params.get("text")
    if text is None or text == "":
        raise _ApiFail(400, "Bad Request: message text is empty")
    text = str(text)
    if str(params.get("parse_mode") or "").lower() == "html" and ("<" in text or "&" in text):
        text = _html_plain_text(text)
    if not text.strip():
        raise _ApiFail(400, "Bad Request: message text is empty")
    if len(text) > 4096:
        raise _ApiFail(400, "Bad Request: message is too long")
    return text


def _html_plain_text(source: str) -> str:
    """Telegram's HTML parse mode: supported tags only, balanced; returns the plain text.

    As in Telegram, every "<" must open or close a supported tag (user input must
    be escaped); the text between tags has its HTML entities decoded.
    """
    parts: list[str] = []
    open_tags: list[str] = []
    position = 0
    while (start := source.find("<", position)) >= 0:
        parts.append(html.unescape(source[position:start]))
        tag = _TAG_RE.match(source, start)
        if tag is None:
            _entities_fail("Unclosed start tag", source, start)
        closing, name, rest = tag[1], tag[2].lower(), tag[3]
        if closing and not open_tags:
            _entities_fail("Unexpected end tag", source, start)
        elif closing and name and name != open_tags[-1]:
            found = f', expected "</{open_tags[-1]}>", found "</{name}>"'
            _entities_fail("Unmatched end tag", source, start, found)
        elif closing:
            open_tags.pop()
        elif name not in _HTML_TAGS or (name == "span" and "tg-spoiler" not in rest):
            _entities_fail(f'Unsupported start tag "{name}"', source, start)
        else:
            open_tags.append(name)
        position = tag.end()
    if open_tags:
        _entities_fail(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    parts.append(html.unescape(source[position:]))
    return "".join(parts)


def _entities_fail(what: str, source: str = "", at: int = -1, more: str = "") -> NoReturn:
    where = f" at byte offset {len(source[:at].encode())}" if at >= 0 else ""
    raise _ApiFail(400, f"Bad Request: can't parse entities: {what}{where}{more}")


def _checked_markup(markup: Any) -> dict[str, Any] | None:
    """Validate reply_markup; returns what a Message echoes (inline keyboards only)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _ApiFail(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None  # reply keyboards and the like are accepted but not echoed
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _ApiFail(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _ApiFail(
                    400,
                    'Bad Request: can\'t parse inline keyboard button: Field "text" must be '
                    "of type String",
                )
            if not _BUTTON_ACTIONS.intersection(button):
                raise _ApiFail(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )
            if "callback_data" in button and not (
                1 <= len(str(button["callback_data"]).encode()) <= 64
            ):
                raise _ApiFail(400, "Bad Request: BUTTON_DATA_INVALID")
            if "web_app" in button:
                _check_web_app_url(button["web_app"])
    return markup if rows else None


def _check_web_app_url(web_app: Any) -> None:
    url = web_app.get("url") if isinstance(web_app, dict) else None
    if not isinstance(url, str) or not url.startswith("https://"):
        raise _ApiFail(
            400,
            f"Bad Request: inline keyboard button Web App URL '{url}' is invalid: "
            "Only HTTPS links are allowed",
        )


def _default_description(status: int, retry_after: float | None = None) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after if retry_after is not None else 1:g}"
    if status in _DESCRIPTIONS:
        return _DESCRIPTIONS[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _error_response(fault: _Fault) -> web.Response:
    if fault.body is not None:
        return web.Response(status=fault.status, body=fault.body, content_type="text/html")
    envelope: dict[str, Any] = {
        "ok": False,
        "error_code": fault.status,
        "description": fault.description,
    }
    if fault.retry_after is not None:
        envelope["parameters"] = {"retry_after": fault.retry_after}
    return web.Response(
        status=fault.status, body=orjson.dumps(envelope), content_type="application/json"
    )


async def serve_until_signalled(fake: FakeBotApi, host: str, port: int) -> None:
    """Serves `fake` as a process of its own: prints its URL, stops on SIGTERM or SIGINT."""
    await fake.start(host, port)
    print(fake.url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.close()


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeBotApi(args.token)
    if args.rate_429 or args.rate_5xx:
        fake.random_faults(args.rate_429, args.rate_5xx, args.seed, retry_after=args.retry_after)
    await serve_until_signalled(fake, args.host, args.port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Telegram Bot API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--rate-429", type=float, default=0.0, help="share of calls answered 429")
    parser.add_argument("--rate-5xx", type=float, default=0.0, help="share answered 500/502")
    parser.add_argument("--retry-after", type=float, default=1, help="retry_after of those 429s")
    parser.add_argument("--seed", type=int, default=None)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
