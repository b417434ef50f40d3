"""The PostgreSQL the tests run on: TEST_DATABASE_URL, else testcontainers, else embedded.

Each test gets its own database cloned from a migrated template (CREATE DATABASE ...
TEMPLATE), so tests that need two connections see each other's committed rows.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from clinic import migrate
from clinic.catalog import service as catalog


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@contextmanager
def postgres_server(scratch: Path) -> Iterator[str]:
    """An admin DSN of a PostgreSQL server that tests may create databases on."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
    elif docker_engine_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
    else:
        from clinic.embedded import embedded_postgres

        with embedded_postgres(scratch, database="postgres") as dsn:
            yield dsn


class Databases:
    """Creates the templates once, then one database per test from them."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.admin = psycopg.connect(admin_dsn, autocommit=True)
        self.prefix = f"clinic_test_{os.getpid()}"
        self.counter = itertools.count()
        self.migrated = f"{self.prefix}_migrated"
        self.seeded = f"{self.prefix}_seeded"
        self._create(self.migrated)
        migrate.apply(self.dsn(self.migrated))
        self._create(self.seeded, template=self.migrated)
        asyncio.run(catalog.seed_demo_catalog(self.dsn(self.seeded)))

    def dsn(self, name: str) -> str:
        return with_database(self.admin_dsn, name)

    def _create(self, name: str, template: str | None = None) -> None:
        self._drop(name)
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        self.admin.execute(query)

    def _drop(self, name: str) -> None:
        self.admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    @contextmanager
    def fresh(self, template: str | None) -> Iterator[str]:
        name = f"{self.prefix}_{next(self.counter)}"
        self._create(name, template=template)
        try:
            yield self.dsn(name)
        finally:
            self._drop(name)

    def close(self) -> None:
        self._drop(self.seeded)
        self._drop(self.migrated)
        self.admin.close()
