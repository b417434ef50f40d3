"""Booking use cases, shared by the REST API and the bot. Each write is one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from clinic import db
from clinic.booking import repo
from clinic.booking.cache import WeekCache, key_of
from clinic.booking.models import (
    BookedDoctor,
    Booking,
    BookingRequest,
    BookingRow,
    DaySlots,
    WeekSlots,
)
from clinic.booking.slots import (
    DEFAULT_HOURS,
    HORIZON_DAYS,
    SLOT,
    WEEKDAY_NAMES,
    WEEKDAY_SHORT,
    WORKDAYS,
    day_bounds,
    free_slots,
    grid_times,
    last_bookable_day,
    on_grid,
    to_instant,
    week_start,
)
from clinic.catalog.models import full_name, photo_url
from clinic.clock import Clock
from clinic.errors import (
    BookingCancelled,
    BookingPast,
    DoctorUnavailable,
    NotFound,
    TooEarly,
    Unprocessable,
)
from clinic.reminders import service as reminders
from clinic.reminders.models import Reminder

MAX_LISTED = 200
WEEK_OF_RANGE = timedelta(days=366)
# A patient may be marked arrived from this long before the start (no-show: from the start).
ARRIVE_EARLY = timedelta(minutes=60)

# Work done inside a booking write's own transaction (the staff's audit row, say).
Within = Callable[[asyncpg.Connection, BookingRow], Awaitable[None]]


def to_booking(
    row: BookingRow, *, tz: ZoneInfo, now: datetime, planned: list[Reminder] | None = None
) -> Booking:
    local = row.starts_at.astimezone(tz)
    return Booking(
        id=row.id,
        status=row.status,
        date=local.date(),
        time=local.strftime("%H:%M"),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        upcoming=row.status == "confirmed" and row.starts_at > now,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by,
        cancel_reason=row.cancel_reason,
        doctor=BookedDoctor(
            id=row.doctor_id,
            full_name=full_name(row.last_name, row.first_name, row.middle_name),
            title=row.title,
            specialization=row.specialization,
            photo_url=photo_url(row.photo),
        ),
        reminders=planned or [],
    )


class Bookings:
    """Slots and bookings, for the REST API and the bot alike: one object per app, with
    the pool, the clinic's time zone, the clock and the cache of computed weeks inside.
    Each write is one transaction; the database decides every race."""

    def __init__(
        self,
        database: db.Database,
        *,
        tz: ZoneInfo,
        clock: Clock,
        cache: WeekCache | None = None,
    ) -> None:
        self._db = database
        self.tz = tz
        self._clock = clock
        self._cache = cache

    def now(self) -> datetime:
        return self._clock()

    def day_bounds(self, first: date, last: date) -> tuple[datetime, datetime]:
        """The instants that begin the clinic's day `first` and end its day `last`."""
        return day_bounds(first, last, self.tz)

    @staticmethod
    def default_hours() -> dict[int, tuple[time, time]]:
        """The clinic's week by ISO weekday, for a doctor with no hours of their own."""
        return dict(DEFAULT_HOURS)

    async def week_slots(self, doctor_id: int, *, week_of: date | None = None) -> WeekSlots:
        """Monday to Saturday of the week holding `week_of` (default: today), with free
        slots."""
        tz, now, cache = self.tz, self._clock(), self._cache
        today = now.astimezone(tz).date()
        if week_of is not None and abs(week_of - today) > WEEK_OF_RANGE:
            raise Unprocessable("week_of must lie within a year of today", field="week_of")
        monday = week_start(week_of or today)
        key = key_of(doctor_id, monday, now, tz)
        if cache is not None and (cached := cache.get(key)) is not None:
            return cached
        days = [monday + timedelta(days=offset) for offset in range(len(WORKDAYS))]
        starts, ends = day_bounds(days[0], days[-1], tz)
        week = await repo.doctor_week(
            self._db.pool,
            doctor_id=doctor_id,
            starts=starts,
            ends=ends,
            first_day=days[0],
            last_day=days[-1],
        )
        if week is None:
            raise NotFound(f"Врач {doctor_id} не найден")
        horizon = last_bookable_day(today)
        out = []
        for day in days:
            closed = day > horizon or day in week.off_days
            free = [] if closed else free_slots(day, week.hours, tz, now, week.booked)
            out.append(
                DaySlots(
                    date=day,
                    weekday=WEEKDAY_NAMES[day.weekday()],
                    weekday_short=WEEKDAY_SHORT[day.weekday()],
                    slots=free,
                    count=len(free),
                )
            )
        following = monday + timedelta(days=7)
        computed = WeekSlots(
            doctor_id=doctor_id,
            week_start=monday,
            prev_week=monday - timedelta(days=7) if monday > week_start(today) else None,
            next_week=following if following <= horizon else None,
            days=out,
        )
        if cache is not None:
            cache.put(key, computed)
        return computed

    async def create_booking(self, user_id: int, request: BookingRequest) -> Booking:
        """Books the slot for the user, with its reminders, in one transaction."""
        day, starts_at = await self._bookable_start(request)
        async with self._db.transaction() as conn:
            row, planned = await self._insert(conn, request, day, starts_at, user_id=user_id)
        self.forget([row.doctor_id])
        return to_booking(row, tz=self.tz, now=self._clock(), planned=planned)

    async def create_staff_booking(
        self,
        request: BookingRequest,
        *,
        user_id: int | None,
        patient_name: str,
        phone: str | None,
        within: Within,
    ) -> BookingRow:
        """A booking taken by phone or at the desk: the same slot rules; with a known
        Telegram patient, their confirmation and reminders too."""
        day, starts_at = await self._bookable_start(request)
        async with self._db.transaction() as conn:
            row, _ = await self._insert(
                conn,
                request,
                day,
                starts_at,
                user_id=user_id,
                source="staff",
                patient_name=patient_name,
                phone=phone,
            )
            await within(conn, row)
        self.forget([row.doctor_id])
        return row

    async def _bookable_start(self, request: BookingRequest) -> tuple[date, datetime]:
        """The clinic's day and the instant of a bookable start: not past, on the grid,
        in the doctor's hours, on a day the doctor works; 404 / 422 otherwise."""
        tz, now = self.tz, self._clock()
        day, at = request.date, request.time
        today = now.astimezone(tz).date()
        if day < today:
            raise Unprocessable("Этот день уже прошёл", field="date")
        if day > last_bookable_day(today):
            raise Unprocessable(f"Запись открыта на {HORIZON_DAYS} дней вперёд", field="date")
        if not on_grid(at):
            raise Unprocessable(
                "Приём начинается в :00 или :30, например 09:00 или 09:30", field="time"
            )
        starts, ends = day_bounds(day, day, tz)
        week = await repo.doctor_week(
            self._db.pool,
            doctor_id=request.doctor_id,
            starts=starts,
            ends=ends,
            first_day=day,
            last_day=day,
        )
        if week is None:
            raise NotFound(f"Врач {request.doctor_id} не найден")
        if day in week.off_days:
            raise DoctorUnavailable("Врач не принимает в этот день", field="date")
        span = week.hours.get(day.isoweekday()) if day.isoweekday() in WORKDAYS else None
        if span is None:
            raise Unprocessable("Врач не принимает в этот день", field="date")
        if at not in set(grid_times(*span)):
            hours = f"{span[0]:%H:%M}–{span[1]:%H:%M}"
            raise Unprocessable(f"В этот день врач принимает {hours}", field="time")
        starts_at = to_instant(day, at, tz)
        if starts_at is None:
            raise Unprocessable("Этого времени нет: в этот день переводят часы", field="time")
        if starts_at <= now:
            raise Unprocessable("Это время уже прошло", field="time")
        return day, starts_at

    async def _insert(
        self,
        conn: asyncpg.Connection,
        request: BookingRequest,
        day: date,
        starts_at: datetime,
        *,
        user_id: int | None,
        source: str = "patient",
        patient_name: str | None = None,
        phone: str | None = None,
    ) -> tuple[BookingRow, list[Reminder]]:
        row = await repo.insert_booking(
            conn,
            doctor_id=request.doctor_id,
            user_id=user_id,
            starts_at=starts_at,
            ends_at=starts_at + SLOT,
            day=day,
            source=source,
            patient_name=patient_name,
            phone=phone,
        )
        if row is None:  # a day off or a closure committed since the check above
            raise DoctorUnavailable("Врач не принимает в этот день", field="date")
        planned: list[Reminder] = []
        if row.user_id is not None:
            planned = await reminders.plan(
                conn, booking_id=row.id, chat_id=row.user_id, starts_at=row.starts_at
            )
        return row, planned

    async def list_bookings(self, user_id: int) -> list[Booking]:
        now = self._clock()
        rows = await repo.list_user_bookings(
            self._db.pool, user_id=user_id, now=now, max_rows=MAX_LISTED
        )
        return [to_booking(row, tz=self.tz, now=now) for row in rows]

    async def upcoming(self, user_id: int) -> list[Booking]:
        return [b for b in await self.list_bookings(user_id) if b.upcoming]

    async def get_booking(self, user_id: int, booking_id: int) -> Booking:
        now = self._clock()
        async with self._db.pool.acquire() as conn:
            row = await repo.get_user_booking(conn, booking_id=booking_id, user_id=user_id)
            if row is None:
                raise NotFound("Запись не найдена")
            planned = await reminders.booking_reminders(conn, booking_id=row.id)
        return to_booking(row, tz=self.tz, now=now, planned=planned)

    async def cancel_booking(self, user_id: int, booking_id: int) -> Booking:
        """Cancels the user's own upcoming booking and its pending reminders, together;
        cancelling a cancelled one is a no-op."""
        now = self._clock()
        async with self._db.transaction() as conn:
            row = await repo.cancel_booking(conn, booking_id=booking_id, user_id=user_id, now=now)
            if row is None:
                row = await repo.get_user_booking(conn, booking_id=booking_id, user_id=user_id)
                if row is None:
                    raise NotFound("Запись не найдена")
                if row.status != "cancelled":
                    raise BookingPast("Приём уже начался или прошёл, его нельзя отменить")
            else:
                await reminders.cancel_pending(conn, booking_id=row.id)
            planned = await reminders.booking_reminders(conn, booking_id=row.id)
        self.forget([row.doctor_id])
        return to_booking(row, tz=self.tz, now=now, planned=planned)

    # --- the clinic's side: any booking, inside the caller's transaction ---------------

    async def booking_row(self, booking_id: int) -> BookingRow:
        row = await repo.get_booking(self._db.pool, booking_id=booking_id)
        if row is None:
            raise NotFound("Запись не найдена")
        return row

    async def cancel_for_clinic(
        self, conn: asyncpg.Connection, *, booking_ids: Sequence[int], reason: str
    ) -> list[BookingRow]:
        """Cancels confirmed bookings that have not begun, in the caller's transaction,
        with their unsent reminders; each patient in Telegram is told, with the reason.
        Call `forget` with their doctors once committed."""
        rows = await repo.cancel_for_clinic(
            conn, booking_ids=booking_ids, reason=reason, now=self._clock()
        )
        for row in rows:
            await reminders.cancel_pending(conn, booking_id=row.id)
            if row.user_id is not None:
                await reminders.notify(
                    conn, booking_id=row.id, chat_id=row.user_id, kind="cancelled_by_clinic"
                )
        return rows

    async def confirmed_in_days(
        self, conn: asyncpg.Connection, *, doctor_id: int | None, first: date, last: date
    ) -> list[BookingRow]:
        """Confirmed bookings still ahead on the clinic's days [first, last] (of one
        doctor, or of all): what a day off or a closure would hit."""
        starts, ends = day_bounds(first, last, self.tz)
        return await repo.confirmed_in_days(
            conn, doctor_id=doctor_id, starts=starts, ends=ends, now=self._clock()
        )

    async def set_attendance(
        self, booking_id: int, *, attendance: str, within: Within
    ) -> BookingRow:
        """Arrived from an hour before the start, no-show from the start on."""
        async with self._db.transaction() as conn:
            row = await repo.set_attendance(
                conn,
                booking_id=booking_id,
                attendance=attendance,
                now=self._clock(),
                arrive_early=ARRIVE_EARLY,
            )
            if row is None:
                found = await repo.get_booking(conn, booking_id=booking_id)
                if found is None:
                    raise NotFound("Запись не найдена")
                if found.status == "cancelled":
                    raise BookingCancelled("Запись отменена")
                if attendance == "arrived":
                    raise TooEarly("Отметить приход можно не раньше чем за час до приёма")
                raise TooEarly("Неявку можно отметить только после начала приёма")
            await within(conn, row)
        return row

    def forget(self, doctor_ids: Iterable[int]) -> None:
        """Drops this process's computed weeks of these doctors (their slots changed)."""
        if self._cache is not None:
            for doctor_id in set(doctor_ids):
                self._cache.forget(doctor_id)

    def forget_all(self) -> None:
        if self._cache is not None:
            self._cache.clear()
