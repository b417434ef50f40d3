"""A small typed client for the Telegram Bot API (https://core.telegram.org/bots/api).

One `BotApi` wraps the application's single `aiohttp.ClientSession` (owned by the
caller). `call()` POSTs a JSON body to `{base_url}/bot{token}/{method}` and returns
the `result` of the `{"ok": true, "result": ...}` envelope; every failure raises a
subclass of `BotApiError`. The token is part of the request URL, so this module
never puts a URL, or anything that may contain one, into an exception or a log.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
import orjson

__all__ = [
    "BadRequest",
    "BotApi",
    "BotApiError",
    "Forbidden",
    "RateLimited",
    "ServerError",
    "TransportError",
]

_JSON_HEADERS: Final = {"Content-Type": "application/json"}
_REDACTED: Final = "<token>"


class BotApiError(Exception):
    """The Bot API refused a call or could not be reached.

    `error_code` is Telegram's code (the HTTP status of the answer), or None when
    no answer arrived. `description` is Telegram's text, or what went wrong.
    """

    def __init__(self, method: str, error_code: int | None, description: str) -> None:
        super().__init__(f"{method}: {error_code if error_code is not None else '-'} {description}")
        self.method = method
        self.error_code = error_code
        self.description = description


class RateLimited(BotApiError):
    """429 Too Many Requests: wait `retry_after` seconds before the next call."""

    def __init__(
        self, method: str, error_code: int | None, description: str, *, retry_after: float
    ) -> None:
        super().__init__(method, error_code, description)
        self.retry_after = retry_after


class Forbidden(BotApiError):
    """403: the user blocked the bot, deleted the account, or the bot was kicked."""


class BadRequest(BotApiError):
    """400: the call itself is wrong (bad HTML, unknown chat, message not modified...)."""


class ServerError(BotApiError):
    """5xx: Telegram failed; the same call may succeed later."""


class TransportError(BotApiError):
    """No usable answer: connection error, timeout, or a body that is not the JSON envelope."""


class BotApi:
    """Calls Bot API methods over one shared `aiohttp.ClientSession`."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        base_url: str = "https://api.telegram.org",
        *,
        request_timeout: float = 10.0,
    ) -> None:
        if not token:
            raise ValueError("token is empty")
        self._session = session
        self._token = token
        self._prefix = f"{base_url.rstrip('/')}/bot{token}/"
        self._request_timeout = request_timeout
        self._default_timeout = aiohttp.ClientTimeout(total=request_timeout)

    def __repr__(self) -> str:
        return f"<BotApi request_timeout={self._request_timeout}>"

    async def call(
        self,
        method: str,
        params: dict[str, object] | None = None,
        *,
        # The contract names it `timeout`: it bounds one HTTP exchange, set per call.
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        """Call `method` with `params` (None values are left out) and return its result.

        `timeout` bounds the whole HTTP exchange in seconds; the default is the
        client's `request_timeout`.
        """
        body = b"{}" if not params else orjson.dumps(_without_none(params))
        return await self._post(method, body, _JSON_HEADERS, timeout)

    async def call_with_file(
        self,
        method: str,
        params: dict[str, object],
        *,
        field: str,
        file_name: str,
        content: bytes,
        mime_type: str,
    ) -> Any:
        """Like `call`, as multipart/form-data with one file uploaded in `field`."""
        fields = {
            key: value if isinstance(value, str) else orjson.dumps(value).decode()
            for key, value in _without_none(params).items()
        }
        body, content_type = multipart(fields, field, file_name, content, mime_type)
        return await self._post(method, body, {"Content-Type": content_type}, None)

    async def _post(
        self,
        method: str,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float | None,  # noqa: ASYNC109
    ) -> Any:
        client_timeout = (
            self._default_timeout if timeout is None else aiohttp.ClientTimeout(total=timeout)
        )
        try:
            async with self._session.post(
                self._prefix + method,
                data=body,
                headers=headers,
                timeout=client_timeout,
                raise_for_status=False,
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError:
            seconds = self._request_timeout if timeout is None else timeout
            raise TransportError(method, None, f"no answer within {seconds:g} s") from None
        except aiohttp.ClientError as exc:
            # Chaining is cut (`from None`): aiohttp's own messages may carry the URL.
            raise TransportError(method, None, self._describe(exc)) from None
        return self._unwrap(method, status, raw)

    def _unwrap(self, method: str, status: int, raw: bytes) -> Any:
        try:
            envelope = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise TransportError(method, status, f"HTTP {status} with a non-JSON body") from None
        if not isinstance(envelope, dict) or "ok" not in envelope:
            raise TransportError(method, status, f"HTTP {status} without a Bot API envelope")
        if envelope["ok"] is True:
            return envelope.get("result")

        code = envelope.get("error_code")
        error_code = code if isinstance(code, int) else status
        description = self._redact(str(envelope.get("description") or f"HTTP {status}"))
        if error_code == 429:
            parameters = envelope.get("parameters")
            retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
            if not isinstance(retry_after, int | float) or retry_after < 0:
                retry_after = 1.0
            raise RateLimited(method, error_code, description, retry_after=float(retry_after))
        if error_code == 403:
            raise Forbidden(method, error_code, description)
        if error_code == 400:
            raise BadRequest(method, error_code, description)
        if 500 <= error_code <= 599:
            raise ServerError(method, error_code, description)
        raise BotApiError(method, error_code, description)

    def _describe(self, exc: BaseException) -> str:
        detail = self._redact(str(exc))
        return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__

    def _redact(self, text: str) -> str:
        text = text.replace(self._token, _REDACTED)
        secret = self._token.partition(":")[2]  # the bot id before ":" is no secret
        return text.replace(secret, _REDACTED) if secret else text

    # --- the methods the product uses -------------------------------------------

    async def send_message(
        self,
        chat_id: int | str,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
        parse_mode: str | None = "HTML",
        disable_web_page_preview: bool = True,
        disable_notification: bool = False,
    ) -> dict[str, Any]:
        """Send a text message; returns the sent Message. `disable_notification`: it
        arrives without a sound."""
        params: dict[str, object] = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": parse_mode,
            "reply_markup": reply_markup,
            "disable_notification": disable_notification or None,
        }
        if disable_web_page_preview:
            # Bot API 7.0 replaced disable_web_page_preview with link_preview_options.
            params["link_preview_options"] = {"is_disabled": True}
        result: dict[str, Any] = await self.call("sendMessage", params)
        return result

    async def send_document(
        self,
        chat_id: int | str,
        *,
        file_name: str,
        content: bytes,
        mime_type: str,
        caption: str | None = None,
        reply_markup: dict[str, Any] | None = None,
        parse_mode: str | None = "HTML",
        disable_notification: bool = False,
    ) -> dict[str, Any]:
        """Upload a file as a document with a caption; returns the sent Message."""
        result: dict[str, Any] = await self.call_with_file(
            "sendDocument",
            {
                "chat_id": str(chat_id),
                "caption": caption,
                "parse_mode": parse_mode,
                "reply_markup": reply_markup,
                "disable_notification": "true" if disable_notification else None,
            },
            field="document",
            file_name=file_name,
            content=content,
            mime_type=mime_type,
        )
        return result

    async def edit_message_text(
        self,
        chat_id: int | str,
        message_id: int,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
        parse_mode: str | None = "HTML",
    ) -> dict[str, Any]:
        """Replace the text (and keyboard) of a message the bot sent; returns the Message."""
        result: dict[str, Any] = await self.call(
            "editMessageText",
            {
                "chat_id": chat_id,
                "message_id": message_id,
                "text": text,
                "parse_mode": parse_mode,
                "reply_markup": reply_markup,
                "link_preview_options": {"is_disabled": True},
            },
        )
        return result

    async def edit_message_reply_markup(
        self, chat_id: int | str, message_id: int, *, reply_markup: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Replace (None: remove) only the inline keyboard of a message; its text stays."""
        result: dict[str, Any] = await self.call(
            "editMessageReplyMarkup",
            {"chat_id": chat_id, "message_id": message_id, "reply_markup": reply_markup},
        )
        return result

    async def answer_callback_query(
        self, callback_query_id: str, *, text: str | None = None, show_alert: bool = False
    ) -> bool:
        """Stop the button's progress indicator, optionally with a notice or an alert."""
        return bool(
            await self.call(
                "answerCallbackQuery",
                {"callback_query_id": callback_query_id, "text": text, "show_alert": show_alert},
            )
        )

    async def set_webhook(
        self,
        url: str,
        *,
        secret_token: str,
        allowed_updates: list[str],
        drop_pending_updates: bool = False,
    ) -> bool:
        """Have Telegram POST updates to `url` with the X-Telegram-Bot-Api-Secret-Token header."""
        return bool(
            await self.call(
                "setWebhook",
                {
                    "url": url,
                    "secret_token": secret_token,
                    "allowed_updates": allowed_updates,
                    "drop_pending_updates": drop_pending_updates,
                },
            )
        )

    async def delete_webhook(self, *, drop_pending_updates: bool = False) -> bool:
        """Remove the webhook (needed before getUpdates works)."""
        return bool(
            await self.call("deleteWebhook", {"drop_pending_updates": drop_pending_updates})
        )

    async def get_updates(
        self,
        *,
        offset: int | None = None,
        timeout: int = 0,  # noqa: ASYNC109 - Telegram's long-poll parameter
        allowed_updates: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Long-poll for updates with update_id >= offset; waits up to `timeout` seconds.

        Passing an offset confirms (and makes Telegram forget) every earlier update.
        """
        result: list[dict[str, Any]] = await self.call(
            "getUpdates",
            {"offset": offset, "timeout": timeout, "allowed_updates": allowed_updates},
            # The server may hold the request for `timeout` seconds before it answers.
            timeout=self._request_timeout + timeout,
        )
        return result

    async def set_my_commands(
        self, commands: list[dict[str, str]], *, language_code: str | None = None
    ) -> bool:
        """Set the command list, e.g. `[{"command": "start", "description": "..."}]`, for
        users of one language (two letters) or, without one, for everyone else."""
        params: dict[str, Any] = {"commands": commands}
        if language_code:
            params["language_code"] = language_code
        return bool(await self.call("setMyCommands", params))

    async def set_chat_menu_button(self, *, text: str, url: str) -> bool:
        """Make the default menu button open the Web App at `url` (HTTPS)."""
        return bool(
            await self.call(
                "setChatMenuButton",
                {"menu_button": {"type": "web_app", "text": text, "web_app": {"url": url}}},
            )
        )

    async def get_me(self) -> dict[str, Any]:
        """The bot's own User object."""
        result: dict[str, Any] = await self.call("getMe")
        return result


def multipart(
    fields: Mapping[str, str], field: str, file_name: str, content: bytes, mime_type: str
) -> tuple[bytes, str]:
    """A multipart/form-data body (RFC 7578) of text `fields` and one file, written out at
    once, and its Content-Type. The boundary is random, and drawn again in the unlikely
    case that the content holds it."""
    boundary = secrets.token_hex(16)
    while boundary.encode() in content or any(boundary in value for value in fields.values()):
        boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(key)}"\r\n\r\n'
        f"{value}\r\n".encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(field)}"; '
        f'filename="{_quoted(file_name)}"\r\nContent-Type: {mime_type}\r\n\r\n'.encode()
    )
    parts += [content, f"\r\n--{boundary}--\r\n".encode()]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _quoted(name: str) -> str:
    """A name or file name inside quotes, as browsers write it (HTML's form encoding)."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _without_none(params: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in params.items() if value is not None}
