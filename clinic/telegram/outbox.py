"""Where the bot's messages go: the Bot API, or in demo mode an in-memory outbox.

Both satisfy `Sender`; the bot and the reminder dispatcher use only that.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from typing import Any, Protocol

log = logging.getLogger("clinic.demo")


class Sender(Protocol):
    async def send_message(
        self,
        chat_id: int | str,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
        disable_notification: bool = False,
    ) -> dict[str, Any]: ...

    async def send_document(
        self,
        chat_id: int | str,
        *,
        file_name: str,
        content: bytes,
        mime_type: str,
        caption: str | None = None,
        reply_markup: dict[str, Any] | None = None,
        disable_notification: bool = False,
    ) -> dict[str, Any]: ...

    async def edit_message_text(
        self,
        chat_id: int | str,
        message_id: int,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
    ) -> dict[str, Any]: ...

    async def edit_message_reply_markup(
        self, chat_id: int | str, message_id: int, *, reply_markup: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...

    async def answer_callback_query(
        self, callback_query_id: str, *, text: str | None = None, show_alert: bool = False
    ) -> bool: ...


class DemoOutbox:
    """Keeps what the bot would send, per chat, for the demo chat page and the log.

    Messages are shaped like the Bot API's Message objects. Each chat keeps its last
    `keep` messages; `changed` wakes readers waiting for something new.
    """

    def __init__(self, *, keep: int = 200) -> None:
        self._keep = keep
        self._chats: dict[int, deque[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self.changed = asyncio.Condition()
        self.version = 0

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        return list(self._chats.get(chat_id, ()))

    def record(self, chat_id: int, message: dict[str, Any]) -> None:
        """Adds a message to a chat: the bot's own, or the patient's (from the demo page)."""
        self._chats.setdefault(chat_id, deque(maxlen=self._keep)).append(message)
        self.version += 1

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def send_document(
        self,
        chat_id: int | str,
        *,
        file_name: str,
        content: bytes,
        mime_type: str,
        caption: str | None = None,
        reply_markup: dict[str, Any] | None = None,
        disable_notification: bool = False,
    ) -> dict[str, Any]:
        """Kept like a message whose text is the caption, with the document's name."""
        message = await self.send_message(chat_id, caption or "", reply_markup=reply_markup)
        message["document"] = {
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        return message

    async def send_message(
        self,
        chat_id: int | str,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
        disable_notification: bool = False,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "chat": {"id": int(chat_id), "type": "private"},
            "date": int(time.time()),
            "from_bot": True,
            "text": text,
        }
        if reply_markup is not None:
            message["reply_markup"] = reply_markup
        log.info("bot -> chat %s: %s", chat_id, text)
        self.record(int(chat_id), message)
        await self._notify()
        return message

    async def edit_message_text(
        self,
        chat_id: int | str,
        message_id: int,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        for message in self._chats.get(int(chat_id), ()):
            if message["message_id"] == message_id:
                message["text"] = text
                message.pop("reply_markup", None)
                if reply_markup is not None:
                    message["reply_markup"] = reply_markup
                self.version += 1
                await self._notify()
                return message
        return await self.send_message(chat_id, text, reply_markup=reply_markup)

    async def edit_message_reply_markup(
        self, chat_id: int | str, message_id: int, *, reply_markup: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        for message in self._chats.get(int(chat_id), ()):
            if message["message_id"] == message_id:
                message.pop("reply_markup", None)
                if reply_markup is not None:
                    message["reply_markup"] = reply_markup
                self.version += 1
                await self._notify()
                return message
        return {}

    async def answer_callback_query(
        self, callback_query_id: str, *, text: str | None = None, show_alert: bool = False
    ) -> bool:
        return True

    def next_message_id(self) -> int:
        return next(self._ids)
