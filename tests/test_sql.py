"""The named queries: the loader's rules, each query prepares, each is used."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from clinic import db, sql
from clinic.telegram.models import TelegramUser
from clinic.users import repo as users_repo
from clinic.users.service import Users

ROOT = Path(__file__).resolve().parent.parent


def test_parse_reads_named_blocks_and_drops_comments() -> None:
    text = "-- name: one\n-- what it does\nSELECT 1;\n\n-- name: two\nSELECT $1::int;\n"
    assert sql.parse("area", text) == {"area.one": "SELECT 1;", "area.two": "SELECT $1::int;"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n", "defined twice"),
        ("-- name: a\n-- only a comment\n", "empty query"),
        ("-- name: a\nSELECT 1; SELECT 2;\n", "one statement"),
    ],
)
def test_parse_rejects_bad_files(text: str, message: str) -> None:
    with pytest.raises(sql.QueryError, match=message):
        sql.parse("area", text)


def test_load_rejects_a_name_defined_in_two_files(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("-- name: x\nSELECT 1;\n")
    (tmp_path / "b.sql").write_text("-- name: x\nSELECT 1;\n")
    assert set(sql.load(tmp_path)) == {"a.x", "b.x"}
    with pytest.raises(sql.QueryError, match="no query named"):
        sql.q("a.missing")


def test_an_unknown_name_fails() -> None:
    with pytest.raises(sql.QueryError):
        sql.q("booking.no_such_query")


async def test_every_query_prepares_against_the_migrated_schema(conn: asyncpg.Connection) -> None:
    assert len(sql.QUERIES) >= 10
    for key, text in sql.QUERIES.items():
        try:
            await conn.prepare(text)
        except asyncpg.PostgresError as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{key} does not prepare: {exc}")


def test_every_query_is_used_by_the_code() -> None:
    code = "\n".join(p.read_text() for p in (ROOT / "clinic").rglob("*.py"))
    used = set(re.findall(r'q\("([a-z_]+\.[a-z_]+)"\)', code))
    assert set(sql.QUERIES) - used == set(), "named queries nothing calls"
    assert used - set(sql.QUERIES) == set(), "calls of queries that do not exist"


def test_no_sql_is_assembled_in_python() -> None:
    pattern = re.compile(r"""["'](SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\s""", re.I)
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "clinic").rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == []


async def test_a_user_seen_again_unchanged_writes_nothing(conn: asyncpg.Connection) -> None:
    """Registering is an upsert; for a user with the same names it must not even lock the
    row: no transaction id, so its commit waits for no WAL flush."""
    anna = TelegramUser(id=4242, first_name="Анна", language_code="ru")

    async def register(user: TelegramUser) -> int | None:
        async with conn.transaction():
            await users_repo.upsert_user(conn, user=user)
            assigned: int | None = await conn.fetchval("SELECT txid_current_if_assigned()")
            return assigned

    assert await register(anna) is not None  # new: inserted
    assert await register(anna) is None  # unchanged: read, nothing written
    renamed = anna.model_copy(update={"last_name": "Петрова"})
    assert await register(renamed) is not None  # changed: updated
    row = await conn.fetchrow("SELECT first_name, last_name FROM users WHERE telegram_id = 4242")
    assert tuple(row) == ("Анна", "Петрова")
    assert await register(renamed) is None


async def test_a_process_writes_a_user_once_per_version_of_their_names(
    dsn: str, conn: asyncpg.Connection
) -> None:
    database = db.Database(dsn, min_size=1, max_size=2)
    await database.open()
    users = Users(database, capacity=2)

    async def stored_name() -> str:
        name: str = await conn.fetchval("SELECT first_name FROM users WHERE telegram_id = 4343")
        return name

    try:
        boris = TelegramUser(id=4343, first_name="Борис")
        await users.ensure(boris)
        await conn.execute("UPDATE users SET first_name = 'changed' WHERE telegram_id = 4343")
        await users.ensure(boris)  # remembered: not written again
        assert await stored_name() == "changed"
        await users.ensure(boris.model_copy(update={"first_name": "Борис Петрович"}))
        assert await stored_name() == "Борис Петрович"  # new names: written
        await conn.execute("UPDATE users SET first_name = 'changed' WHERE telegram_id = 4343")
        for other in (1, 2):  # two others push both versions of Boris out of a memory of 2
            await users.ensure(TelegramUser(id=5000 + other, first_name="Другой"))
        await users.ensure(boris)
        assert await stored_name() == "Борис"  # forgotten, so written again
    finally:
        await database.close()
