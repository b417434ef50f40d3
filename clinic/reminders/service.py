"""Planning reminders with a booking and cancelling them with it, inside the caller's
transaction, so a booking and its reminders are written (or not) together; and the job
table's claim / settle cycle, for the dispatcher."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import asyncpg

from clinic import db
from clinic.reminders import quiet as quiet_hours
from clinic.reminders import repo
from clinic.reminders.models import ClaimedNotification, Outcome, Quiet, Reminder

# Dispatchers LISTEN here; planning NOTIFYs it, so they wake when the booking commits.
CHANNEL = "clinic_notifications"
BLOCKED = "the user blocked the bot"
SLOT_SECONDS = 30 * 60.0  # an offered slot's length, as the booking grid has it


def schedule(starts_at: datetime, now: datetime, quiet: Quiet | None) -> list[tuple[str, datetime]]:
    """The 24 h, 6 h and 30 min reminders of a visit as (kind, due), out of quiet hours:
    what a booking statement plans beside its row (sql/booking.sql `book`)."""
    return quiet_hours.plan(starts_at, now, quiet)


async def plan(
    conn: asyncpg.Connection,
    *,
    booking_id: int,
    chat_id: int,
    starts_at: datetime,
    now: datetime,
    quiet: Quiet | None = None,
    with_confirmation: bool = True,
) -> list[Reminder]:
    """Plans the confirmation (due now) and the 24 h, 6 h and 30 min reminders still ahead,
    out of quiet hours (see reminders.quiet); returns them in due order."""
    return await repo.plan(
        conn,
        booking_id=booking_id,
        chat_id=chat_id,
        reminders=schedule(starts_at, now, quiet),
        channel=CHANNEL,
        with_confirmation=with_confirmation,
    )


async def offer_slot(
    conn: asyncpg.Connection,
    *,
    doctor_id: int,
    day: date,
    slot_at: datetime,
    fanout: int,
    except_user: int | None,
) -> int:
    """Offers a freed slot to the oldest `fanout` waiting patients of that doctor and
    day (not `except_user`), in the caller's transaction; returns how many."""
    return await repo.offer_slot(
        conn,
        doctor_id=doctor_id,
        day=day,
        slot_at=slot_at,
        fanout=fanout,
        except_user=except_user,
        channel=CHANNEL,
    )


async def notify_staff(
    conn: asyncpg.Connection,
    *,
    booking_id: int,
    doctor_id: int,
    kind: str,
    admin_ids: Sequence[int],
    except_chat: int | None = None,
) -> int:
    """Tells the staff with notices on (the doctor, reception, admins) of a new,
    cancelled or moved booking, in the caller's transaction; not `except_chat`."""
    return await repo.notify_staff(
        conn,
        booking_id=booking_id,
        doctor_id=doctor_id,
        kind=kind,
        admin_ids=admin_ids,
        except_chat=except_chat,
        channel=CHANNEL,
    )


async def record_card(
    database: db.Database, *, chat_id: int, message_id: int, booking_id: int
) -> None:
    """The bot sent a message with a booking's buttons: cancelling or moving the booking
    will take them away."""
    await repo.record_card(
        database.pool, chat_id=chat_id, message_id=message_id, booking_id=booking_id
    )


async def notify(conn: asyncpg.Connection, *, booking_id: int, chat_id: int, kind: str) -> int:
    """Plans a notice about the booking to `chat_id`, due now; returns how many (0 when
    one of that kind was planned before)."""
    return await repo.notify(
        conn, booking_id=booking_id, chat_id=chat_id, kind=kind, channel=CHANNEL
    )


async def cancel_pending(conn: asyncpg.Connection, *, booking_id: int) -> int:
    """Cancels the booking's messages not sent yet; returns how many."""
    return await repo.cancel_pending(conn, booking_id=booking_id)


async def booking_reminders(conn: asyncpg.Connection, *, booking_id: int) -> list[Reminder]:
    return await repo.booking_reminders(conn, booking_id=booking_id)


class JobTable:
    """The dispatcher's side of the `notifications` table; every time is the database's."""

    channel = CHANNEL

    def __init__(self, database: db.Database) -> None:
        self._db = database

    async def claim(
        self,
        *,
        batch: int,
        lease_seconds: float,
        rate: float,
        burst: float,
        chat_interval_seconds: float,
    ) -> list[ClaimedNotification]:
        return await repo.claim_due(
            self._db.pool,
            batch=batch,
            lease_seconds=lease_seconds,
            rate=rate,
            burst=burst,
            chat_interval_seconds=chat_interval_seconds,
            slot_seconds=SLOT_SECONDS,
        )

    async def settle(
        self,
        results: Sequence[tuple[ClaimedNotification, Outcome]],
        *,
        chat_interval_seconds: float,
        message_ids: Mapping[int, int] | None = None,
    ) -> set[int]:
        """Records a batch's outcomes in one statement; 403s also block their users and
        cancel the rest of their messages, in the same transaction. Returns the ids whose
        lease was still held."""
        blocked = sorted({row.chat_id for row, outcome in results if outcome.blocked})
        async with self._db.transaction() as conn:
            settled = await repo.settle(
                conn,
                ids=[row.id for row, _ in results],
                leases=[row.leased_until for row, _ in results],
                statuses=[outcome.status for _, outcome in results],
                delays=[outcome.delay for _, outcome in results],
                refunds=[outcome.refund for _, outcome in results],
                errors=[outcome.error for _, outcome in results],
                chat_interval_seconds=chat_interval_seconds,
                message_ids=[(message_ids or {}).get(row.id) for row, _ in results],
            )
            if blocked:
                await repo.block_users(conn, chat_ids=blocked)
                await repo.cancel_chats_pending(conn, chat_ids=blocked, error=BLOCKED)
        return settled

    async def slow_down(self, *, retry_after: float, rate: float, burst: float) -> None:
        await repo.slow_down(self._db.pool, retry_after=retry_after, rate=rate, burst=burst)

    async def next_due(self) -> float | None:
        return await repo.next_due(self._db.pool)

    async def purge(self, *, retention_seconds: float, chunk: int) -> int:
        """Deletes sent and cancelled rows past retention, `chunk` at a time; returns how
        many, and forgets per-chat pacing that holds nothing back."""
        total = 0
        while True:
            deleted = await repo.purge_done(
                self._db.pool, retention_seconds=retention_seconds, max_rows=chunk
            )
            total += deleted
            if deleted < chunk:
                break
        await repo.purge_chat_pace(self._db.pool)
        return total
