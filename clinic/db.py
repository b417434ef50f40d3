"""The connection pool and the one place where constraint violations become domain errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import TypeAlias

import asyncpg

from clinic.errors import ClinicError

log = logging.getLogger("clinic.db")

# Repos accept either: a pool for a single statement, a connection inside a transaction.
Executor: TypeAlias = "asyncpg.Pool | asyncpg.Connection"


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset step, left empty on purpose.

    asyncpg still rolls back a transaction left open before calling this; what it skips
    is the reset query (RESET ALL, UNLISTEN *, unlock advisory locks), a round trip on
    every release. The app keeps no session state: its advisory locks are
    transaction-scoped, it never SETs, and LISTEN runs on connections of its own.
    """


async def create_pool(dsn: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=30,
        max_inactive_connection_lifetime=300,
        reset=keep_session,
    )


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One connection in one transaction, for writes that belong together.

    A failure to hand the connection back once the work is committed (PostgreSQL
    going down right after COMMIT) is logged, not raised: the caller's work is done,
    and asyncpg drops the broken connection by itself.
    """
    conn = await pool.acquire()
    try:
        async with conn.transaction():
            yield conn
    finally:
        try:
            await pool.release(conn)
        except Exception:
            log.warning("a connection failed on its way back to the pool", exc_info=True)


@contextmanager
def constraint_errors(errors: Mapping[str, Callable[[], ClinicError]]) -> Iterator[None]:
    """Turns a violation of a named constraint into the domain error given for that name."""
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        make_error = errors.get(getattr(exc, "constraint_name", None) or "")
        if make_error is None:
            raise
        raise make_error() from exc
