"""The staff side's use cases, for the REST API, the bot and the shell. Every write is
one transaction with its audit row; a doctor sees and marks only their own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel

from clinic import db, texts
from clinic.booking.models import BookingRow
from clinic.booking.service import Bookings
from clinic.catalog.models import full_name
from clinic.catalog.service import Catalog
from clinic.clock import Clock
from clinic.errors import (
    BookingCancelled,
    BookingPast,
    BookingsAffected,
    Conflict,
    Forbidden,
    NotFound,
    UnknownPatient,
    Unprocessable,
    msg,
)
from clinic.staff import export, repo
from clinic.staff.models import (
    Action,
    AffectedBooking,
    AttendanceRequest,
    BookingWithPatient,
    Closure,
    ClosureRequest,
    DayBooking,
    DaySchedule,
    DoctorDay,
    Member,
    MemberRequest,
    Patient,
    Span,
    StaffBookingRequest,
    TimeOff,
    TimeOffRequest,
    WeekdayHours,
    WeeklyHours,
)

CLINIC_DEFAULT = Bookings.default_hours()[1]  # Monday to Saturday alike
# Stored in the clinic's language when staff give no reason; a patient reads it in theirs.
TIME_OFF_REASON = texts.RU("staff.time_off_reason")
CLOSURE_REASON = texts.RU("staff.closure_reason")
MAX_EXPORT_DAYS = 366


def day_booking(row: BookingWithPatient, tz: ZoneInfo) -> DayBooking:
    local = row.starts_at.astimezone(tz)
    return DayBooking(
        id=row.id,
        doctor_id=row.doctor_id,
        date=local.date(),
        time=local.strftime("%H:%M"),
        starts_at=row.starts_at,
        status=row.status,
        attendance=row.attendance,
        patient_confirmed=row.patient_confirmed_at is not None,
        source=row.source,
        cancelled_by=row.cancelled_by,
        cancel_reason=row.cancel_reason,
        patient=Patient(
            telegram_id=row.user_id,
            name=row.patient_name_shown,
            username=row.username,
            phone=row.phone,
        ),
    )


def dumped(value: BaseModel | list[Any] | None) -> Any:
    """A row for the audit log, as JSON."""
    if value is None:
        return None
    if isinstance(value, list):
        return [dumped(item) for item in value]
    return value.model_dump(mode="json")


class Staff:
    """One object per app: members and roles, the day, the desk's bookings and
    cancellations, attendance, hours, days off, closures, the audit log, the export."""

    def __init__(
        self,
        database: db.Database,
        *,
        bookings: Bookings,
        catalog: Catalog,
        admin_ids: Iterable[int],
        tz: ZoneInfo,
        clock: Clock,
    ) -> None:
        self._db = database
        self._bookings = bookings
        self._catalog = catalog
        self._admins = frozenset(admin_ids)
        self.tz = tz
        self._clock = clock

    def today(self) -> date:
        return self._clock().astimezone(self.tz).date()

    # --- who is staff ---------------------------------------------------------------

    async def member(self, telegram_id: int) -> Member | None:
        """The staff member with that Telegram id; ADMIN_IDS are admins with or without
        a row; None for everyone else."""
        found = await repo.get_member(self._db.pool, telegram_id=telegram_id)
        if telegram_id in self._admins:
            base = found or Member(telegram_id=telegram_id, role="admin", doctor_id=None)
            return base.model_copy(update={"role": "admin", "doctor_id": None, "configured": True})
        return found

    async def members(self) -> list[Member]:
        rows = await repo.list_members(self._db.pool)
        listed = {m.telegram_id for m in rows}
        configured = [
            Member(telegram_id=i, role="admin", doctor_id=None, configured=True)
            for i in sorted(self._admins - listed)
        ]
        return [
            m.model_copy(update={"role": "admin", "doctor_id": None, "configured": True})
            if m.telegram_id in self._admins
            else m
            for m in rows
        ] + configured

    async def add_member(self, actor: int | None, request: MemberRequest) -> tuple[Member, bool]:
        """Adds a member or changes their role; True when they are new."""
        if request.doctor_id is not None:
            await self._catalog.doctor(request.doctor_id)
        async with self._db.transaction() as conn:
            before = await repo.get_member(conn, telegram_id=request.telegram_id)
            member, created = await repo.upsert_member(
                conn,
                telegram_id=request.telegram_id,
                role=request.role,
                doctor_id=request.doctor_id,
            )
            await self._record(
                conn,
                actor,
                "member.add" if created else "member.change",
                f"staff:{member.telegram_id}",
                before,
                member,
            )
        return member, created

    async def set_notify(self, member: Member, notify: bool) -> Member:
        """The member's own switch for their Telegram notices."""
        async with self._db.transaction() as conn:
            changed = await repo.set_notify(conn, member=member, notify=notify)
            await self._record(
                conn,
                member.telegram_id,
                "member.notify",
                f"staff:{member.telegram_id}",
                member,
                changed,
            )
        return changed.model_copy(
            update={
                "role": member.role,
                "doctor_id": member.doctor_id,
                "configured": member.configured,
            }
        )

    async def remove_member(self, actor: int | None, telegram_id: int) -> Member:
        async with self._db.transaction() as conn:
            removed = await repo.delete_member(conn, telegram_id=telegram_id)
            if removed is None:
                if telegram_id in self._admins:
                    raise Conflict(msg("error.configured_admin"))
                raise NotFound(msg("error.not_found.member"))
            await self._record(conn, actor, "member.remove", f"staff:{telegram_id}", removed, None)
        return removed

    # --- the day ----------------------------------------------------------------------

    def _scope(self, member: Member, doctor_id: int | None) -> int | None:
        """The doctor whose data this member asks for: a doctor only their own."""
        if member.role != "doctor":
            return doctor_id
        if doctor_id is not None and doctor_id != member.doctor_id:
            raise Forbidden(msg("error.doctor_own_only"))
        return member.doctor_id

    async def day(self, member: Member, day: date, *, doctor_id: int | None) -> DaySchedule:
        doctor_id = self._scope(member, doctor_id)
        pool = self._db.pool
        starts, ends = self._bookings.day_bounds(day, day)
        doctors = await repo.day_doctors(
            pool,
            doctor_id=doctor_id,
            weekday=day.isoweekday(),
            default_starts=CLINIC_DEFAULT[0],
            default_ends=CLINIC_DEFAULT[1],
        )
        if doctor_id is not None and not doctors:
            raise NotFound(msg("error.not_found.doctor", id=doctor_id))
        time_off: dict[int, list[TimeOff]] = defaultdict(list)
        for off in await repo.day_time_off(pool, doctor_id=doctor_id, day=day):
            time_off[off.doctor_id].append(off)
        booked: dict[int, list[DayBooking]] = defaultdict(list)
        for row in await repo.day_bookings(pool, doctor_id=doctor_id, starts=starts, ends=ends):
            booked[row.doctor_id].append(day_booking(row, self.tz))
        return DaySchedule(
            date=day,
            closure=await repo.get_closure(pool, day=day),
            doctors=[
                DoctorDay(
                    doctor_id=d.doctor_id,
                    full_name=full_name(d.last_name, d.first_name, d.middle_name),
                    specialization=d.specialization,
                    hours=Span(starts=f"{d.starts:%H:%M}", ends=f"{d.ends:%H:%M}")
                    if d.starts is not None and d.ends is not None
                    else None,
                    time_off=time_off[d.doctor_id],
                    bookings=booked[d.doctor_id],
                )
                for d in doctors
            ],
        )

    # --- the desk: bookings by phone, cancellations, attendance ------------------------

    async def book(self, member: Member, request: StaffBookingRequest) -> DayBooking:
        """A booking taken by phone or at the desk; with a known Telegram patient it is
        theirs, with their confirmation and reminders."""
        if request.telegram_id is not None and not await repo.user_exists(
            self._db.pool, telegram_id=request.telegram_id
        ):
            raise UnknownPatient(
                msg("error.unknown_patient"),
                field="telegram_id",
            )

        async def audit(conn: asyncpg.Connection, row: BookingRow) -> None:
            await self._record(
                conn, member.telegram_id, "booking.create", f"booking:{row.id}", None, row
            )

        row = await self._bookings.create_staff_booking(
            request.slot(),
            user_id=request.telegram_id,
            patient_name=request.patient_name,
            phone=request.phone,
            within=audit,
            actor=member.telegram_id,
        )
        return day_booking(BookingWithPatient.model_validate(row.model_dump()), self.tz)

    async def cancel(self, member: Member, booking_id: int, *, reason: str) -> DayBooking:
        """The clinic cancels a booking; its patient is told in Telegram, with the reason."""
        before = await self._bookings.booking_row(booking_id)
        async with self._db.transaction() as conn:
            cancelled = await self._bookings.cancel_for_clinic(
                conn, booking_ids=[booking_id], reason=reason, actor=member.telegram_id
            )
            if not cancelled:
                now = await self._bookings.booking_row(booking_id)
                if now.status == "cancelled":
                    raise BookingCancelled(msg("error.already_cancelled"))
                raise BookingPast(msg("error.started_no_show"))
            await self._record(
                conn,
                member.telegram_id,
                "booking.cancel",
                f"booking:{booking_id}",
                before,
                cancelled[0],
            )
        self._bookings.forget([before.doctor_id])
        return day_booking(BookingWithPatient.model_validate(cancelled[0].model_dump()), self.tz)

    async def attendance(
        self, member: Member, booking_id: int, request: AttendanceRequest
    ) -> DayBooking:
        """Arrived (from an hour before the start) or no-show (from the start on)."""
        before = await self._bookings.booking_row(booking_id)
        self._scope(member, before.doctor_id)

        async def audit(conn: asyncpg.Connection, row: BookingRow) -> None:
            await self._record(
                conn, member.telegram_id, "booking.attendance", f"booking:{booking_id}", before, row
            )

        row = await self._bookings.set_attendance(
            booking_id, attendance=request.attendance, within=audit
        )
        return day_booking(BookingWithPatient.model_validate(row.model_dump()), self.tz)

    # --- the schedule: weekly hours, days off, closures ----------------------------------

    async def hours(self, doctor_id: int) -> WeeklyHours:
        own = await repo.doctor_own_hours(self._db.pool, doctor_id=doctor_id)
        if own is None:
            raise NotFound(msg("error.not_found.doctor", id=doctor_id))
        return _weekly(doctor_id, own)

    async def set_hours(
        self, member: Member, doctor_id: int, days: list[WeekdayHours]
    ) -> WeeklyHours:
        """Replaces a doctor's weekly hours ([]: back to the clinic's default week);
        bookings already made are kept."""
        weekdays = [d.weekday for d in days]
        if len(set(weekdays)) != len(weekdays):
            raise Unprocessable(msg("error.weekday_twice"), field="body")
        rows = [(d.weekday, time.fromisoformat(d.starts), time.fromisoformat(d.ends)) for d in days]
        async with self._db.transaction() as conn:
            own = await repo.doctor_own_hours(conn, doctor_id=doctor_id)
            if own is None:
                raise NotFound(msg("error.not_found.doctor", id=doctor_id))
            await self._catalog.replace_hours(conn, doctor_id=doctor_id, hours=rows)
            before, after = _weekly(doctor_id, own), _weekly(doctor_id, rows)
            await self._record(
                conn, member.telegram_id, "hours.set", f"doctor:{doctor_id}", before, after
            )
        self._bookings.forget([doctor_id])
        return after

    async def time_off(self, doctor_id: int) -> list[TimeOff]:
        await self._catalog.doctor(doctor_id)
        return await repo.list_time_off(self._db.pool, doctor_id=doctor_id, since=self.today())

    async def add_time_off(
        self, member: Member, doctor_id: int, request: TimeOffRequest
    ) -> TimeOff:
        """Whole days off. With confirmed bookings inside: 409 listing them, unless
        `cancel_bookings`: then the clinic cancels them in the same transaction and their
        patients are told. A booking of those days racing with this waits, then fails."""
        if request.date_from < self.today():
            raise Unprocessable(msg("error.time_off_past"), field="date_from")
        doctor = await self._catalog.doctor(doctor_id)
        async with self._db.transaction() as conn:
            await repo.lock_days(
                conn, doctor_id=doctor_id, first=request.date_from, last=request.date_to
            )
            cancelled = await self._clear_days(
                conn,
                doctor_id,
                request.date_from,
                request.date_to,
                cancel=request.cancel_bookings,
                reason=request.reason or TIME_OFF_REASON,
                actor=member.telegram_id,
            )
            created = await repo.insert_time_off(
                conn,
                doctor_id=doctor.id,
                date_from=request.date_from,
                date_to=request.date_to,
                reason=request.reason,
                created_by=member.telegram_id,
            )
            after = {"time_off": dumped(created), "cancelled": [b.id for b in cancelled]}
            await self._record(
                conn, member.telegram_id, "time_off.add", f"time_off:{created.id}", None, after
            )
        self._bookings.forget([doctor_id])
        return created

    async def remove_time_off(self, member: Member, time_off_id: int) -> TimeOff:
        async with self._db.transaction() as conn:
            removed = await repo.delete_time_off(conn, time_off_id=time_off_id)
            if removed is None:
                raise NotFound(msg("error.not_found.time_off"))
            await self._record(
                conn,
                member.telegram_id,
                "time_off.remove",
                f"time_off:{time_off_id}",
                removed,
                None,
            )
        self._bookings.forget([removed.doctor_id])
        return removed

    async def closures(self) -> list[Closure]:
        return await repo.list_closures(self._db.pool, since=self.today())

    async def add_closure(self, member: Member, request: ClosureRequest) -> Closure:
        """The whole clinic closed for a day: the same 409 / cancel rule as days off."""
        if request.date < self.today():
            raise Unprocessable(msg("error.day_passed"), field="date")
        async with self._db.transaction() as conn:
            await repo.lock_days(conn, doctor_id=None, first=request.date, last=request.date)
            cancelled = await self._clear_days(
                conn,
                None,
                request.date,
                request.date,
                cancel=request.cancel_bookings,
                reason=request.reason or CLOSURE_REASON,
                actor=member.telegram_id,
            )
            created = await repo.insert_closure(
                conn, day=request.date, reason=request.reason, created_by=member.telegram_id
            )
            after = {"closure": dumped(created), "cancelled": [b.id for b in cancelled]}
            await self._record(
                conn, member.telegram_id, "closure.add", f"closure:{created.id}", None, after
            )
        self._bookings.forget_all()
        return created

    async def remove_closure(self, member: Member, closure_id: int) -> Closure:
        async with self._db.transaction() as conn:
            removed = await repo.delete_closure(conn, closure_id=closure_id)
            if removed is None:
                raise NotFound(msg("error.not_found.closure"))
            await self._record(
                conn, member.telegram_id, "closure.remove", f"closure:{closure_id}", removed, None
            )
        self._bookings.forget_all()
        return removed

    async def _clear_days(
        self,
        conn: asyncpg.Connection,
        doctor_id: int | None,
        first: date,
        last: date,
        *,
        cancel: bool,
        reason: str,
        actor: int,
    ) -> list[BookingRow]:
        """The confirmed bookings of those days (the day locks are held): a 409 listing
        them, or, with `cancel`, cancelled by the clinic."""
        affected = await self._bookings.confirmed_in_days(
            conn, doctor_id=doctor_id, first=first, last=last
        )
        if not affected:
            return []
        if not cancel:
            listed = [self._affected(row) for row in affected]
            raise BookingsAffected(
                msg("error.bookings_affected", count=len(listed)),
                extra={"bookings": [b.model_dump(mode="json") for b in listed]},
            )
        return await self._bookings.cancel_for_clinic(
            conn,
            booking_ids=[row.id for row in affected],
            reason=reason,
            offer_freed=False,
            actor=actor,
        )

    def _affected(self, row: BookingRow) -> AffectedBooking:
        local = row.starts_at.astimezone(self.tz)
        return AffectedBooking(
            id=row.id,
            doctor_id=row.doctor_id,
            doctor=row.doctor_name,
            date=local.date(),
            time=local.strftime("%H:%M"),
            patient=row.patient_name_shown,
        )

    # --- the log and the export -----------------------------------------------------------

    async def actions(self, *, before_id: int | None, limit: int) -> list[Action]:
        return await repo.list_actions(self._db.pool, before_id=before_id, max_rows=limit)

    async def export(self, first: date, last: date) -> bytes:
        """The bookings of the clinic's days [first, last] as CSV."""
        if first > last:
            raise Unprocessable(msg("error.from_after_to"), field="from")
        if (last - first).days > MAX_EXPORT_DAYS:
            raise Unprocessable(msg("error.export_span", count=MAX_EXPORT_DAYS), field="to")
        starts, ends = self._bookings.day_bounds(first, last)
        rows = await repo.export_bookings(self._db.pool, starts=starts, ends=ends)
        return export.bookings_csv(rows, self.tz)

    async def _record(
        self,
        conn: asyncpg.Connection,
        actor: int | None,
        action: str,
        subject: str,
        before: BaseModel | dict[str, Any] | None,
        after: BaseModel | dict[str, Any] | None,
    ) -> None:
        await repo.record_action(
            conn,
            actor=actor,
            action=action,
            subject=subject,
            before=before if isinstance(before, dict) else dumped(before),
            after=after if isinstance(after, dict) else dumped(after),
        )


def _weekly(doctor_id: int, rows: list[tuple[int, time, time]]) -> WeeklyHours:
    own = bool(rows)
    shown = rows or [(w, s, e) for w, (s, e) in sorted(Bookings.default_hours().items())]
    return WeeklyHours(
        doctor_id=doctor_id,
        own=own,
        days=[
            WeekdayHours(weekday=w, starts=f"{s:%H:%M}", ends=f"{e:%H:%M}")
            for w, s, e in shown
            if 1 <= w <= 6
        ],
    )
