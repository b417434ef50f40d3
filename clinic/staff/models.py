"""The staff side as the API shows it and takes it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from clinic.booking.models import (
    Attendance,
    BookingRequest,
    BookingRow,
    CancelledBy,
    Source,
    Status,
)

Role = Literal["admin", "reception", "doctor"]
ROLES: tuple[Role, ...] = ("admin", "reception", "doctor")
DESK: tuple[Role, ...] = ("admin", "reception")  # who runs the schedule and the desk

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
HHMM = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": f"^{_HH_MM.pattern}$", "examples": ["09:00"]}),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{5,30}$")]
TelegramId = Annotated[int, Field(gt=0, lt=2**63)]
DoctorId = Annotated[int, Field(ge=1, le=2_147_483_647)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _iso_date(value: object) -> object:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("must be a date YYYY-MM-DD")
    return value


class Member(BaseModel):
    """A staff member; admins of ADMIN_IDS (and the demo identity) have no row."""

    telegram_id: int
    role: Role
    doctor_id: int | None
    notify: bool = True
    configured: bool = Field(
        default=False, description="An admin by ADMIN_IDS (or demo mode), not by a row"
    )


class MemberRequest(_Strict):
    telegram_id: TelegramId
    role: Role
    doctor_id: DoctorId | None = None

    @model_validator(mode="after")
    def _doctor_iff_doctor(self) -> MemberRequest:
        if (self.role == "doctor") != (self.doctor_id is not None):
            raise ValueError("doctor_id is given for the role doctor, and only for it")
        return self


class NotifyRequest(_Strict):
    notify: bool = Field(description="Telegram messages of new and cancelled bookings")


class Patient(BaseModel):
    telegram_id: int | None
    name: str
    username: str | None
    phone: str | None


class DayBooking(BaseModel):
    """A booking as the staff's day shows it."""

    id: int
    doctor_id: int
    date: dt.date
    time: str = Field(description="Clinic-local start, HH:MM")
    starts_at: dt.datetime
    status: Status
    attendance: Attendance | None
    patient_confirmed: bool
    source: Source
    cancelled_by: CancelledBy | None
    cancel_reason: str | None
    patient: Patient


class Span(BaseModel):
    starts: str = Field(description="HH:MM")
    ends: str = Field(description="HH:MM")


class TimeOff(BaseModel):
    id: int
    doctor_id: int
    date_from: dt.date
    date_to: dt.date
    reason: str
    created_at: dt.datetime


class Closure(BaseModel):
    id: int
    date: dt.date
    reason: str
    created_at: dt.datetime


class DoctorDay(BaseModel):
    doctor_id: int
    full_name: str
    specialization: str
    hours: Span | None = Field(description="The doctor's hours that weekday; null: not working")
    time_off: list[TimeOff]
    bookings: list[DayBooking]


class DaySchedule(BaseModel):
    date: dt.date
    closure: Closure | None
    doctors: list[DoctorDay]


class StaffBookingRequest(_Strict):
    """A booking taken by phone or at the desk."""

    doctor_id: DoctorId
    date: dt.date = Field(description="Clinic-local date, YYYY-MM-DD")
    time: Annotated[
        dt.time,
        WithJsonSchema({"type": "string", "pattern": "^([01]\\d|2[0-3]):[0-5]\\d$"}),
    ] = Field(description="Clinic-local start, HH:MM on the half-hour grid")
    patient_name: Name
    phone: Phone | None = None
    telegram_id: TelegramId | None = Field(
        default=None, description="A patient known in Telegram: their booking, reminded"
    )

    @field_validator("date", mode="before")
    @classmethod
    def _iso(cls, value: object) -> object:
        return _iso_date(value)

    @field_validator("time", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("time must be a string HH:MM")
        return value

    def slot(self) -> BookingRequest:
        return BookingRequest.model_validate(
            {"doctor_id": self.doctor_id, "date": f"{self.date}", "time": f"{self.time:%H:%M}"}
        )


class CancelRequest(_Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class AttendanceRequest(_Strict):
    attendance: Attendance


class WeekdayHours(_Strict):
    weekday: int = Field(ge=1, le=6, description="ISO weekday: 1 Monday ... 6 Saturday")
    starts: HHMM
    ends: HHMM

    @field_validator("starts", "ends")
    @classmethod
    def _on_grid(cls, value: str) -> str:
        if not _HH_MM.fullmatch(value) or value[3:] not in ("00", "30"):
            raise ValueError("must be HH:MM on the half-hour grid")
        return value

    @model_validator(mode="after")
    def _order(self) -> WeekdayHours:
        if self.starts >= self.ends:
            raise ValueError("starts must be before ends")
        return self


class WeeklyHours(BaseModel):
    """A doctor's weekly hours; `own` false: the clinic's default week (Mon-Sat 08-20)."""

    doctor_id: int
    own: bool
    days: list[WeekdayHours]


class TimeOffRequest(_Strict):
    date_from: dt.date
    date_to: dt.date
    reason: Text = ""
    cancel_bookings: bool = Field(
        default=False, description="Cancel the confirmed bookings inside and tell the patients"
    )

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _iso(cls, value: object) -> object:
        return _iso_date(value)

    @model_validator(mode="after")
    def _order(self) -> TimeOffRequest:
        if self.date_from > self.date_to:
            raise ValueError("date_from must not be after date_to")
        if (self.date_to - self.date_from).days > 366:
            raise ValueError("a time off spans at most a year")
        return self


class ClosureRequest(_Strict):
    date: dt.date
    reason: Text = ""
    cancel_bookings: bool = False

    @field_validator("date", mode="before")
    @classmethod
    def _iso(cls, value: object) -> object:
        return _iso_date(value)


class AffectedBooking(BaseModel):
    """A confirmed booking a day off or a closure would cancel."""

    id: int
    doctor_id: int
    doctor: str
    date: dt.date
    time: str
    patient: str


class Action(BaseModel):
    id: int
    actor: int | None = Field(description="The staff member's Telegram id; null: the shell")
    action: str
    subject: str
    before: dict[str, Any] | list[Any] | None
    after: dict[str, Any] | list[Any] | None
    created_at: dt.datetime


class BookingWithPatient(BookingRow):
    """A booking card with the patient's Telegram names, as the staff queries return it."""

    username: str | None = None


class DoctorDayRow(BaseModel):
    doctor_id: int
    last_name: str
    first_name: str
    middle_name: str | None
    specialization: str
    starts: dt.time | None
    ends: dt.time | None
