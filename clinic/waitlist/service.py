"""The waitlist's use cases: join, list and leave (REST), and taking an offer (the bot)."""

from __future__ import annotations

from datetime import date

import asyncpg

from clinic import db
from clinic.booking.models import Booking, BookingRequest, BookingRow
from clinic.booking.service import Bookings
from clinic.errors import NotFound, OfferGone, Unprocessable, WaitlistFull, msg
from clinic.waitlist import repo
from clinic.waitlist.models import WaitlistEntry, WaitlistRequest

MAX_ENTRIES = 5  # active entries one patient may hold


class Waitlist:
    def __init__(
        self, database: db.Database, *, bookings: Bookings, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._db = database
        self._bookings = bookings
        self._max = max_entries

    def _today(self) -> date:
        return self._bookings.now().astimezone(self._bookings.tz).date()

    async def join(self, user_id: int, request: WaitlistRequest) -> tuple[WaitlistEntry, bool]:
        """Waits for a slot of the doctor's day; True when the entry is new (joining
        twice gives the same entry)."""
        day, today = request.date, self._today()
        if day < today:
            raise Unprocessable(msg("error.day_passed"), field="date")
        if day > self._bookings.last_bookable_day():
            raise Unprocessable(msg("error.waitlist_horizon"), field="date")
        if not await self._bookings.works_on(request.doctor_id, day):
            raise Unprocessable(msg("error.doctor_off"), field="date")
        existing = await repo.active_entry(
            self._db.pool, user_id=user_id, doctor_id=request.doctor_id, day=day
        )
        if existing is not None:
            return existing, False
        room, entry = await repo.join(
            self._db.pool,
            user_id=user_id,
            doctor_id=request.doctor_id,
            day=day,
            today=today,
            max_entries=self._max,
        )
        if entry is not None:
            return entry, True
        if not room:
            raise WaitlistFull(msg("error.waitlist_full", count=self._max))
        # Joined at the same moment by another request of the same patient.
        found = await repo.active_entry(
            self._db.pool, user_id=user_id, doctor_id=request.doctor_id, day=day
        )
        if found is None:
            raise NotFound(msg("error.not_found.waitlist"))
        return found, False

    async def entries(self, user_id: int) -> list[WaitlistEntry]:
        return await repo.list_entries(self._db.pool, user_id=user_id, today=self._today())

    async def leave(self, user_id: int, entry_id: int) -> None:
        if not await repo.leave(self._db.pool, entry_id=entry_id, user_id=user_id):
            raise NotFound(msg("error.not_found.waitlist"))

    async def take(self, user_id: int, offer_id: int) -> Booking:
        """Books the slot an offer names for the patient it was sent to. The first tap
        wins (the exclusion constraint decides: SlotTaken for the others, who stay
        waiting); the booking ends the entry, in its own transaction."""
        offer = await repo.get_offer(self._db.pool, offer_id=offer_id)
        if offer is None or offer.chat_id != user_id or offer.user_id != user_id:
            raise NotFound(msg("error.not_found.offer"))
        if offer.entry_status != "active" or offer.slot_at <= self._bookings.now():
            raise OfferGone(msg("error.offer_gone"))
        local = offer.slot_at.astimezone(self._bookings.tz)
        request = BookingRequest.model_validate(
            {"doctor_id": offer.doctor_id, "date": f"{local:%Y-%m-%d}", "time": f"{local:%H:%M}"}
        )

        async def end_entry(conn: asyncpg.Connection, row: BookingRow) -> None:
            await repo.end_entry(conn, entry_id=offer.waitlist_id, booking_id=row.id)

        return await self._bookings.create_booking(user_id, request, within=end_entry)
