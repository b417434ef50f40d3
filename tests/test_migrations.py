"""Migrations apply, roll back and apply again; the schema needs no extension."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from clinic import migrate
from tests.pg import Databases

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
TABLES = {"users", "specializations", "doctors", "doctor_hours", "bookings", "processed_updates"}


def all_migrations() -> list[str]:
    return sorted(
        p.name.removesuffix(".sql")
        for p in MIGRATIONS.glob("*.sql")
        if not p.name.endswith(".rollback.sql")
    )


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
    every = all_migrations()
    assert every[0] == "0001_create_schema"
    with databases.fresh(template=None) as dsn:
        assert migrate.pending(dsn) == every
        assert migrate.apply(dsn) == len(every)
        assert await tables(dsn) >= TABLES
        assert migrate.pending(dsn) == []
        assert migrate.apply(dsn) == 0

        assert migrate.rollback(dsn, count=len(every)) == len(every)
        assert await tables(dsn) & TABLES == set()
        assert migrate.pending(dsn) == every

        assert migrate.apply(dsn) == len(every)
        assert await tables(dsn) >= TABLES


def test_every_migration_has_a_rollback() -> None:
    for name in all_migrations():
        assert (MIGRATIONS / f"{name}.rollback.sql").is_file(), name


def clinic(*args: str, dsn: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": dsn}
    return subprocess.Popen(
        [sys.executable, "-m", "clinic", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_two_replicas_migrating_at_once_apply_each_migration_once(
    databases: Databases,
) -> None:
    with databases.fresh(template=None) as dsn:
        first, second = clinic("migrate", dsn=dsn), clinic("migrate", dsn=dsn)
        outputs = [p.communicate(timeout=60)[0] for p in (first, second)]
        assert [first.returncode, second.returncode] == [0, 0], outputs
        conn = await asyncpg.connect(dsn)
        try:
            applied = await conn.fetch("SELECT migration_id FROM _yoyo_migration ORDER BY 1")
        finally:
            await conn.close()
        assert [r["migration_id"] for r in applied] == all_migrations()


def test_serve_refuses_an_unmigrated_database(databases: Databases) -> None:
    with databases.fresh(template=None) as dsn:
        process = clinic("serve", dsn=dsn)
        output = process.communicate(timeout=60)[0]
        assert process.returncode == 2
        assert "clinic migrate" in output


async def test_schedule_lock_keys_survive_migration_0015_and_inline(
    conn: asyncpg.Connection,
) -> None:
    # The keys of the day locks a booking and a time off meet on are the ones the
    # DateStyle text of the date gave before 0015, for a doctor and for the clinic...
    await conn.execute("SET DateStyle = 'ISO, MDY'")
    differing = await conn.fetchval(
        """
        SELECT count(*)
        FROM generate_series('2000-01-01'::date, '2099-12-31'::date, '1 day') AS g (day),
             (VALUES (7), (NULL::int)) AS d (id)
        WHERE schedule_lock_key(d.id, g.day::date)
              <> hashtextextended('schedule:' || coalesce(d.id::text, 'clinic') || ':'
                                  || g.day::date, 0)
        """
    )
    assert differing == 0
    # ...and under another DateStyle, where the old ones were not.
    await conn.execute("SET DateStyle = 'German, DMY'")
    assert await conn.fetchval(
        "SELECT schedule_lock_key(7, '2026-12-07') = hashtextextended('schedule:7:2026-12-07', 0)"
    )
    # Immutable all through, so the planner inlines it into its caller's plan.
    plan = "\n".join(
        row[0]
        for row in await conn.fetch("EXPLAIN (VERBOSE) SELECT schedule_lock_key(7, current_date)")
    )
    assert "hashtextextended" in plan
    assert "schedule_lock_key" not in plan
