"""Drill: 200 connections sending their headers byte by byte do not stop other clients
being served, and the server does not hold such connections forever.

The server runs as `clinic serve` on a fresh database of the machine's PostgreSQL
(TEST_DATABASE_URL, else postgres@127.0.0.1:5432), dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.drills.support import (
    MACHINE_POSTGRES,
    clinic_server,
    migrate_and_seed,
    percentile,
    scratch_database,
)

pytestmark = pytest.mark.drill

SLOW_CONNECTIONS = 200
TRICKLE_EVERY = 0.5  # seconds between two bytes of a slow client
LOAD_FOR = 10.0  # seconds the normal clients run while the slow ones trickle
NORMAL_CLIENTS = 4  # two on keep-alive connections, two opening a connection per request
P99_WITHIN = 1.0  # seconds, for the normal clients
# Seconds after connecting by which a header never finished is dropped: the server's
# keep-alive timeout (15 s, set in `clinic serve`) and a margin.
CLOSED_WITHIN = 25.0
# Never ends its headers: no blank line, and longer than CLOSED_WITHIN / TRICKLE_EVERY bytes.
SLOW_REQUEST = (
    b"GET /api/specializations HTTP/1.1\r\nHost: clinic.test\r\nUser-Agent: drill-slowloris\r\n"
    b"X-Padding: " + b"a" * 1000
)


@dataclass
class SlowConnection:
    opened: float
    sent: int = 0
    closed: float | None = None  # when the server closed it (monotonic)
    answer: bytes = b""
    error: str | None = None

    @property
    def lifetime(self) -> float | None:
        return None if self.closed is None else self.closed - self.opened


@dataclass
class NormalCall:
    path: str
    fresh_connection: bool
    elapsed: float
    status: int | None
    error: str | None = None


@dataclass
class Record:
    slow: list[SlowConnection] = field(default_factory=list)
    normal: list[NormalCall] = field(default_factory=list)


@pytest.fixture
async def machine_db() -> AsyncIterator[str]:
    admin = os.environ.get("TEST_DATABASE_URL") or MACHINE_POSTGRES
    with scratch_database(admin, f"clinic_drill_slow_{os.getpid()}") as dsn:
        await migrate_and_seed(dsn)
        yield dsn


async def hold_slow_connection(host: str, port: int, until: float, record: Record) -> None:
    """Opens a connection and sends SLOW_REQUEST a byte at a time until the server
    closes it or `until` passes; notes when and how it ended."""
    reader, writer = await asyncio.open_connection(host, port)
    slow = SlowConnection(time.monotonic())
    record.slow.append(slow)

    async def watch() -> None:
        try:
            while chunk := await reader.read(4096):
                slow.answer += chunk
        except OSError as exc:
            slow.error = f"{type(exc).__name__}: {exc}"
        slow.closed = time.monotonic()

    watcher = asyncio.create_task(watch())
    try:
        for byte in SLOW_REQUEST:
            if watcher.done() or time.monotonic() >= until:
                break
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except OSError as exc:
                slow.error = slow.error or f"{type(exc).__name__}: {exc}"
                break
            slow.sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(watcher), TRICKLE_EVERY)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(watcher), max(0.0, until - time.monotonic()))
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def normal_client(base: str, fresh: bool, until: float, record: Record) -> None:
    """Reads the catalog and the liveness probe, one request after another."""
    connector = aiohttp.TCPConnector(force_close=fresh)
    timeout = aiohttp.ClientTimeout(total=10)
    paths = ["/api/specializations", "/healthz"]
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        turn = 0
        while time.monotonic() < until:
            path = paths[turn % len(paths)]
            turn += 1
            started = time.monotonic()
            try:
                async with session.get(f"{base}{path}") as response:
                    await response.read()
                    status: int | None = response.status
                error = None
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            record.normal.append(NormalCall(path, fresh, time.monotonic() - started, status, error))
            await asyncio.sleep(0.02)


def open_count(record: Record, at: float) -> int:
    return sum(1 for s in record.slow if s.closed is None or s.closed > at)


@pytest.mark.timeout(150)
async def test_slow_headers_do_not_starve_other_clients(machine_db: str, tmp_path: Path) -> None:
    record = Record()
    async with clinic_server(machine_db, tmp_path / "server.log") as server:
        host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
        begin = time.monotonic()
        slow = [
            asyncio.create_task(hold_slow_connection(host, port, begin + CLOSED_WITHIN + 5, record))
            for _ in range(SLOW_CONNECTIONS)
        ]
        try:
            await asyncio.sleep(1.0)  # all of them connected and trickling
            load_end = time.monotonic() + LOAD_FOR
            await asyncio.gather(
                *(
                    normal_client(
                        server.base_url, fresh=index % 2 == 1, until=load_end, record=record
                    )
                    for index in range(NORMAL_CLIENTS)
                )
            )
            open_after_load = open_count(record, time.monotonic())
            results = await asyncio.gather(*slow, return_exceptions=True)
        finally:
            for task in slow:
                task.cancel()
            await asyncio.gather(*slow, return_exceptions=True)
        crashed = [r for r in results if isinstance(r, BaseException)]
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{server.base_url}/healthz") as response,
        ):
            alive_after = response.status
        log_tail = server.log_tail()

    latencies = [call.elapsed for call in record.normal]
    failed = [call for call in record.normal if call.status != 200]
    lifetimes = sorted(s.lifetime for s in record.slow if s.lifetime is not None)
    answered = {s.answer[:40] for s in record.slow if s.answer}
    report = "\n".join(
        [
            f"normal requests: {len(record.normal)}, failed: {len(failed)}, "
            f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
            f"max {max(latencies, default=0) * 1000:.1f} ms",
            f"slow connections: {len(record.slow)} opened, {open_after_load} still open after "
            f"{LOAD_FOR:.0f}s of load; closed by the server: {len(lifetimes)}, after "
            + (
                f"{lifetimes[0]:.1f}s to {lifetimes[-1]:.1f}s (median "
                f"{percentile(lifetimes, 0.5):.1f}s)"
                if lifetimes
                else "never (within the drill)"
            )
            + f"; bytes sent each: up to {max((s.sent for s in record.slow), default=0)}; "
            f"what the server sent them: {answered or 'nothing'}; "
            f"errors: {sorted({s.error for s in record.slow if s.error})[:3]}",
        ]
    )
    print(report)
    assert not crashed, f"slow connections failed to run: {crashed[:3]!r}"
    assert len(record.slow) == SLOW_CONNECTIONS, report
    assert open_after_load >= SLOW_CONNECTIONS * 0.9, (
        f"the slow clients were not held open during the load, so the drill did not drill\n{report}"
    )
    assert record.normal and not failed, (
        f"normal requests failed: {failed[:5]}\n{report}\n{log_tail}"
    )
    assert percentile(latencies, 0.99) < P99_WITHIN, report
    assert alive_after == 200, f"the server stopped answering\n{report}\n{log_tail}"
    never_closed = [s for s in record.slow if s.lifetime is None or s.lifetime > CLOSED_WITHIN]
    assert not never_closed, (
        f"{len(never_closed)} connections that never finished their headers were still open "
        f"after {CLOSED_WITHIN:.0f}s: the server has no header timeout\n{report}"
    )
