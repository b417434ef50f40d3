"""The "Мои записи" conversation: how many, the list, and cancelling with a confirmation.

The user is always the sender of the callback; a booking id in callback data is only
a request, checked by the booking service against that user.
"""

from __future__ import annotations

from clinic import texts
from clinic.booking.models import Booking
from clinic.bot.context import BotContext
from clinic.bot.menu import reply
from clinic.errors import BookingPast, NotFound
from clinic.telegram import keyboards
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


async def summary(ctx: BotContext, query: CallbackQuery) -> str | None:
    count = len(await ctx.bookings.upcoming(query.sender.id))
    text = texts.bookings_count(count, bookable=ctx.bookable)
    await reply(ctx, query, text, keyboards.bookings_summary(count, ctx.webapp_url))
    return None


async def list_all(ctx: BotContext, query: CallbackQuery) -> str | None:
    found = await ctx.bookings.upcoming(query.sender.id)
    if not found:
        text = texts.no_bookings(bookable=ctx.bookable)
        await reply(ctx, query, text, keyboards.main_menu(ctx.webapp_url))
        return None
    for b in found[:MAX_LISTED]:
        await ctx.sender.send_message(
            query.sender.id, card(b), reply_markup=keyboards.booking_actions(b.id)
        )
    return None


async def own_booking(ctx: BotContext, query: CallbackQuery, booking_id: int) -> Booking | None:
    """The sender's booking with that id; None when it is someone else's or absent."""
    try:
        return await ctx.bookings.get_booking(query.sender.id, booking_id)
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
        b = await ctx.bookings.cancel_booking(query.sender.id, booking_id)
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
