"""Wakes the dispatcher when a booking commits. While the LISTEN connection is down the
dispatcher still polls."""

from __future__ import annotations

import asyncio

from clinic.listen import Listener


class Wakeup:
    """An event set by NOTIFY on `channel`, and on every (re)connection (rows planned
    while nobody listened)."""

    def __init__(self, dsn: str, *, channel: str, max_retry: float = 5.0) -> None:
        self.event = asyncio.Event()
        self._listener = Listener(
            dsn,
            channel=channel,
            on_notify=lambda _payload: self.event.set(),
            on_connect=self.event.set,
            what="new reminders",
            max_retry=max_retry,
        )
        self.connected = self._listener.connected

    async def run(self) -> None:
        await self._listener.run()
