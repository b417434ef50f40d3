"""Metrics after real traffic, request ids, and JSON logs that never show a secret."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

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
