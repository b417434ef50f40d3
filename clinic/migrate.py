"""Applying and checking the yoyo migrations in migrations/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from yoyo import get_backend, read_migrations

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def yoyo_url(dsn: str) -> str:
    """yoyo speaks through psycopg 3: the same DSN under the scheme it expects."""
    scheme, sep, rest = dsn.partition("://")
    if not sep or scheme not in ("postgres", "postgresql"):
        raise ValueError("DATABASE_URL must be a postgresql:// URL")
    return f"postgresql+psycopg://{rest}"


@contextmanager
def backend(dsn: str) -> Iterator[Any]:
    """A yoyo backend whose connection is closed afterwards."""
    opened = get_backend(yoyo_url(dsn))
    try:
        yield opened
    finally:
        opened.connection.close()


def apply(dsn: str) -> int:
    """Applies what is pending under yoyo's lock (replicas may start together); returns a count."""
    with backend(dsn) as yoyo:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with yoyo.lock():
            todo = yoyo.to_apply(migrations)
            yoyo.apply_migrations(todo)
        return len(todo)


def rollback(dsn: str, *, count: int = 1) -> int:
    with backend(dsn) as yoyo:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with yoyo.lock():
            todo = yoyo.to_rollback(migrations)[:count]
            yoyo.rollback_migrations(todo)
        return len(todo)


def pending(dsn: str) -> list[str]:
    with backend(dsn) as yoyo:
        return [m.id for m in yoyo.to_apply(read_migrations(str(MIGRATIONS_DIR)))]
