"""The embedded default database: a real PostgreSQL from the pgserver wheel, under data/pg."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

log = logging.getLogger("clinic.embedded")

DATABASE = "clinic"


@contextmanager
def embedded_postgres(data_dir: Path, database: str = DATABASE) -> Iterator[str]:
    """Starts (or joins) the server in data_dir/pg and yields a DSN; stops it on exit.

    The data survive restarts; the server stops when the last process using it exits.
    """
    with warnings.catch_warnings():
        # platformdirs warns, once, that XDG_RUNTIME_DIR is unset (it is, in containers).
        warnings.simplefilter("ignore")
        import pgserver  # a heavy import, needed only without DATABASE_URL

    pgdata = (data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    with server:
        admin = server.get_uri()
        with (
            psycopg.connect(admin, autocommit=True) as conn,
            contextlib.suppress(psycopg.errors.DuplicateDatabase),  # kept from an earlier run
        ):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        yield server.get_uri(database)
