"""The "Мои записи" conversation: how many, the list, and cancelling with a confirmation.

The user is always the sender of the callback; a booking id in callback data is only
a request, checked by the booking service against that user.
"""

from __future__ import annotations

from clinic.booking import service as booking
from clinic.booking.models import Booking
from clinic.errors import BookingPast, NotFound
from clinic.telegram import keyboards, texts
from clinic.telegram.context import BotContext
from clinic.telegram.menu import reply
from clinic.telegram.models import CallbackQuery

MAX_LISTED = 10


def card(b: Booking) -> str:
    return texts.booking_details(
        number=b.id,
        day=b.date,
        time=b.time,
        doctor=b.doctor.full_name,
        specialization=b.doctor.specialization,
    )


async def upcoming(ctx: BotContext, user_id: int) -> list[Booking]:
    listed = await booking.list_bookings(ctx.pool, user_id=user_id, tz=ctx.tz, now=ctx.clock())
    return [b for b in listed if b.upcoming]


async def summary(ctx: BotContext, query: CallbackQuery) -> str | None:
    count = len(await upcoming(ctx, query.sender.id))
    await reply(
        ctx, query, texts.bookings_count(count), keyboards.bookings_summary(count, ctx.webapp_url)
    )
    return None


async def list_all(ctx: BotContext, query: CallbackQuery) -> str | None:
    found = await upcoming(ctx, query.sender.id)
    if not found:
        await reply(ctx, query, texts.NO_BOOKINGS, keyboards.main_menu(ctx.webapp_url))
        return None
    for b in found[:MAX_LISTED]:
        await ctx.sender.send_message(
            query.sender.id, card(b), reply_markup=keyboards.booking_actions(b.id)
        )
    return None


async def own_booking(ctx: BotContext, query: CallbackQuery, booking_id: int) -> Booking | None:
    """The sender's booking with that id; None when it is someone else's or absent."""
    try:
        return await booking.get_booking(
            ctx.pool, user_id=query.sender.id, booking_id=booking_id, tz=ctx.tz, now=ctx.clock()
        )
    except NotFound:
        return None


async def ask_cancel(ctx: BotContext, query: CallbackQuery, booking_id: int) -> str | None:
    b = await own_booking(ctx, query, booking_id)
    if b is None:
        return texts.NOT_FOUND
    if not b.upcoming:
        return texts.NOT_FOUND if b.status == "cancelled" else texts.ALREADY_STARTED
    question = texts.cancel_question(number=b.id, day=b.date, time=b.time)
    await reply(ctx, query, f"{card(b)}\n\n{question}", keyboards.confirm_cancel(b.id))
    return None


async def confirm_cancel(ctx: BotContext, query: CallbackQuery, booking_id: int) -> str | None:
    try:
        b = await booking.cancel_booking(
            ctx.pool,
            user_id=query.sender.id,
            booking_id=booking_id,
            tz=ctx.tz,
            now=ctx.clock(),
            cache=ctx.week_cache,
        )
    except NotFound:
        return texts.NOT_FOUND
    except BookingPast:
        return texts.ALREADY_STARTED
    ctx.metrics.bookings.labels("cancelled", "bot").inc()
    await reply(
        ctx, query, texts.cancelled(number=b.id, day=b.date, time=b.time), keyboards.back_to_menu()
    )
    return texts.CANCELLED_TOAST


async def keep(ctx: BotContext, query: CallbackQuery, booking_id: int) -> str | None:
    b = await own_booking(ctx, query, booking_id)
    if b is None:
        return texts.NOT_FOUND
    await reply(ctx, query, card(b), keyboards.booking_actions(b.id))
    return texts.KEPT
