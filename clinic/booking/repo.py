"""Typed wrappers over sql/booking.sql."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

import asyncpg

from clinic.booking.models import BookingRow, DoctorWeek
from clinic.db import Executor, constraint_errors
from clinic.errors import ClinicError, PatientBusy, SlotTaken, msg
from clinic.reminders.models import Reminder
from clinic.sql import q

_BOOKING_CONSTRAINTS: dict[str, Callable[[], ClinicError]] = {
    "bookings_doctor_no_overlap": lambda: SlotTaken(msg("error.slot_taken")),
    "bookings_patient_no_overlap": lambda: PatientBusy(msg("error.patient_busy")),
}


class Stretch(NamedTuple):
    """Days of one doctor's schedule: [starts, ends), the days first_day to last_day."""

    doctor_id: int
    starts: datetime
    ends: datetime
    first_day: date
    last_day: date


# (hours, booked, off_days) as the database answered them: equal when their values are,
# so a caller can tell that nothing changed without building anything.
Answer = tuple[Any, Any, Any]


async def doctor_weeks(db: Executor, stretches: Sequence[Stretch]) -> list[Answer | None]:
    """The answer for each stretch, in their order; None where there is no such doctor."""
    rows = await db.fetch(
        q("booking.doctor_weeks"), *(list(column) for column in zip(*stretches, strict=True))
    )
    found = {row["n"]: (row["hours"], row["booked"], row["off_days"]) for row in rows}
    return [found.get(n) for n in range(1, len(stretches) + 1)]


async def doctor_week(db: Executor, stretch: Stretch) -> DoctorWeek | None:
    (answer,) = await doctor_weeks(db, [stretch])
    return DoctorWeek.from_answer(answer) if answer is not None else None


class Written(NamedTuple):
    """What a booking write did: the row, or which check stopped it."""

    open: bool  # the day is not off nor closed
    passed: bool  # the patient's check: room under the cap (insert), found to move (move)
    row: BookingRow | None


def _written(record: Any, passed: str) -> Written:
    data = dict(record)
    opened, ok = bool(data.pop("open")), bool(data.pop(passed))
    row = BookingRow.model_validate(data) if data.get("id") is not None else None
    return Written(opened, ok, row)


def _conflicts() -> Any:
    return constraint_errors(_BOOKING_CONSTRAINTS)


class Booked(NamedTuple):
    """What the booking statement did: the row and the messages it planned, or which
    check stopped it (sql/booking.sql `book`)."""

    found: bool  # the doctor exists
    in_hours: bool
    hours: tuple[time, time] | None  # the doctor's hours that weekday; None: not working
    open: bool  # the day is not off nor closed
    room: bool  # the patient is under the cap
    row: BookingRow | None
    planned: list[Reminder]


async def book(
    db: Executor,
    *,
    doctor_id: int,
    user_id: int | None,
    starts_at: datetime,
    ends_at: datetime,
    day: date,
    at: time,
    default_hours: tuple[time, time],
    now: datetime,
    max_upcoming: int | None,
    reminders: Sequence[tuple[str, datetime]],
    admin_ids: Sequence[int],
    actor: int | None,
    channel: str | None,
    source: str = "patient",
    patient_name: str | None = None,
    phone: str | None = None,
) -> Booked:
    try:
        with _conflicts():
            record = await db.fetchrow(
                q("booking.book"),
                doctor_id,
                user_id,
                starts_at,
                ends_at,
                day,
                source,
                patient_name,
                phone,
                now,
                max_upcoming,
                day.isoweekday(),
                at,
                *default_hours,
                [kind for kind, _ in reminders],
                [due for _, due in reminders],
                list(admin_ids),
                actor,
                channel,
            )
    except asyncpg.DeadlockDetectedError:
        # Only bookings off the half-hour grid can still meet this way: a conflict all the same.
        raise _BOOKING_CONSTRAINTS["bookings_doctor_no_overlap"]() from None
    data = dict(record)
    found, in_hours = bool(data.pop("found")), bool(data.pop("in_hours"))
    opens, closes = data.pop("opens"), data.pop("closes")
    opened, room = bool(data.pop("open")), bool(data.pop("room"))
    kinds, due_ats = data.pop("planned_kinds"), data.pop("planned_due_ats")
    del data["told"]
    row = BookingRow.model_validate(data) if data.get("id") is not None else None
    planned = [
        Reminder(kind=kind, due_at=due, status="pending")
        for kind, due in zip(kinds, due_ats, strict=True)
    ]
    hours = (opens, closes) if opens is not None else None
    return Booked(found, in_hours, hours, opened, room, row, planned)


async def reschedule_booking(
    db: Executor,
    *,
    booking_id: int,
    user_id: int,
    doctor_id: int,
    starts_at: datetime,
    ends_at: datetime,
    day: date,
    now: datetime,
    cutoff: timedelta,
) -> Written:
    try:
        with _conflicts():
            record = await db.fetchrow(
                q("booking.reschedule_booking"),
                booking_id,
                user_id,
                doctor_id,
                starts_at,
                ends_at,
                day,
                now,
                cutoff,
            )
    except asyncpg.DeadlockDetectedError:
        raise _BOOKING_CONSTRAINTS["bookings_doctor_no_overlap"]() from None
    return _written(record, "found")


async def confirm_visit(
    db: Executor, *, booking_id: int, user_id: int, now: datetime
) -> BookingRow | None:
    row = await db.fetchrow(q("booking.confirm_visit"), booking_id, user_id, now)
    return BookingRow.model_validate(dict(row)) if row else None


async def list_user_bookings(
    db: Executor, *, user_id: int, now: datetime, max_rows: int
) -> list[BookingRow]:
    rows = await db.fetch(q("booking.list_user_bookings"), user_id, now, max_rows)
    return [BookingRow.model_validate(dict(row)) for row in rows]


async def get_user_booking(db: Executor, *, booking_id: int, user_id: int) -> BookingRow | None:
    row = await db.fetchrow(q("booking.get_user_booking"), booking_id, user_id)
    return BookingRow.model_validate(dict(row)) if row else None


async def get_booking(db: Executor, *, booking_id: int) -> BookingRow | None:
    row = await db.fetchrow(q("booking.get_booking"), booking_id)
    return BookingRow.model_validate(dict(row)) if row else None


async def cancel_booking(
    db: Executor, *, booking_id: int, user_id: int, now: datetime, cutoff: timedelta
) -> BookingRow | None:
    row = await db.fetchrow(q("booking.cancel_booking"), booking_id, user_id, now, cutoff)
    return BookingRow.model_validate(dict(row)) if row else None


async def cancel_for_clinic(
    db: Executor, *, booking_ids: Sequence[int], reason: str, now: datetime
) -> list[BookingRow]:
    rows = await db.fetch(q("booking.cancel_for_clinic"), list(booking_ids), reason, now)
    return [BookingRow.model_validate(dict(row)) for row in rows]


async def set_attendance(
    db: Executor, *, booking_id: int, attendance: str, now: datetime, arrive_early: timedelta
) -> BookingRow | None:
    row = await db.fetchrow(q("booking.set_attendance"), booking_id, attendance, now, arrive_early)
    return BookingRow.model_validate(dict(row)) if row else None


async def confirmed_in_days(
    db: Executor, *, doctor_id: int | None, starts: datetime, ends: datetime, now: datetime
) -> list[BookingRow]:
    rows = await db.fetch(q("booking.confirmed_in_days"), doctor_id, starts, ends, now)
    return [BookingRow.model_validate(dict(row)) for row in rows]
