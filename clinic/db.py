"""The connection pool, LISTEN connections, and the one place where constraint
violations become domain errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import TypeAlias

import asyncpg

from clinic.errors import ClinicError, DatabaseUnreachable
from clinic.sql import q

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


# What a call to the database raises when the server is away, refuses or times out.
FAILURES = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
# Why a first connection fails: refused, timed out, unknown host, rejected by the server.
CONNECT_FAILURES = FAILURES


async def create_pool(
    dsn: str, *, min_size: int, max_size: int, statement_cache_size: int = 100
) -> asyncpg.Pool:
    """The pool, with its first connections open; DatabaseUnreachable when they fail.

    statement_cache_size=0 through PgBouncer in transaction mode: asyncpg then runs each
    query as an unnamed statement, which lives only as long as the query (a named one
    would be prepared on one server connection and missing on the next).
    """
    try:
        return await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            command_timeout=30,
            max_inactive_connection_lifetime=300,
            statement_cache_size=statement_cache_size,
            reset=keep_session,
            timeout=10,
        )
    except CONNECT_FAILURES as exc:
        raise DatabaseUnreachable(dsn, exc) from exc


class Database:
    """The app's pool, made before the event loop runs and opened at start-up.

    Services hold the Database and reach the pool only once it is open, so the whole
    object graph can be built by one synchronous factory.
    """

    def __init__(
        self, dsn: str, *, min_size: int = 2, max_size: int = 10, statement_cache_size: int = 100
    ) -> None:
        self.dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._statement_cache_size = statement_cache_size
        self._pool: asyncpg.Pool | None = None

    @classmethod
    def of(cls, pool: asyncpg.Pool, dsn: str = "") -> Database:
        """A Database over a pool opened elsewhere (tools, benchmarks, tests)."""
        database = cls(dsn)
        database._pool = pool
        return database

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database is not open yet")
        return self._pool

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    async def open(self) -> None:
        self._pool = await create_pool(
            self.dsn,
            min_size=self._min_size,
            max_size=self._max_size,
            statement_cache_size=self._statement_cache_size,
        )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def transaction(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        return transaction(self.pool)


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


async def listen(
    dsn: str, *, channel: str, on_notify: Callable[[str], None], on_lost: Callable[[], None]
) -> asyncpg.Connection:
    """A connection of its own (not the pool's) LISTENing on `channel`.

    `on_notify` runs on every notification with its payload, `on_lost` once when the
    connection drops.
    Through PgBouncer in transaction mode, `dsn` must be a direct (session) one.
    """
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        conn.add_termination_listener(lambda _conn: on_lost())
        await conn.add_listener(channel, lambda _conn, _pid, _channel, payload: on_notify(payload))
    except BaseException:
        await conn.close()
        raise
    return conn


async def ping(db: Executor) -> None:
    """Answers when the database takes queries (readiness, a quiet LISTEN connection)."""
    await db.fetchval(q("health.ping"))
