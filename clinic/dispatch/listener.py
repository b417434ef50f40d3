"""Wakes the dispatcher when a booking commits: LISTEN on a connection of its own,
reconnected when it drops. While it is down the dispatcher still polls."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from clinic import db

log = logging.getLogger("clinic.reminders")

CHECK_EVERY = 30.0  # seconds between checks that a quiet connection is still alive
CHECK_TIMEOUT = 5.0


class Wakeup:
    """An event set by NOTIFY on `channel`, and on every (re)connection."""

    def __init__(self, dsn: str, *, channel: str, max_retry: float = 5.0) -> None:
        self._dsn = dsn
        self._channel = channel
        self._max_retry = max_retry
        self.event = asyncio.Event()
        self.connected = asyncio.Event()

    async def run(self) -> None:
        retry = 0.25
        while True:
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await db.listen(
                    self._dsn, channel=self._channel, on_notify=self.event.set, on_lost=lost.set
                )
                retry = 0.25
                log.info("listening for new reminders on %s", self._channel)
                self.connected.set()
                self.event.set()  # rows planned while nobody listened
                await self._watch(conn, lost)
                log.warning("LISTEN connection lost; reconnecting")
            except Exception as exc:  # whatever it was, listen again: wake-ups depend on it
                log.warning("LISTEN connection failed: %s; retrying in %.1f s", exc, retry)
            finally:
                self.connected.clear()
                if conn is not None:
                    await self._close(conn, lost)
            await asyncio.sleep(retry)
            retry = min(retry * 2, self._max_retry)

    @staticmethod
    async def _close(conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        if not lost.is_set():  # stopping: say goodbye to the server
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
        if not conn.is_closed():
            conn.terminate()

    @staticmethod
    async def _watch(conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Returns when the connection drops, or stops answering."""
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CHECK_EVERY):
                    await lost.wait()
                return
            async with asyncio.timeout(CHECK_TIMEOUT):
                await db.ping(conn)
