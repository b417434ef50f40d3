"""Typed wrappers over sql/staff.sql."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

import orjson

from clinic.db import Executor, constraint_errors
from clinic.errors import ClinicError, ClosureExists, DoctorTaken, TimeOffOverlap, msg
from clinic.sql import q
from clinic.staff.models import (
    Action,
    BookingWithPatient,
    Closure,
    DoctorDayRow,
    Member,
    TimeOff,
)

_CONSTRAINTS: dict[str, Callable[[], ClinicError]] = {
    "staff_doctor_key": lambda: DoctorTaken(msg("error.doctor_taken")),
    "staff_doctor_fkey": lambda: DoctorTaken(msg("error.no_such_doctor")),
    "time_off_no_overlap": lambda: TimeOffOverlap(msg("error.time_off_overlap")),
    "closures_day_key": lambda: ClosureExists(msg("error.closure_exists")),
}


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


async def get_member(db: Executor, *, telegram_id: int) -> Member | None:
    row = await db.fetchrow(q("staff.get_member"), telegram_id)
    return Member.model_validate(dict(row)) if row else None


async def list_members(db: Executor) -> list[Member]:
    return [Member.model_validate(dict(row)) for row in await db.fetch(q("staff.list_members"))]


async def upsert_member(
    db: Executor, *, telegram_id: int, role: str, doctor_id: int | None
) -> tuple[Member, bool]:
    """The member, and whether they are new."""
    with constraint_errors(_CONSTRAINTS):
        row = await db.fetchrow(q("staff.upsert_member"), telegram_id, role, doctor_id)
    data = dict(row)
    created = bool(data.pop("created"))
    return Member.model_validate(data), created


async def set_notify(db: Executor, *, member: Member, notify: bool) -> Member:
    row = await db.fetchrow(
        q("staff.set_notify"), member.telegram_id, member.role, member.doctor_id, notify
    )
    return Member.model_validate(dict(row))


async def delete_member(db: Executor, *, telegram_id: int) -> Member | None:
    row = await db.fetchrow(q("staff.delete_member"), telegram_id)
    return Member.model_validate(dict(row)) if row else None


async def day_doctors(
    db: Executor, *, doctor_id: int | None, weekday: int, default_starts: time, default_ends: time
) -> list[DoctorDayRow]:
    rows = await db.fetch(q("staff.day_doctors"), doctor_id, weekday, default_starts, default_ends)
    return [DoctorDayRow.model_validate(dict(row)) for row in rows]


async def day_bookings(
    db: Executor, *, doctor_id: int | None, starts: datetime, ends: datetime
) -> list[BookingWithPatient]:
    rows = await db.fetch(q("staff.day_bookings"), doctor_id, starts, ends)
    return [BookingWithPatient.model_validate(dict(row)) for row in rows]


async def user_exists(db: Executor, *, telegram_id: int) -> bool:
    return bool(await db.fetchval(q("staff.user_exists"), telegram_id))


async def doctor_own_hours(db: Executor, *, doctor_id: int) -> list[tuple[int, time, time]] | None:
    """The doctor's own weekly hours ([]: the default week); None when no such doctor."""
    row = await db.fetchrow(q("staff.doctor_own_hours"), doctor_id)
    return [tuple(h) for h in row["hours"]] if row else None


async def lock_days(db: Executor, *, doctor_id: int | None, first: date, last: date) -> None:
    await db.fetchval(q("staff.lock_days"), doctor_id, first, last)


async def list_time_off(db: Executor, *, doctor_id: int, since: date) -> list[TimeOff]:
    rows = await db.fetch(q("staff.list_time_off"), doctor_id, since)
    return [TimeOff.model_validate(dict(row)) for row in rows]


async def day_time_off(db: Executor, *, doctor_id: int | None, day: date) -> list[TimeOff]:
    rows = await db.fetch(q("staff.day_time_off"), doctor_id, day)
    return [TimeOff.model_validate(dict(row)) for row in rows]


async def insert_time_off(
    db: Executor,
    *,
    doctor_id: int,
    date_from: date,
    date_to: date,
    reason: str,
    created_by: int | None,
) -> TimeOff:
    with constraint_errors(_CONSTRAINTS):
        row = await db.fetchrow(
            q("staff.insert_time_off"), doctor_id, date_from, date_to, reason, created_by
        )
    return TimeOff.model_validate(dict(row))


async def delete_time_off(db: Executor, *, time_off_id: int) -> TimeOff | None:
    row = await db.fetchrow(q("staff.delete_time_off"), time_off_id)
    return TimeOff.model_validate(dict(row)) if row else None


async def list_closures(db: Executor, *, since: date) -> list[Closure]:
    rows = await db.fetch(q("staff.list_closures"), since)
    return [Closure.model_validate(dict(row)) for row in rows]


async def get_closure(db: Executor, *, day: date) -> Closure | None:
    row = await db.fetchrow(q("staff.get_closure"), day)
    return Closure.model_validate(dict(row)) if row else None


async def insert_closure(
    db: Executor, *, day: date, reason: str, created_by: int | None
) -> Closure:
    with constraint_errors(_CONSTRAINTS):
        row = await db.fetchrow(q("staff.insert_closure"), day, reason, created_by)
    return Closure.model_validate(dict(row))


async def delete_closure(db: Executor, *, closure_id: int) -> Closure | None:
    row = await db.fetchrow(q("staff.delete_closure"), closure_id)
    return Closure.model_validate(dict(row)) if row else None


async def record_action(
    db: Executor, *, actor: int | None, action: str, subject: str, before: Any, after: Any
) -> None:
    await db.execute(q("staff.record_action"), actor, action, subject, _json(before), _json(after))


async def list_actions(db: Executor, *, before_id: int | None, max_rows: int) -> list[Action]:
    rows = await db.fetch(q("staff.list_actions"), before_id, max_rows)
    return [
        Action.model_validate(
            {
                **dict(row),
                "before": orjson.loads(row["before"]) if row["before"] else None,
                "after": orjson.loads(row["after"]) if row["after"] else None,
            }
        )
        for row in rows
    ]


async def export_bookings(
    db: Executor, *, starts: datetime, ends: datetime
) -> list[BookingWithPatient]:
    rows = await db.fetch(q("staff.export_bookings"), starts, ends)
    return [BookingWithPatient.model_validate(dict(row)) for row in rows]
