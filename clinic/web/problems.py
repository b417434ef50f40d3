"""One middleware that turns every error into RFC 9457 application/problem+json."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware as Middleware
from pydantic import ValidationError

from clinic.errors import ClinicError

log = logging.getLogger("clinic.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Reasons the database cannot answer right now: the client may retry shortly.
DATABASE_DOWN = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    # A pooled connection that PostgreSQL terminated, used before asyncpg noticed.
    asyncpg.InternalClientError,
)


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        **(extra or {}),
        "type": f"urn:clinic:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return web.Response(
        status=status,
        body=orjson.dumps(body),
        content_type="application/problem+json",
        headers=headers,
    )


def _validation_problem(exc: ValidationError) -> web.Response:
    errors = [
        {"field": ".".join(str(part) for part in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "validation_error", "Invalid request", detail, errors=errors)


def _http_problem(exc: web.HTTPException) -> web.Response:
    code = exc.reason.lower().replace(" ", "_")
    headers = {name: exc.headers[name] for name in ("Allow", "Retry-After") if name in exc.headers}
    detail = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
    return problem(exc.status, code, exc.reason, detail, headers=headers or None)


@web.middleware
async def problems_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ClinicError as exc:
        errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
        return problem(exc.status, exc.code, exc.title, exc.detail, errors=errors, extra=exc.extra)
    except ValidationError as exc:
        return _validation_problem(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_problem(exc)
    except ConnectionResetError:
        raise  # the client went away: nothing to answer, and not the database's fault
    except DATABASE_DOWN:
        log.warning("database unavailable", extra={"path": request.path}, exc_info=True)
        return problem(
            503,
            "database_unavailable",
            "Service unavailable",
            "База данных временно недоступна, повторите попытку",
            headers={"Retry-After": "2"},
        )
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return problem(500, "internal_error", "Internal error", "Внутренняя ошибка сервера")
