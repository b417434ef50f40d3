"""Booking use cases, shared by the REST API and the bot. Each write is one transaction."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import asyncpg

from clinic import db, ics, texts
from clinic.booking import repo
from clinic.booking.cache import Key, WeekCache, key_of
from clinic.booking.models import (
    BookedDoctor,
    Booking,
    BookingRequest,
    BookingRow,
    DaySlots,
    DoctorWeek,
    Reschedule,
    WeekSlots,
)
from clinic.booking.slots import (
    DEFAULT_HOURS,
    HORIZON_DAYS,
    SLOT,
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
    TooLate,
    TooManyBookings,
    Unprocessable,
    msg,
)
from clinic.reminders import service as reminders
from clinic.reminders.models import Quiet, Reminder
from clinic.texts import Lang, of
from clinic.web.io import json_body

MAX_LISTED = 200
WEEK_OF_RANGE = timedelta(days=366)
# Weeks of slots falling due for a refresh within this many seconds are read in one
# query: one round trip a twentieth of a second, not one for each week in use.
REFRESH_GATHER = 0.05
# A patient may be marked arrived from this long before the start (no-show: from the start).
ARRIVE_EARLY = timedelta(minutes=60)

# Work done inside a booking write's own transaction (the staff's audit row, say).
Within = Callable[[asyncpg.Connection, BookingRow], Awaitable[None]]

log = logging.getLogger("clinic.booking")


@dataclass(frozen=True, slots=True)
class Calendar:
    """Calendar files of bookings: the domain of their UIDs, and the key that signs the
    links to them (a link works without initData, for Telegram's downloadFile)."""

    host: str = "clinic.local"
    key: bytes = b""
    lifetime: timedelta = timedelta(days=7)

    def token(self, booking_id: int, user_id: int, now: datetime) -> str:
        expires = int((now + self.lifetime).timestamp()) // 3600 * 3600
        return f"{booking_id}-{user_id}-{expires}-{self._sign(booking_id, user_id, expires)}"

    def booking_of(self, token: str, now: datetime) -> tuple[int, int] | None:
        """(booking, patient) of a genuine, unexpired token; None otherwise."""
        parts = token.split("-")
        if len(parts) != 4 or not all(p.isascii() and p.isalnum() for p in parts):
            return None
        booking, user, expires, signature = parts
        if not (booking.isdigit() and user.isdigit() and expires.isdigit()):
            return None
        expected = self._sign(int(booking), int(user), int(expires))
        if not hmac.compare_digest(signature, expected) or int(expires) < now.timestamp():
            return None
        return int(booking), int(user)

    def _sign(self, booking_id: int, user_id: int, expires: int) -> str:
        message = f"calendar:{booking_id}:{user_id}:{expires}".encode()
        return hmac.digest(self.key, message, "sha256").hex()[:32]


@dataclass(frozen=True, slots=True)
class Limits:
    """What a patient may do on their own (staff are not bound by these)."""

    cutoff: timedelta = timedelta(minutes=120)  # no cancel or move later than this before
    max_upcoming: int = 5  # upcoming confirmed bookings one patient may hold
    phone: str = "+7 (495) 000-00-00"  # where to call instead
    waitlist_fanout: int = 3  # waiting patients offered one freed slot at once


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
        patient_confirmed=row.patient_confirmed_at is not None,
        revision=row.revision,
        doctor=BookedDoctor(
            id=row.doctor_id,
            full_name=full_name(row.last_name, row.first_name, row.middle_name),
            title=row.title,
            specialization=row.specialization,
            photo_url=photo_url(row.photo),
        ),
        reminders=planned or [],
    )


class Week(NamedTuple):
    """A computed week of slots, its JSON for the API (encoded once, then cached), and
    the database's answer it was computed from (repo.doctor_weeks)."""

    slots: WeekSlots
    body: bytes
    source: repo.Answer


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
        cache: WeekCache[Week] | None = None,
        limits: Limits | None = None,
        staff_admins: Iterable[int] = (),
        quiet: Quiet | None = None,
        calendar: Calendar | None = None,
    ) -> None:
        self._db = database
        self.tz = tz
        self._clock = clock
        self._cache = cache
        self._refreshes: set[asyncio.Task[None]] = set()  # weeks recomputed in the background
        self._due: dict[Key, tuple[int, date, Lang]] = {}  # weeks the next refresh reads
        self._due_batch: asyncio.Task[None] | None = None
        self._wake: Callable[[], None] | None = None
        self._notify: Callable[[], None] | None = None
        self.limits = limits or Limits()
        # Admins by configuration (ADMIN_IDS), told of bookings like admins with a row.
        self._admins = sorted(set(staff_admins))
        self._quiet = quiet  # reminders are planned out of these hours
        self.calendar = calendar or Calendar()

    def now(self) -> datetime:
        return self._clock()

    def day_bounds(self, first: date, last: date) -> tuple[datetime, datetime]:
        """The instants that begin the clinic's day `first` and end its day `last`."""
        return day_bounds(first, last, self.tz)

    @staticmethod
    def default_hours() -> dict[int, tuple[time, time]]:
        """The clinic's week by ISO weekday, for a doctor with no hours of their own."""
        return dict(DEFAULT_HOURS)

    async def week_slots(
        self, doctor_id: int, *, week_of: date | None = None, lang: Lang = "ru"
    ) -> WeekSlots:
        """Monday to Saturday of the week holding `week_of` (default: today), with free
        slots."""
        return (await self.week(doctor_id, week_of=week_of, lang=lang)).slots

    async def week(self, doctor_id: int, *, week_of: date | None = None, lang: Lang = "ru") -> Week:
        """week_slots, and their JSON."""
        tz, now, cache = self.tz, self._clock(), self._cache
        today = now.astimezone(tz).date()
        if week_of is not None and abs(week_of - today) > WEEK_OF_RANGE:
            raise Unprocessable(msg("error.week_range"), field="week_of")
        monday = week_start(week_of or today)
        key = key_of(doctor_id, monday, now, tz, lang)
        if cache is None:
            return await self._compute_week(doctor_id, monday, lang)
        cached = cache.get(key)
        if cached is not None:
            if cache.due(key):
                self._refresh(cache, key, doctor_id, monday, lang)
            return cached
        epoch = cache.epoch
        computed = await self._compute_week(doctor_id, monday, lang)
        cache.put(key, computed, epoch)
        return computed

    def _refresh(
        self, cache: WeekCache[Week], key: Key, doctor_id: int, monday: date, lang: Lang
    ) -> None:
        """Refreshes a kept week in the background (WeekCache.due), in one query with the
        other weeks due within REFRESH_GATHER seconds."""
        self._due[key] = (doctor_id, monday, lang)
        if self._due_batch is None:
            task = asyncio.create_task(self._refresh_due(cache), name="weeks-refresh")
            self._due_batch = task
            self._refreshes.add(task)
            task.add_done_callback(self._refreshes.discard)

    async def _refresh_due(self, cache: WeekCache[Week]) -> None:
        await asyncio.sleep(REFRESH_GATHER)
        due, self._due, self._due_batch = self._due, {}, None
        epoch = cache.epoch
        stretches = [self._week_stretch(doctor_id, monday) for doctor_id, monday, _ in due.values()]
        try:
            answers = await repo.doctor_weeks(self._db.pool, stretches)
        except Exception:  # the kept weeks expire as usual; their next readers retry
            for key in due:
                cache.done(key)
            log.warning("refreshing %d weeks of slots failed", len(due), exc_info=True)
            return
        for (key, (doctor_id, monday, lang)), answer in zip(due.items(), answers, strict=True):
            kept = cache.get(key)
            if answer is None:  # the doctor is gone: the kept week expires
                cache.done(key)
            elif kept is not None and kept.source == answer:
                cache.put(key, kept, epoch)  # nothing changed: nothing to compute
            else:
                cache.put(key, self._build_week(doctor_id, monday, lang, answer), epoch)

    def _stretch(self, doctor_id: int, first: date, last: date) -> repo.Stretch:
        """The doctor's clinic days `first` to `last`."""
        return repo.Stretch(doctor_id, *day_bounds(first, last, self.tz), first, last)

    def _week_stretch(self, doctor_id: int, monday: date) -> repo.Stretch:
        """Monday to Saturday of the week starting `monday`."""
        return self._stretch(doctor_id, monday, monday + timedelta(days=len(WORKDAYS) - 1))

    async def _compute_week(self, doctor_id: int, monday: date, lang: Lang) -> Week:
        (answer,) = await repo.doctor_weeks(self._db.pool, [self._week_stretch(doctor_id, monday)])
        if answer is None:
            raise NotFound(msg("error.not_found.doctor", id=doctor_id))
        return self._build_week(doctor_id, monday, lang, answer)

    def _build_week(self, doctor_id: int, monday: date, lang: Lang, answer: repo.Answer) -> Week:
        """The week from the database's answer. Within one cache key (the same half-hour,
        day and language) the answer is all a week depends on, so a refresh that reads
        the same answer keeps the week it has."""
        tz, now = self.tz, self._clock()
        today = now.astimezone(tz).date()
        days = [monday + timedelta(days=offset) for offset in range(len(WORKDAYS))]
        week = DoctorWeek.from_answer(answer)
        horizon = last_bookable_day(today)
        tx = of(lang)
        out = []
        for day in days:
            closed = day > horizon or day in week.off_days
            free = [] if closed else free_slots(day, week.hours, tz, now, week.booked)
            # A day with nothing free is open when it would have times without its
            # bookings: full, so worth waiting for, rather than off or over.
            open_ = bool(free) or (not closed and bool(free_slots(day, week.hours, tz, now, ())))
            out.append(
                DaySlots(
                    date=day,
                    weekday=tx.weekday(day),
                    weekday_short=tx.weekday_short(day),
                    slots=free,
                    count=len(free),
                    open=open_,
                )
            )
        following = monday + timedelta(days=7)
        slots = WeekSlots(
            doctor_id=doctor_id,
            week_start=monday,
            prev_week=monday - timedelta(days=7) if monday > week_start(today) else None,
            next_week=following if following <= horizon else None,
            days=out,
        )
        return Week(slots, json_body(slots), answer)

    def wake_with(self, wake: Callable[[], None] | None) -> None:
        """This process's dispatcher, woken straight after a booking commits instead of
        through NOTIFY (None: it has none, or it stopped)."""
        self._wake = wake

    def notify_with(self, notify: Callable[[], None] | None) -> None:
        """Asks for the dispatchers' NOTIFY after a booking's commit instead of inside it
        (listen.Notifier; None: inside the statement)."""
        self._notify = notify

    async def create_booking(
        self, user_id: int, request: BookingRequest, *, within: Within | None = None
    ) -> Booking:
        """Books the slot for the patient, with its reminders and the staff's notices, in
        one statement (one round trip); at most `max_upcoming` upcoming bookings each,
        however many arrive at once. With `within`, in a transaction that runs it too.

        The confirmation is due at once, so a dispatcher must hear of it. A NOTIFY tells
        every replica's, but a NOTIFY in a transaction queues its commit behind the
        others' on the notification queue's lock (the reference transaction of
        bench/booking.py: about 1,300-1,580 a second without one, 1,040-1,100 with one).
        So when the statement commits by itself, it notifies nobody: this process's
        dispatcher, if it runs one, is woken here, and every replica's by one NOTIFY sent
        soon after for any number of bookings (`notify_with`). The rows are committed
        either way, and every dispatcher also polls: nothing can be missed."""
        if within is None:
            wake, notify = self._wake, self._notify
            row, planned = await self._insert(
                self._db.pool, request, user_id=user_id, capped=True, notify=notify is None
            )
            if wake is not None:
                wake()
            if notify is not None:
                notify()
        else:
            async with self._db.transaction() as conn:
                row, planned = await self._insert(conn, request, user_id=user_id, capped=True)
                await within(conn, row)
        self.forget([row.doctor_id])
        return self._card(row, now=self._clock(), planned=planned)

    async def create_staff_booking(
        self,
        request: BookingRequest,
        *,
        user_id: int | None,
        patient_name: str,
        phone: str | None,
        within: Within,
        actor: int | None = None,
    ) -> BookingRow:
        """A booking taken by phone or at the desk: the same slot rules; with a known
        Telegram patient, their confirmation and reminders too."""
        async with self._db.transaction() as conn:
            row, _ = await self._insert(
                conn,
                request,
                user_id=user_id,
                source="staff",
                patient_name=patient_name,
                phone=phone,
                actor=actor,
            )
            await within(conn, row)
        self.forget([row.doctor_id])
        return row

    def _requested_start(self, request: BookingRequest) -> tuple[date, datetime]:
        """The clinic's day and the instant of a requested start, as far as they are known
        without the database: not past, within the horizon, on the grid, Monday to
        Saturday, an instant that exists on the clinic's clock; 422 otherwise."""
        tz, now = self.tz, self._clock()
        day, at = request.date, request.time
        today = now.astimezone(tz).date()
        if day < today:
            raise Unprocessable(msg("error.day_passed"), field="date")
        if day > last_bookable_day(today):
            raise Unprocessable(msg("error.horizon", days=HORIZON_DAYS), field="date")
        if not on_grid(at):
            raise Unprocessable(msg("error.off_grid"), field="time")
        if day.isoweekday() not in WORKDAYS:
            raise Unprocessable(msg("error.doctor_off"), field="date")
        starts_at = to_instant(day, at, tz)
        if starts_at is None:
            raise Unprocessable(msg("error.dst_gap"), field="time")
        if starts_at <= now:
            raise Unprocessable(msg("error.time_passed"), field="time")
        return day, starts_at

    async def _bookable_start(self, request: BookingRequest) -> tuple[date, datetime]:
        """A requested start that is also in the doctor's hours on a day they work (read
        beforehand: a move checks here, a new booking in its own statement); 404 / 409 /
        422 otherwise."""
        day, starts_at = self._requested_start(request)
        week = await repo.doctor_week(self._db.pool, self._stretch(request.doctor_id, day, day))
        if week is None:
            raise NotFound(msg("error.not_found.doctor", id=request.doctor_id))
        if day in week.off_days:
            raise DoctorUnavailable(msg("error.doctor_off"), field="date")
        self._check_hours(week.hours.get(day.isoweekday()), request.time)
        return day, starts_at

    @staticmethod
    def _check_hours(span: tuple[time, time] | None, at: time) -> None:
        if span is None:
            raise Unprocessable(msg("error.doctor_off"), field="date")
        if at not in set(grid_times(*span)):
            hours = f"{span[0]:%H:%M}–{span[1]:%H:%M}"
            raise Unprocessable(msg("error.doctor_hours", hours=hours), field="time")

    async def _insert(
        self,
        db: db.Executor,
        request: BookingRequest,
        *,
        user_id: int | None,
        capped: bool = False,
        source: str = "patient",
        patient_name: str | None = None,
        phone: str | None = None,
        actor: int | None = None,
        notify: bool = True,
    ) -> tuple[BookingRow, list[Reminder]]:
        """The booking statement: hours, days off, the cap, the row, its reminders and
        the staff's notices at once; a refusal says which check stopped it. `notify`:
        NOTIFY the dispatchers at commit."""
        day, starts_at = self._requested_start(request)
        now = self._clock()
        booked = await repo.book(
            db,
            doctor_id=request.doctor_id,
            user_id=user_id,
            starts_at=starts_at,
            ends_at=starts_at + SLOT,
            day=day,
            at=request.time,
            default_hours=DEFAULT_HOURS[day.isoweekday()],
            now=now,
            max_upcoming=self.limits.max_upcoming if capped else None,
            reminders=reminders.schedule(starts_at, now, self._quiet) if user_id else (),
            admin_ids=self._admins,
            actor=actor,
            channel=reminders.CHANNEL if notify else None,
            source=source,
            patient_name=patient_name,
            phone=phone,
        )
        if not booked.found:
            raise NotFound(msg("error.not_found.doctor", id=request.doctor_id))
        if not booked.in_hours:
            self._check_hours(booked.hours, request.time)
            # Hours are on the half-hour grid (a constraint), so both checks agree.
            raise Unprocessable(msg("error.off_grid"), field="time")
        if not booked.open:  # a day off, or a closure
            raise DoctorUnavailable(msg("error.doctor_off"), field="date")
        if not booked.room or booked.row is None:
            raise TooManyBookings(
                msg("booking.too_many", count=self.limits.max_upcoming, phone=self.limits.phone)
            )
        return booked.row, booked.planned

    async def list_bookings(self, user_id: int) -> list[Booking]:
        now = self._clock()
        rows = await repo.list_user_bookings(
            self._db.pool, user_id=user_id, now=now, max_rows=MAX_LISTED
        )
        return [self._card(row, now=now) for row in rows]

    async def upcoming(self, user_id: int) -> list[Booking]:
        return [b for b in await self.list_bookings(user_id) if b.upcoming]

    async def get_booking(self, user_id: int, booking_id: int) -> Booking:
        now = self._clock()
        async with self._db.pool.acquire() as conn:
            row = await repo.get_user_booking(conn, booking_id=booking_id, user_id=user_id)
            if row is None:
                raise NotFound(msg("error.not_found.booking"))
            planned = await reminders.booking_reminders(conn, booking_id=row.id)
        return self._card(row, now=now, planned=planned)

    async def cancel_booking(self, user_id: int, booking_id: int) -> Booking:
        """Cancels the patient's own booking and its unsent reminders, together, unless
        the visit is within the cut-off; cancelling a cancelled one is a no-op. The patient
        is told in Telegram, and the freed slot is offered to those waiting for that day."""
        now = self._clock()
        async with self._db.transaction() as conn:
            row = await repo.cancel_booking(
                conn, booking_id=booking_id, user_id=user_id, now=now, cutoff=self.limits.cutoff
            )
            if row is None:
                row = await self._own(conn, user_id, booking_id)
                if row.status != "cancelled":
                    self._refuse_change(row, now)
            else:
                await reminders.cancel_pending(conn, booking_id=row.id)
                await reminders.notify(conn, booking_id=row.id, chat_id=user_id, kind="cancelled")
                await self._tell_staff(conn, row, "staff_cancelled")
                await self._offer_freed(conn, row, except_user=user_id)
            planned = await reminders.booking_reminders(conn, booking_id=row.id)
        self.forget([row.doctor_id])
        return self._card(row, now=now, planned=planned)

    async def reschedule(self, user_id: int, booking_id: int, move: Reschedule) -> Booking:
        """Moves the patient's booking (the same id) to another slot with its doctor, in
        one transaction: the old time is freed only together with taking the new one, and
        when the new one is taken nothing changes. Reminders are planned anew; the patient
        is told; the old slot is offered to those waiting for its day."""
        now = self._clock()
        before = await self._own(self._db.pool, user_id, booking_id)
        self._refuse_change(before, now)
        request = BookingRequest.model_validate(
            {"doctor_id": before.doctor_id, "date": f"{move.date}", "time": f"{move.time:%H:%M}"}
        )
        day, starts_at = await self._bookable_start(request)
        if starts_at == before.starts_at:
            raise Unprocessable(msg("error.same_time"), field="time")
        async with self._db.transaction() as conn:
            written = await repo.reschedule_booking(
                conn,
                booking_id=booking_id,
                user_id=user_id,
                doctor_id=before.doctor_id,
                starts_at=starts_at,
                ends_at=starts_at + SLOT,
                day=day,
                now=now,
                cutoff=self.limits.cutoff,
            )
            if not written.open:
                raise DoctorUnavailable(msg("error.doctor_off"), field="date")
            if written.row is None:  # changed since it was read: say what it is now
                self._refuse_change(await self._own(conn, user_id, booking_id), now)
                raise BookingCancelled(msg("error.changed"))
            row = written.row
            await reminders.cancel_pending(conn, booking_id=row.id)
            planned = await reminders.plan(
                conn,
                booking_id=row.id,
                chat_id=user_id,
                starts_at=row.starts_at,
                now=now,
                quiet=self._quiet,
                with_confirmation=False,
            )
            await reminders.notify(conn, booking_id=row.id, chat_id=user_id, kind="moved")
            await self._tell_staff(conn, row, "staff_moved")
            await self._offer_freed(conn, before, except_user=user_id)
        self.forget([row.doctor_id])
        return self._card(row, now=now, planned=planned)

    async def confirm_visit(self, user_id: int, booking_id: int) -> Booking:
        """The patient will come (the 24-hour reminder's "Приду"): staff see it."""
        now = self._clock()
        row = await repo.confirm_visit(
            self._db.pool, booking_id=booking_id, user_id=user_id, now=now
        )
        if row is None:
            found = await self._own(self._db.pool, user_id, booking_id)
            if found.status == "cancelled":
                raise BookingCancelled(msg("booking.already_cancelled"))
            raise BookingPast(msg("error.started"))
        return self._card(row, now=now)

    async def calendar_file(self, user_id: int, booking_id: int, *, lang: Lang = "ru") -> bytes:
        """The patient's booking as iCalendar: stable UID, SEQUENCE its revision, STATUS
        CANCELLED once cancelled, times on the clinic's clock."""
        row = await self._own(self._db.pool, user_id, booking_id)
        tx = texts.of(lang)
        event = ics.Event(
            booking_id=row.id,
            revision=row.revision,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            cancelled=row.status == "cancelled",
            summary=tx.calendar_summary(doctor=row.doctor_name, specialization=row.specialization),
            description=tx.calendar_description(number=row.id),
            location=tx("clinic.address"),
        )
        return ics.calendar(event, tz=self.tz, host=self.calendar.host, now=self._clock())

    async def calendar_by_link(self, token: str, *, lang: Lang = "ru") -> bytes:
        """The same file through a signed link (no initData: Telegram downloads it)."""
        found = self.calendar.booking_of(token, self._clock())
        if found is None:
            raise NotFound(msg("error.not_found.calendar_link"))
        booking_id, user_id = found
        return await self.calendar_file(user_id, booking_id, lang=lang)

    def _card(
        self, row: BookingRow, *, now: datetime, planned: list[Reminder] | None = None
    ) -> Booking:
        """The booking as the patient sees it, with a signed link to its calendar file."""
        booking = to_booking(row, tz=self.tz, now=now, planned=planned)
        if row.user_id is not None:
            token = self.calendar.token(row.id, row.user_id, now)
            booking.calendar_url = f"/api/calendar/{token}.ics"
        return booking

    async def _own(self, db: db.Executor, user_id: int, booking_id: int) -> BookingRow:
        row = await repo.get_user_booking(db, booking_id=booking_id, user_id=user_id)
        if row is None:
            raise NotFound(msg("error.not_found.booking"))
        return row

    def _refuse_change(self, row: BookingRow, now: datetime) -> None:
        """Why the patient may not cancel or move this booking now, if they may not."""
        if row.status == "cancelled":
            raise BookingCancelled(msg("booking.already_cancelled"))
        if row.starts_at <= now:
            raise BookingPast(msg("error.started_change"))
        if row.starts_at <= now + self.limits.cutoff:
            minutes = int(self.limits.cutoff.total_seconds() // 60)
            if minutes % 60 == 0:
                raise TooLate(
                    msg("booking.too_late_hours", count=minutes // 60, phone=self.limits.phone)
                )
            raise TooLate(msg("booking.too_late_minutes", count=minutes, phone=self.limits.phone))

    async def _tell_staff(
        self, conn: asyncpg.Connection, row: BookingRow, kind: str, *, actor: int | None = None
    ) -> None:
        """The staff with notices on hear of it: the doctor, reception and admins, but not
        the staff member who did it."""
        await reminders.notify_staff(
            conn,
            booking_id=row.id,
            doctor_id=row.doctor_id,
            kind=kind,
            admin_ids=self._admins,
            except_chat=actor,
        )

    async def _offer_freed(
        self, conn: asyncpg.Connection, freed: BookingRow, *, except_user: int | None
    ) -> None:
        """The slot `freed` held is free again: those waiting for its day hear of it,
        if it is still ahead (the dispatcher checks again that it is free)."""
        if freed.starts_at <= self._clock():
            return
        await reminders.offer_slot(
            conn,
            doctor_id=freed.doctor_id,
            day=freed.starts_at.astimezone(self.tz).date(),
            slot_at=freed.starts_at,
            fanout=self.limits.waitlist_fanout,
            except_user=except_user,
        )

    # --- the clinic's side: any booking, inside the caller's transaction ---------------

    async def booking_row(self, booking_id: int) -> BookingRow:
        row = await repo.get_booking(self._db.pool, booking_id=booking_id)
        if row is None:
            raise NotFound(msg("error.not_found.booking"))
        return row

    async def cancel_for_clinic(
        self,
        conn: asyncpg.Connection,
        *,
        booking_ids: Sequence[int],
        reason: str,
        offer_freed: bool = True,
        actor: int | None = None,
    ) -> list[BookingRow]:
        """Cancels confirmed bookings that have not begun, in the caller's transaction,
        with their unsent reminders; each patient in Telegram is told, with the reason.
        With `offer_freed` the slots go to those waiting (not when the day itself closes).
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
            await self._tell_staff(conn, row, "staff_cancelled", actor=actor)
            if offer_freed:
                await self._offer_freed(conn, row, except_user=None)
        return rows

    async def works_on(self, doctor_id: int, day: date) -> bool:
        """Whether the doctor works that day: their hours, not off, the clinic open."""
        week = await repo.doctor_week(self._db.pool, self._stretch(doctor_id, day, day))
        if week is None:
            raise NotFound(msg("error.not_found.doctor", id=doctor_id))
        return (
            day.isoweekday() in WORKDAYS
            and day.isoweekday() in week.hours
            and (day not in week.off_days)
        )

    def last_bookable_day(self) -> date:
        return last_bookable_day(self._clock().astimezone(self.tz).date())

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
                    raise NotFound(msg("error.not_found.booking"))
                if found.status == "cancelled":
                    raise BookingCancelled(msg("error.booking_cancelled"))
                if attendance == "arrived":
                    raise TooEarly(msg("error.arrive_early"))
                raise TooEarly(msg("error.no_show_early"))
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
