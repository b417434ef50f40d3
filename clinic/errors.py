"""Every error of the app, in one place.

Domain errors derive from ClinicError and carry the HTTP status, a stable `code` and a
title; the web layer turns them into problem+json and the OpenAPI document lists them
from these classes. The rest are start-up errors: a bad setting or a broken query file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True)
class Msg:
    """A text to say in the language of whoever hears it: a key of the message catalogs
    (clinic/locales), its values and, for a plural entry, the count."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    count: int | None = None


def msg(key: str, /, count: int | None = None, **params: Any) -> Msg:
    return Msg(key, params, count)


class ClinicError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str | Msg,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail if isinstance(detail, str) else f"{detail.key} {detail.params}")
        self.detail = detail
        self.field = field
        # Members added to the problem body (RFC 9457 extension members).
        self.extra = extra or {}


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


class Forbidden(ClinicError):
    """The caller is known, but their role does not allow this."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


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


class TooLate(Conflict):
    """Inside CANCEL_CUTOFF_MINUTES: a patient cancels or moves only by phone."""

    code = "too_late"
    title = "Too late to change online"


class TooManyBookings(Conflict):
    code = "too_many_bookings"
    title = "Too many upcoming bookings"


class WaitlistFull(Conflict):
    code = "too_many"
    title = "Too many waitlist entries"


class OfferGone(Conflict):
    code = "offer_gone"
    title = "The offer no longer holds"


class BookingCancelled(Conflict):
    code = "booking_cancelled"
    title = "The booking is cancelled"


class TooEarly(Conflict):
    code = "too_early"
    title = "Too early for that"


class BookingsAffected(Conflict):
    """Confirmed bookings lie inside a day off or a closure; the body lists them."""

    code = "bookings_affected"
    title = "Confirmed bookings lie inside"


class TimeOffOverlap(Conflict):
    code = "time_off_overlap"
    title = "The doctor already has days off then"


class ClosureExists(Conflict):
    code = "closure_exists"
    title = "The clinic is already closed that day"


class DoctorTaken(Conflict):
    code = "doctor_taken"
    title = "Another staff member is that doctor"


class BodyTooLarge(ClinicError):
    status = 413
    code = "request_entity_too_large"
    title = "Request Entity Too Large"


class Unprocessable(ClinicError):
    """Well-formed input that cannot be acted on: a past time, an off-grid time, a bad date."""

    status = 422
    code = "validation_error"
    title = "Unprocessable request"


class DoctorUnavailable(Unprocessable):
    code = "doctor_unavailable"
    title = "The doctor does not work that day"


class UnknownPatient(Unprocessable):
    code = "unknown_patient"
    title = "No such patient in Telegram"


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
