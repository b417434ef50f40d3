"""Every error of the app, in one place.

Domain errors derive from ClinicError and carry the HTTP status, a stable `code` and a
title; the web layer turns them into problem+json and the OpenAPI document lists them
from these classes. The rest are start-up errors: a bad setting or a broken query file.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit


class ClinicError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class MalformedBody(ClinicError):
    status = 400
    code = "malformed_body"
    title = "Malformed request body"


class Unauthorized(ClinicError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class InitDataMissing(Unauthorized):
    code = "init_data_missing"
    title = "initData missing"


class InitDataInvalid(Unauthorized):
    code = "init_data_invalid"
    title = "initData invalid"


class InitDataExpired(Unauthorized):
    code = "init_data_expired"
    title = "initData expired"


class WrongSecret(Unauthorized):
    code = "unauthorized"
    title = "Wrong or missing secret token"


class NotFound(ClinicError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(ClinicError):
    status = 409
    code = "conflict"
    title = "Conflict"


class SlotTaken(Conflict):
    code = "slot_taken"
    title = "The slot is taken"


class PatientBusy(Conflict):
    code = "patient_busy"
    title = "The patient is booked at that time"


class BookingPast(Conflict):
    code = "booking_past"
    title = "The visit has begun or passed"


class BodyTooLarge(ClinicError):
    status = 413
    code = "request_entity_too_large"
    title = "Request Entity Too Large"


class Unprocessable(ClinicError):
    """Well-formed input that cannot be acted on: a past time, an off-grid time, a bad date."""

    status = 422
    code = "validation_error"
    title = "Unprocessable request"


class DatabaseUnavailable(ClinicError):
    status = 503
    code = "database_unavailable"
    title = "Service unavailable"


class NotBuilt(ClinicError):
    status = 503
    code = "not_built"
    title = "Not built"


# Start-up errors: not answers to a request.


class StartupError(Exception):
    """The app cannot start: a bad setting, a busy port, a database that cannot be
    reached or is not migrated. The message is one line saying what and how to fix it;
    the command prints it and exits with code 2, with no traceback."""


class ConfigError(StartupError):
    """A setting is missing or wrong; the message says which and how to fix it."""


class DatabaseUnreachable(StartupError):
    """No connection to PostgreSQL at start-up; the message says where (never with the
    password) and why."""

    def __init__(self, dsn: str, reason: BaseException | str) -> None:
        why = " ".join(str(reason).split()) or type(reason).__name__
        super().__init__(f"cannot connect to PostgreSQL at {database_address(dsn)}: {why}")


def database_address(dsn: str) -> str:
    """host:port/database of a DSN, for messages: no user, no password."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or parse_qs(parts.query).get("host", ["localhost"])[0]
        return f"{host}:{parts.port or 5432}{parts.path}"
    except ValueError:
        return "(an unparsable DSN)"


class QueryError(Exception):
    """sql/*.sql does not load: a duplicate, empty or multi-statement block, or no queries."""
