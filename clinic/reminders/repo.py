"""Typed wrappers over sql/reminders.sql."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from clinic.db import Executor
from clinic.reminders.models import ClaimedNotification, Reminder
from clinic.sql import q


async def plan(
    db: Executor,
    *,
    booking_id: int,
    chat_id: int,
    reminders: Sequence[tuple[str, datetime]],
    channel: str,
    with_confirmation: bool,
) -> list[Reminder]:
    rows = await db.fetch(
        q("reminders.plan"),
        booking_id,
        chat_id,
        [kind for kind, _ in reminders],
        [due for _, due in reminders],
        channel,
        with_confirmation,
    )
    return [Reminder.model_validate(dict(row)) for row in rows]


async def offer_slot(
    db: Executor,
    *,
    doctor_id: int,
    day: date,
    slot_at: datetime,
    fanout: int,
    except_user: int | None,
    channel: str,
) -> int:
    offered: int = await db.fetchval(
        q("reminders.offer_slot"), doctor_id, day, slot_at, fanout, except_user, channel
    )
    return offered


async def notify_staff(
    db: Executor,
    *,
    booking_id: int,
    doctor_id: int,
    kind: str,
    admin_ids: Sequence[int],
    except_chat: int | None,
    channel: str,
) -> int:
    planned: int = await db.fetchval(
        q("reminders.notify_staff"),
        booking_id,
        doctor_id,
        kind,
        list(admin_ids),
        except_chat,
        channel,
    )
    return planned


async def record_card(db: Executor, *, chat_id: int, message_id: int, booking_id: int) -> None:
    await db.execute(q("reminders.record_card"), chat_id, message_id, booking_id)


async def notify(db: Executor, *, booking_id: int, chat_id: int, kind: str, channel: str) -> int:
    planned: int = await db.fetchval(q("reminders.notify"), booking_id, chat_id, kind, channel)
    return planned


async def cancel_pending(db: Executor, *, booking_id: int) -> int:
    count: int = await db.fetchval(q("reminders.cancel_pending"), booking_id)
    return count


async def booking_reminders(db: Executor, *, booking_id: int) -> list[Reminder]:
    rows = await db.fetch(q("reminders.booking_reminders"), booking_id)
    return [Reminder.model_validate(dict(row)) for row in rows]


async def claim_due(
    db: Executor,
    *,
    batch: int,
    lease_seconds: float,
    rate: float,
    burst: float,
    chat_interval_seconds: float,
    slot_seconds: float,
) -> list[ClaimedNotification]:
    rows = await db.fetch(
        q("reminders.claim_due"),
        batch,
        lease_seconds,
        rate,
        burst,
        chat_interval_seconds,
        slot_seconds,
    )
    return [ClaimedNotification.model_validate(dict(row)) for row in rows]


async def settle(
    db: Executor,
    *,
    ids: Sequence[int],
    leases: Sequence[datetime | None],
    statuses: Sequence[str],
    delays: Sequence[float],
    refunds: Sequence[int],
    errors: Sequence[str | None],
    chat_interval_seconds: float,
    message_ids: Sequence[int | None],
) -> set[int]:
    rows = await db.fetch(
        q("reminders.settle"),
        ids,
        leases,
        statuses,
        delays,
        refunds,
        errors,
        chat_interval_seconds,
        message_ids,
    )
    return {row["id"] for row in rows}


async def block_users(db: Executor, *, chat_ids: Sequence[int]) -> None:
    await db.execute(q("reminders.block_users"), chat_ids)


async def cancel_chats_pending(db: Executor, *, chat_ids: Sequence[int], error: str) -> int:
    count: int = await db.fetchval(q("reminders.cancel_chats_pending"), chat_ids, error)
    return count


async def slow_down(db: Executor, *, retry_after: float, rate: float, burst: float) -> None:
    await db.execute(q("reminders.slow_down"), retry_after, rate, burst)


async def next_due(db: Executor) -> float | None:
    seconds: float | None = await db.fetchval(q("reminders.next_due"))
    return seconds


async def purge_done(db: Executor, *, retention_seconds: float, max_rows: int) -> int:
    count: int = await db.fetchval(q("reminders.purge_done"), retention_seconds, max_rows)
    return count


async def purge_chat_pace(db: Executor) -> None:
    await db.execute(q("reminders.purge_chat_pace"))
