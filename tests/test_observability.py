"""Metrics after real traffic, request ids, and JSON logs that never show a secret."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from clinic import logs
from tests.conftest import BOT_TOKEN, Clock, auth


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    stream = io.StringIO()
    logs.configure(secrets=[BOT_TOKEN, "webhook-secret-value"], stream=stream)
    yield stream
    root.handlers[:] = saved
    root.setLevel(level)


async def test_metrics_after_traffic(
    client: TestClient, clock: Clock, conn: asyncpg.Connection
) -> None:
    doctor = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    body = {"doctor_id": doctor, "date": "2026-12-03", "time": "10:00"}
    created = await (
        await client.post("/api/bookings", json=body, headers=auth(1, clock=clock))
    ).json()
    assert (
        await client.post("/api/bookings", json=body, headers=auth(2, clock=clock))
    ).status == 409
    await client.post(f"/api/bookings/{created['id']}/cancel", headers=auth(1, clock=clock))
    await client.get(f"/api/doctors/{doctor}/slots")
    await client.get("/no/such/page/../api/x")

    text = await (await client.get("/metrics")).text()
    assert (
        'clinic_http_requests_total{method="GET",route="/api/doctors/{id}/slots",status="200"} 1.0'
        in text
    )
    assert (
        'clinic_http_request_duration_seconds_bucket{le="0.015",method="GET",route="/api/doctors/{id}/slots"}'
        in text
    )
    for outcome in ("created", "conflicted", "cancelled"):
        assert f'clinic_bookings_total{{channel="api",outcome="{outcome}"}} 1.0' in text
    assert 'clinic_db_pool_connections{state="max"} 10.0' in text
    assert 'clinic_notifications_total{outcome="sent"}' in text  # the in-app dispatcher
    assert "clinic_notifications_oldest_due_seconds" in text
    assert "/no/such" not in text  # raw paths never become label values


async def test_a_request_id_is_kept_or_made(client: TestClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces" * 10})
    other = await client.get("/healthz")
    # A process's random prefix, then a counter: unique, and never the bad one given.
    prefix, _, count = made.headers["X-Request-ID"].partition("-")
    assert re.fullmatch(r"[0-9a-f]{12}", prefix) and re.fullmatch(r"[0-9a-f]+", count)
    assert other.headers["X-Request-ID"] == f"{prefix}-{int(count, 16) + 1:x}"


async def test_logs_are_json_lines_without_secrets(
    client: TestClient, clock: Clock, log_lines: io.StringIO
) -> None:
    header = auth(1001, clock=clock)
    init_data = header["Authorization"].removeprefix("tma ")
    await client.get("/api/me", headers={**header, "X-Request-ID": "req-1"})
    await client.get(
        "/api/me", headers={"Authorization": "tma " + init_data.replace("auth_date", "x")}
    )
    logging.getLogger("clinic.test").warning(
        "careless: %s %s %s", BOT_TOKEN, header["Authorization"], "webhook-secret-value"
    )
    try:
        raise RuntimeError(f"failed with {BOT_TOKEN} and {init_data}")
    except RuntimeError:
        logging.getLogger("clinic.test").exception("boom")

    output = log_lines.getvalue()
    entries = [json.loads(line) for line in output.splitlines()]
    request = next(
        e for e in entries if e.get("route") == "/api/me" and e.get("request_id") == "req-1"
    )
    assert request["status"] == 200 and request["method"] == "GET" and request["duration_ms"] >= 0
    assert BOT_TOKEN not in output and BOT_TOKEN.split(":")[1] not in output
    assert init_data not in output and "webhook-secret-value" not in output
    assert output.count(logs.MASK) >= 4


class Writes(io.StringIO):
    """A stream that counts the write calls made to it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def write(self, text: str) -> int:
        self.calls += 1
        return super().write(text)


def batched_logger(stream: Writes, delay: float) -> tuple[logging.Logger, logs.BatchedLines]:
    handler = logs.BatchedLines(stream, delay=delay)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger(f"clinic.test.batched.{id(stream)}")
    logger.propagate = False
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    return logger, handler


def test_batched_lines_wait_a_moment_and_go_out_in_one_write() -> None:
    stream = Writes()
    logger, handler = batched_logger(stream, delay=0.2)
    try:
        for n in range(50):
            logger.info("request", extra={"n": n})
        assert stream.getvalue() == ""  # waiting, not lost: within the delay
        deadline = time.monotonic() + 5
        while not stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [line["n"] for line in lines] == list(range(50)) and stream.calls == 1
    finally:
        handler.close()


def test_a_warning_goes_out_at_once_with_the_lines_before_it() -> None:
    stream = Writes()
    logger, handler = batched_logger(stream, delay=30)
    try:
        logger.info("first")
        logger.warning("then this")
        messages = [json.loads(line)["message"] for line in stream.getvalue().splitlines()]
        assert messages == ["first", "then this"]
        logger.info("last")
        logs.flush()  # what cli does before os._exit, and os.fork before forking
        assert stream.getvalue().splitlines()[-1].endswith('"message":"last"}')
        logger.info("at exit")
    finally:
        handler.close()
    assert '"message":"at exit"' in stream.getvalue()  # close (logging.shutdown) writes it


def test_a_stamp_is_isoformat_to_the_millisecond() -> None:
    formatter = logs.JsonFormatter()
    moments = [1764660000.0, 1764660000.9994, 1764660000.9999996, 1764661235.001]
    moments += [1764661234 + n / 997 for n in range(997)]
    for created in moments:
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert formatter.stamp(created) == expected, created


def test_a_line_written_straight_is_the_line_logging_writes(log_lines: io.StringIO) -> None:
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if isinstance(h, logs.JsonLines)]  # pytest's out
    logger = logging.getLogger("clinic.request")
    fields = {"method": "GET", "route": "/api/x/{id}", "status": 200, "duration_ms": 0.42}
    made = []
    factory = logging.getLogRecordFactory()

    def counted(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made.append(args)
        return factory(*args, **kwargs)

    logging.setLogRecordFactory(counted)
    token = logs.request_id.set("rid-1")
    try:
        logs.info_line(logger, "request", fields)  # straight to the one handler
        assert made == []
        logger.info("request", extra=fields)
        assert len(made) == 1
        # A handler of one's own on the way (as pytest's capture is): through logging.
        seen = logging.Handler()
        seen.emit = lambda record: made.append(("seen", record.getMessage()))  # type: ignore[method-assign]
        logger.addHandler(seen)
        try:
            logs.info_line(logger, "request", {**fields, "secret": BOT_TOKEN})
        finally:
            logger.removeHandler(seen)
        assert ("seen", "request") in made
        logs.info_line(logger, "request", {**fields, "secret": BOT_TOKEN})
    finally:
        logs.request_id.reset(token)
        logging.setLogRecordFactory(factory)
    straight, logged, through, masked = (json.loads(x) for x in log_lines.getvalue().splitlines())
    for entry in (straight, logged):
        del entry["time"]
    assert list(straight.items()) == list(logged.items())  # the same keys, in the same order
    assert straight["request_id"] == "rid-1" and straight["route"] == "/api/x/{id}"
    assert through["secret"] == BOT_TOKEN  # logging masks the message only, not extras
    assert masked["secret"] == logs.MASK  # straight: every string of the line is masked
