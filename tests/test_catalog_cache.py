"""The catalog's answers kept in memory: ETags, and never stale once a change is heard.

A copy is dropped on every replica when a change commits (migration 0011's triggers
NOTIFY clinic_catalog). To tell "served from memory" from "read again", some changes
here are made with session_replication_role = replica, which silences the triggers the
way a change nobody heard would be silent.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from clinic import keys
from tests.test_reminders_dispatch import eventually
from tests.test_startup import clinic_env, free_port

LISTENING = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    " AND query LIKE 'LISTEN %clinic_catalog%'"
)


async def silently(conn: asyncpg.Connection, sql: str, *args: Any) -> None:
    """A change that NOTIFYs nobody (no trigger fires)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(sql, *args)


async def volkov(conn: asyncpg.Connection) -> int:
    found: int = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    return found


async def listening(client: TestClient) -> None:
    await eventually(lambda: client.app[keys.catalog].cache._live)


async def test_an_answer_has_an_etag_and_a_client_holding_it_gets_304(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    await listening(client)
    doctor = await volkov(conn)
    first = await client.get(f"/api/doctors/{doctor}")
    assert first.status == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["Cache-Control"] == "no-cache"
    body = await first.read()

    again = await client.get(f"/api/doctors/{doctor}")
    assert (again.headers["ETag"], await again.read()) == (etag, body)
    held = await client.get(f"/api/doctors/{doctor}", headers={"If-None-Match": etag})
    assert (held.status, await held.read(), held.headers["ETag"]) == (304, b"", etag)
    weak = await client.get(
        f"/api/doctors/{doctor}", headers={"If-None-Match": f'"other", W/{etag}'}
    )
    assert weak.status == 304
    other = await client.get(f"/api/doctors/{doctor}", headers={"If-None-Match": '"other"'})
    assert other.status == 200 and await other.read() == body

    for path in ("/api/specializations", "/api/specializations/1/doctors"):
        answer = await client.get(path)
        assert answer.status == 200 and answer.headers["ETag"], path
        held = await client.get(path, headers={"If-None-Match": answer.headers["ETag"]})
        assert held.status == 304, path
    # A search is not kept: its answer has no ETag.
    searched = await client.get("/api/specializations", params={"q": "тера"})
    assert searched.status == 200 and "ETag" not in searched.headers


async def test_what_is_served_comes_from_memory_until_a_change_is_heard(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    await listening(client)
    doctor = await volkov(conn)
    before = await (await client.get(f"/api/doctors/{doctor}")).json()
    await silently(conn, "UPDATE doctors SET title = 'не слышно' WHERE id = $1", doctor)
    kept = await (await client.get(f"/api/doctors/{doctor}")).json()
    assert kept == before  # nothing was heard: the kept answer is served

    await conn.execute("UPDATE doctors SET experience_years = 31 WHERE id = $1", doctor)

    async def changed() -> bool:
        found = await (await client.get(f"/api/doctors/{doctor}")).json()
        return bool(found["experience_years"] == 31 and found["title"] == "не слышно")

    await eventually(changed, within=5)


async def test_a_missing_doctor_is_not_kept_as_missing(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    await listening(client)
    missing = await client.get("/api/doctors/900")
    assert missing.status == 404
    await silently(
        conn,
        "INSERT INTO doctors (id, slug, specialization_id, last_name, first_name)"
        " VALUES (900, 'new-one', 1, 'Новикова', 'Ольга')",
    )
    found = await client.get("/api/doctors/900")
    assert found.status == 200 and (await found.json())["last_name"] == "Новикова"


async def test_a_change_made_while_nobody_listened_is_not_served_stale(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    await listening(client)
    doctor = await volkov(conn)
    await client.get(f"/api/doctors/{doctor}")
    old = await conn.fetchval(LISTENING)
    assert await conn.fetchval("SELECT pg_terminate_backend($1)", old)
    await silently(conn, "UPDATE doctors SET title = 'пока никто не слушал' WHERE id = $1", doctor)
    # Until the connection is back nothing is kept; once it is, it starts empty.
    await eventually(lambda: conn.fetchval(LISTENING + " AND pid <> $1", old))
    found = await (await client.get(f"/api/doctors/{doctor}")).json()
    assert found["title"] == "пока никто не слушал"


async def test_a_closure_made_elsewhere_drops_the_computed_weeks_at_once(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    await listening(client)
    # Weeks live up to a second; here for an hour, so only the notification can drop one.
    client.app[keys.bookings]._cache._ttl = 3600.0  # type: ignore[union-attr]
    doctor = await volkov(conn)
    path = f"/api/doctors/{doctor}/slots?week_of=2026-12-03"

    async def thursday() -> dict[str, Any]:
        days = (await (await client.get(path)).json())["days"]
        day: dict[str, Any] = days[3]
        return day

    assert (await thursday())["slots"]
    await silently(conn, "INSERT INTO closures (day, reason) VALUES ($1, '')", date(2026, 12, 4))
    assert (await thursday())["slots"]  # kept: the silent change was not heard
    await conn.execute("INSERT INTO closures (day, reason) VALUES ($1, '')", date(2026, 12, 3))

    async def closed() -> bool:
        return not (await thursday())["slots"]

    await eventually(closed, within=5)


# --- through another process -----------------------------------------------------------


@pytest.fixture
def replica(dsn: str, tmp_path: Path) -> Iterator[str]:
    """`clinic serve` in a process of its own on `dsn`; its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "clinic", "serve", "--no-worker"],
        cwd=tmp_path,
        env=clinic_env(DATABASE_URL=dsn, PORT=str(port), LOG_LEVEL="info"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(process, ["serving on", "catalog changes"], 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.communicate(timeout=30)


def wait_for(process: subprocess.Popen[str], markers: list[str], seconds: float) -> None:
    assert process.stderr is not None
    waiting, lines = set(markers), []
    deadline = time.monotonic() + seconds
    while waiting and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        waiting -= {marker for marker in waiting if marker in line}
    assert not waiting, f"no {waiting} in {lines}"


async def test_an_edit_is_read_back_through_another_process(
    replica: str, conn: asyncpg.Connection
) -> None:
    doctor = await volkov(conn)
    async with aiohttp.ClientSession(replica) as http:

        async def read() -> tuple[str, dict[str, Any]]:
            async with http.get(f"/api/doctors/{doctor}") as answer:
                assert answer.status == 200
                return answer.headers["ETag"], await answer.json()

        etag, before = await read()
        await silently(conn, "UPDATE doctors SET title = 'тихо' WHERE id = $1", doctor)
        assert await read() == (etag, before)  # the replica serves its copy

        await conn.execute(
            "UPDATE doctors SET description = 'Новое описание' WHERE id = $1", doctor
        )

        async def fresh() -> bool:
            new_etag, now = await read()
            return new_etag != etag and (now["title"], now["description"]) == (
                "тихо",
                "Новое описание",
            )

        await eventually(fresh, within=5)
