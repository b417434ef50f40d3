"""The connection pool and the one place where constraint violations become domain errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeAlias

import asyncpg

from clinic.errors import ClinicError

# Repos accept either: a pool for a single statement, a connection inside a transaction.
Executor: TypeAlias = "asyncpg.Pool | asyncpg.Connection"


async def create_pool(dsn: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=30,
        max_inactive_connection_lifetime=300,
    )


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
