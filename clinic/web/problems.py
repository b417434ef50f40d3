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
from clinic.texts import Lang, Texts, language, of

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


# pydantic's error types, by what they mean to the person who sent the value.
VALIDATION = {
    "missing": "validation.missing",
    "extra_forbidden": "validation.extra_forbidden",
    "string_too_short": "validation.too_short",
    "too_short": "validation.too_short",
    "string_too_long": "validation.too_long",
    "too_long": "validation.too_long",
    "greater_than": "validation.range",
    "greater_than_equal": "validation.range",
    "less_than": "validation.range",
    "less_than_equal": "validation.range",
    "literal_error": "validation.choice",
    "enum": "validation.choice",
    "string_pattern_mismatch": "validation.format",
    "date_from_datetime_parsing": "validation.format",
    "date_parsing": "validation.format",
    "time_parsing": "validation.format",
}


def _validation_message(err: Any, tx: Texts) -> str:
    """pydantic's English message for English callers; a catalog text otherwise (a
    value's own rule, raised by our validators, reads best as pydantic gives it)."""
    kind = str(err["type"])
    if tx.lang == "en" or kind == "value_error":
        return str(err["msg"])
    if kind.endswith(("_type", "_parsing")) and kind not in VALIDATION:
        return tx("validation.type")
    return tx(VALIDATION.get(kind, "validation.other"))


def _validation_problem(exc: ValidationError, tx: Texts) -> web.Response:
    errors = [
        {
            "field": ".".join(str(part) for part in err["loc"]) or "body",
            "message": _validation_message(err, tx),
        }
        for err in exc.errors(include_url=False, include_input=False)
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "validation_error", "Invalid request", detail, errors=errors)


CLIENT_GONE = 499  # nginx's "client closed request": written to the log, sent to nobody

# The caller's language, put on the request by /api's initData middleware.
LANGUAGE = web.RequestKey("language", str)


def language_of(request: web.Request) -> Lang:
    """The caller's Telegram language when known, else the request's Accept-Language."""
    known = request.get(LANGUAGE)
    if known is not None:
        return language(known)
    first = request.headers.get("Accept-Language", "").split(",")[0]
    return language(first.split(";")[0])


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
        detail = of(language_of(request)).render(exc.detail)
        errors = [{"field": exc.field, "message": detail}] if exc.field else None
        return problem(exc.status, exc.code, exc.title, detail, errors=errors, extra=exc.extra)
    except ValidationError as exc:
        return _validation_problem(exc, of(language_of(request)))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_problem(exc)
    except ConnectionResetError:
        if request.transport is not None and not request.transport.is_closing():
            raise
        # The client went away while its body was read: nobody to answer, and not the
        # database's fault. The request log says 499, as nginx does; no traceback.
        return web.Response(status=CLIENT_GONE)
    except DATABASE_DOWN:
        log.warning("database unavailable", extra={"path": request.path}, exc_info=True)
        return problem(
            503,
            "database_unavailable",
            "Service unavailable",
            of(language_of(request))("error.database"),
            headers={"Retry-After": "2"},
        )
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        detail = of(language_of(request))("error.internal")
        return problem(500, "internal_error", "Internal error", detail)
