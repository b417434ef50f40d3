"""The embedded default database: a real PostgreSQL from the pgserver wheel, under data/pg.

pgserver creates the folder and starts the server; when to stop it is decided here.
pgserver counts the processes using a server in a list of pids on disk, and stops the
server only when the exiting process is the last one in it: a pid of a process killed
with SIGKILL stays there for good, and the server then never stops. Here, instead,
every process using the server holds a shared flock on `data/.pg-users.lock` (beside
the data folder: initdb wants an empty one); the kernel drops it whatever way the
process ends. A process that is done tries to take that lock exclusively: if it can,
nobody else uses the server, and it stops it. Starting and stopping happen under a
second lock (`data/.pg-start.lock`), so a process never stops a server that another
one is starting to use.

What every ending leaves behind: a clean one (Ctrl-C, SIGTERM, SIGHUP, which the
commands turn into a clean stop) stops the server when it was the last user; SIGKILL
leaves it running, and the next start takes it over and stops it in its turn.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

from clinic.errors import StartupError

log = logging.getLogger("clinic.embedded")

DATABASE = "clinic"
USERS_LOCK = ".{}-users.lock"  # .format(the data folder's name), beside it
START_LOCK = ".{}-start.lock"
# pgserver's list of the pids using the server: not used here (see above), and removed
# so that no stale list is left to mislead anyone.
PGSERVER_PIDS = ".handle_pids.json"


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns, once, that XDG_RUNTIME_DIR is unset (it is, in containers).
        warnings.simplefilter("ignore")
        import pgserver  # a heavy import, needed only without DATABASE_URL
        import pgserver.utils
    return pgserver


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive flock on `path`, waited for."""
    with path.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


def _running_postmaster(pgdata: Path) -> Any:
    """postmaster.pid's server when that pid is a live postgres, else None.

    A pid file whose pid now belongs to another process (the server died with its
    machine or container, and the pid was given out again) is removed: pgserver would
    take that process for the server, and PostgreSQL would refuse to start over it.
    """
    info = _pgserver().utils.PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return None
    try:
        name = info.process.name()
    except Exception:  # gone meanwhile, or not ours to inspect
        name = ""
    if name != "postgres":
        log.debug("postmaster.pid names pid %d (%r), not a postgres: removed", info.pid, name)
        (pgdata / "postmaster.pid").unlink(missing_ok=True)
        return None
    return info


def _system_user() -> str | None:
    """Whom pgserver runs PostgreSQL as: a user of its own when we are root."""
    return "pgserver" if os.geteuid() == 0 else None


def _start(pgdata: Path) -> tuple[Any, bool]:
    """The server in pgdata, initialised and started if need be; True: already running."""
    was_running = _running_postmaster(pgdata) is not None
    try:
        # A new handle each time (get_server would return one cached in this process,
        # which knows nothing of a stop since); cleanup_mode=None: pgserver never stops
        # the server, _stop_if_last does.
        server = _pgserver().PostgresServer(pgdata, cleanup_mode=None)
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        raise StartupError(
            f"the embedded PostgreSQL in {pgdata} did not start ({exc}): "
            f"see {pgdata / 'log'}, or set DATABASE_URL"
        ) from None
    (pgdata / PGSERVER_PIDS).unlink(missing_ok=True)
    return server, was_running


def _stop_if_last(pgdata: Path, users: IO[str]) -> None:
    """Stops the server when no other process holds the users lock. Under START_LOCK."""
    try:
        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.debug("embedded PostgreSQL left running: other processes use it")
        return
    if _running_postmaster(pgdata) is None:
        return
    try:
        _pgserver().pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user(), timeout=60
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log.warning("the embedded PostgreSQL in %s did not stop: %s", pgdata, exc)
        return
    log.info("embedded PostgreSQL stopped")


def _create_database(admin_dsn: str, database: str) -> None:
    with (
        psycopg.connect(admin_dsn, autocommit=True) as conn,
        contextlib.suppress(psycopg.errors.DuplicateDatabase),  # kept from an earlier run
    ):
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


@contextmanager
def embedded_postgres(data_dir: Path, database: str = DATABASE) -> Iterator[str]:
    """Starts (or takes over) the server in data_dir/pg and yields a DSN of `database`.

    The data survive restarts; the server stops when the last process using it is done.
    """
    pgdata = (data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    start_lock = pgdata.parent / START_LOCK.format(pgdata.name)
    with (pgdata.parent / USERS_LOCK.format(pgdata.name)).open("a") as users:
        try:
            with _locked(start_lock):
                # Never waits: the exclusive lock is only tried, under START_LOCK.
                fcntl.flock(users, fcntl.LOCK_SH)
                server, was_running = _start(pgdata)
            how = "already running" if was_running else "started"
            log.info("embedded PostgreSQL in %s: %s", pgdata, how)
            _create_database(server.get_uri(), database)
            yield server.get_uri(database)
        finally:
            with _locked(start_lock):
                _stop_if_last(pgdata, users)
