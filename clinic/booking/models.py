"""Bookings and slots as the API returns them, and the rows they are made from."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from clinic.booking.slots import Hours, Interval, weekly_hours
from clinic.catalog.models import full_name
from clinic.reminders.models import Reminder as Reminder  # re-exported: part of a Booking

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class SlotChoice(BaseModel):
    """A day and a start on the clinic's wall clock, as a patient picks them."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(description="Clinic-local date, YYYY-MM-DD")
    time: Annotated[
        dt.time,
        WithJsonSchema({"type": "string", "pattern": f"^{_HH_MM.pattern}$", "examples": ["09:30"]}),
    ] = Field(description="Clinic-local start, HH:MM on the half-hour grid")

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise ValueError("date must be a string YYYY-MM-DD")
        return value

    @field_validator("time", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        if not isinstance(value, str) or not _HH_MM.fullmatch(value):
            raise ValueError("time must be a string HH:MM")
        return value


class BookingRequest(SlotChoice):
    """A patient's request; the patient is whoever signed the initData, never a field."""

    doctor_id: int = Field(ge=1, le=2_147_483_647)


class Reschedule(SlotChoice):
    """Where to move a booking: another day and time with the same doctor."""


class BookedDoctor(BaseModel):
    id: int
    full_name: str
    title: str
    specialization: str
    photo_url: str | None


Status = Literal["confirmed", "cancelled"]
Source = Literal["patient", "staff"]
Attendance = Literal["arrived", "no_show"]
CancelledBy = Literal["patient", "clinic"]


class Booking(BaseModel):
    id: int
    status: Status
    date: dt.date
    time: str = Field(description="Clinic-local start, HH:MM")
    starts_at: dt.datetime
    ends_at: dt.datetime
    upcoming: bool
    created_at: dt.datetime
    cancelled_at: dt.datetime | None
    cancelled_by: CancelledBy | None = None
    cancel_reason: str | None = None
    patient_confirmed: bool = False
    revision: int = Field(default=0, description="Grows with each move or cancellation")
    calendar_url: str | None = Field(
        default=None, description="The booking as .ics, by a signed link valid for days"
    )
    doctor: BookedDoctor
    reminders: list[Reminder] = Field(default_factory=list)


class DaySlots(BaseModel):
    date: dt.date
    weekday: str
    weekday_short: str
    slots: list[str]
    count: int
    open: bool = Field(
        description="The doctor receives that day and some of its times are still ahead; "
        "open with no slots: every time is booked (a day to wait for)"
    )


class WeekSlots(BaseModel):
    doctor_id: int
    week_start: dt.date
    prev_week: dt.date | None
    next_week: dt.date | None
    days: list[DaySlots]


class BookingRow(BaseModel):
    """A booking card (a booking with its doctor), as the booking queries return it."""

    id: int
    user_id: int | None
    doctor_id: int
    status: Status
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_at: dt.datetime
    cancelled_at: dt.datetime | None
    last_name: str
    first_name: str
    middle_name: str | None
    title: str
    specialization: str
    photo: str | None
    source: Source = "patient"
    patient_name: str | None = None
    phone: str | None = None
    attendance: Attendance | None = None
    attendance_at: dt.datetime | None = None
    patient_confirmed_at: dt.datetime | None = None
    cancelled_by: CancelledBy | None = None
    cancel_reason: str | None = None
    revision: int = 0
    # The Telegram patient's names, where a query joins them.
    user_first_name: str | None = None
    user_last_name: str | None = None

    @property
    def doctor_name(self) -> str:
        return full_name(self.last_name, self.first_name, self.middle_name)

    @property
    def patient_name_shown(self) -> str:
        """The name staff wrote down, else the Telegram patient's names."""
        if self.patient_name:
            return self.patient_name
        names = (self.user_first_name, self.user_last_name)
        return " ".join(n for n in names if n) or f"Telegram {self.user_id}"


class DoctorWeek(BaseModel):
    """A doctor's hours, the confirmed bookings of a stretch of days, and the days of it
    the doctor is off or the clinic closed."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hours: Hours
    booked: list[Interval]
    off_days: frozenset[dt.date] = frozenset()

    @classmethod
    def from_answer(cls, answer: tuple[Any, Any, Any]) -> DoctorWeek:
        """From repo.doctor_weeks' (hours, booked, off_days)."""
        hours, booked, off_days = answer
        return cls(
            hours=weekly_hours(tuple(h) for h in hours),
            booked=[
                Interval(
                    dt.datetime.fromtimestamp(start, dt.UTC), dt.datetime.fromtimestamp(end, dt.UTC)
                )
                for start, end in booked
            ],
            off_days=frozenset(off_days),
        )
