"""Applying and checking the yoyo migrations of the top-level migrations/ folder.

The package carries the folder as `clinic.migrations` (see pyproject.toml), read through
importlib.resources; its __init__.py, which makes it a package, is no migration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import as_file, files
from typing import Any

import psycopg
from yoyo import get_backend, read_migrations
from yoyo.migrations import MigrationList

from clinic.errors import ConfigError, DatabaseUnreachable

CONNECT_TIMEOUT = 10  # seconds


def yoyo_url(dsn: str) -> str:
    """yoyo speaks through psycopg 3: the same DSN under the scheme it expects, with a
    connect timeout (unless the DSN has one), so an unreachable host fails in seconds."""
    scheme, sep, rest = dsn.partition("://")
    if not sep or scheme not in ("postgres", "postgresql"):
        raise ConfigError("DATABASE_URL must be a postgresql:// URL")
    if "connect_timeout=" not in rest:
        rest += f"{'&' if '?' in rest else '?'}connect_timeout={CONNECT_TIMEOUT}"
    return f"postgresql+psycopg://{rest}"


@contextmanager
def backend(dsn: str) -> Iterator[Any]:
    """A yoyo backend whose connection is closed afterwards."""
    try:
        opened = get_backend(yoyo_url(dsn))
    except psycopg.OperationalError as exc:
        raise DatabaseUnreachable(dsn, exc) from None
    try:
        yield opened
    finally:
        opened.connection.close()


@contextmanager
def migrations() -> Iterator[Any]:
    """The migrations, without the folder's __init__.py (which makes it a package)."""
    with as_file(files("clinic.migrations")) as folder:
        found = read_migrations(str(folder))
        yield MigrationList(m for m in found if not m.id.startswith("__"))


def apply(dsn: str) -> int:
    """Applies what is pending under yoyo's lock (replicas may start together); returns a count."""
    with backend(dsn) as yoyo, migrations() as found, yoyo.lock():
        todo = yoyo.to_apply(found)
        yoyo.apply_migrations(todo)
        return len(todo)


def rollback(dsn: str, *, count: int = 1) -> int:
    with backend(dsn) as yoyo, migrations() as found, yoyo.lock():
        todo = yoyo.to_rollback(found)[:count]
        yoyo.rollback_migrations(todo)
        return len(todo)


def pending(dsn: str) -> list[str]:
    with backend(dsn) as yoyo, migrations() as found:
        return [m.id for m in yoyo.to_apply(found)]
