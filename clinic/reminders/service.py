"""Planning reminders with a booking and cancelling them with it, inside the caller's
transaction, so a booking and its reminders are written (or not) together."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from clinic.reminders import repo
from clinic.reminders.models import Reminder

# Dispatchers LISTEN here; planning NOTIFYs it, so they wake when the booking commits.
CHANNEL = "clinic_notifications"


async def plan(
    conn: asyncpg.Connection, *, booking_id: int, chat_id: int, starts_at: datetime
) -> list[Reminder]:
    """Plans the confirmation (due now) and the 24 h, 6 h and 30 min reminders still ahead
    of the database clock; returns them in due order."""
    return await repo.plan(
        conn, booking_id=booking_id, chat_id=chat_id, starts_at=starts_at, channel=CHANNEL
    )


async def cancel_pending(conn: asyncpg.Connection, *, booking_id: int) -> int:
    """Cancels the booking's messages not sent yet; returns how many."""
    return await repo.cancel_pending(conn, booking_id=booking_id)


async def booking_reminders(conn: asyncpg.Connection, *, booking_id: int) -> list[Reminder]:
    return await repo.booking_reminders(conn, booking_id=booking_id)
