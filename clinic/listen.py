"""LISTEN on a channel over a connection of its own, reconnected when it drops: the
dispatcher's wake-ups and the replicas' catalog caches both hang on one of these. And
the other end for bookings: a NOTIFY sent soon after their commits, outside them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import asyncpg

from clinic import db
from clinic.sql import q

log = logging.getLogger("clinic.db")

CHECK_EVERY = 30.0  # seconds between checks that a quiet connection is still alive
CHECK_TIMEOUT = 5.0


def _nothing() -> None:
    pass


@contextlib.asynccontextmanager
async def _task_while(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Listener:
    """Calls `on_notify(payload)` for each NOTIFY on `channel`.

    `on_connect` runs each time the connection is (re)opened, `on_lost` each time it
    drops: whatever was sent while nobody listened is missed, so a listener that keeps
    state in step with the channel starts afresh on connect. While it is down, `run`
    retries with a doubling pause of at most `max_retry` seconds.
    """

    def __init__(
        self,
        dsn: str,
        *,
        channel: str,
        on_notify: Callable[[str], None],
        on_connect: Callable[[], None] = _nothing,
        on_lost: Callable[[], None] = _nothing,
        what: str = "notifications",
        max_retry: float = 5.0,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_notify = on_notify
        self._on_connect = on_connect
        self._on_lost = on_lost
        self._what = what
        self._max_retry = max_retry
        self.connected = asyncio.Event()

    def running(self) -> contextlib.AbstractAsyncContextManager[None]:
        """`run` as a task for the block's duration; cancelled and awaited after."""
        return _task_while(self.run(), f"listen-{self._channel}")

    async def run(self) -> None:
        retry = 0.25
        while True:
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await db.listen(
                    self._dsn, channel=self._channel, on_notify=self._on_notify, on_lost=lost.set
                )
                retry = 0.25
                log.info("listening for %s on %s", self._what, self._channel)
                self.connected.set()
                self._on_connect()
                await self._watch(conn, lost)
                log.warning("LISTEN connection on %s lost; reconnecting", self._channel)
            except Exception as exc:  # whatever it was, listen again: others depend on it
                log.warning(
                    "LISTEN connection on %s failed: %s; retrying in %.1f s",
                    self._channel,
                    exc,
                    retry,
                )
            finally:
                if self.connected.is_set():
                    self.connected.clear()
                    self._on_lost()
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


class Notifier:
    """NOTIFYs `channel` soon after each `poke()`, in a statement of its own.

    A NOTIFY inside a transaction holds PostgreSQL's notification queue lock from the
    start of its commit to the end, so transactions that notify commit one at a time;
    bookings poke this after their commit instead. Pokes that come while a NOTIFY is on
    its way, or within `spacing` seconds after it, are answered by the next one. A NOTIFY
    that fails is logged and not retried: the listeners also poll.
    """

    def __init__(self, database: db.Database, *, channel: str, spacing: float = 0.005) -> None:
        self._database = database
        self._channel = channel
        self._spacing = spacing
        self._poked = asyncio.Event()
        self.sent = 0

    def poke(self) -> None:
        self._poked.set()

    def running(self) -> contextlib.AbstractAsyncContextManager[None]:
        """`run` as a task for the block's duration; cancelled and awaited after."""
        return _task_while(self.run(), f"notify-{self._channel}")

    async def run(self) -> None:
        while True:
            await self._poked.wait()
            self._poked.clear()
            try:
                await self._database.pool.execute(q("listen.notify"), self._channel)
                self.sent += 1
            except db.FAILURES as exc:
                log.warning("NOTIFY on %s failed: %s", self._channel, exc)
            await asyncio.sleep(self._spacing)
