"""Migrations apply, roll back and apply again; the schema needs no extension."""

from __future__ import annotations

import asyncpg

from clinic import migrate
from tests.pg import Databases

TABLES = {"users", "specializations", "doctors", "doctor_hours", "bookings"}


async def tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        extensions = await conn.fetchval(
            "SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql'"
        )
    finally:
        await conn.close()
    assert extensions == 0
    return {row["table_name"] for row in rows}


async def test_migrations_apply_roll_back_and_reapply(databases: Databases) -> None:
    with databases.fresh(template=None) as dsn:
        assert migrate.pending(dsn) == ["0001_create_schema"]
        assert migrate.apply(dsn) == 1
        assert await tables(dsn) >= TABLES
        assert migrate.pending(dsn) == []
        assert migrate.apply(dsn) == 0

        assert migrate.rollback(dsn, count=1) == 1
        assert TABLES & await tables(dsn) == set()
        assert migrate.pending(dsn) == ["0001_create_schema"]

        assert migrate.apply(dsn) == 1
        assert await tables(dsn) >= TABLES
