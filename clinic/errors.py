"""Domain errors. Each carries the HTTP status and a stable code; the web layer maps them."""

from __future__ import annotations


class ClinicError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(ClinicError):
    status = 404
    code = "not_found"
    title = "Not found"


class Unauthorized(ClinicError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class InitDataMissing(Unauthorized):
    code = "init_data_missing"


class InitDataInvalid(Unauthorized):
    code = "init_data_invalid"


class InitDataExpired(Unauthorized):
    code = "init_data_expired"


class Conflict(ClinicError):
    status = 409
    code = "conflict"
    title = "Conflict"


class SlotTaken(Conflict):
    code = "slot_taken"


class PatientBusy(Conflict):
    code = "patient_busy"


class BookingPast(Conflict):
    code = "booking_past"


class MalformedBody(ClinicError):
    status = 400
    code = "malformed_body"
    title = "Malformed request body"


class Unprocessable(ClinicError):
    """Well-formed input that cannot be acted on: a past time, an off-grid time, a bad date."""

    status = 422
    code = "validation_error"
    title = "Unprocessable request"


class DatabaseUnavailable(ClinicError):
    status = 503
    code = "database_unavailable"
    title = "Service unavailable"
