"""The "Мои записи" conversation: how many, the list of cards, and what the buttons under
a card, a confirmation or a reminder do: cancel (asked first), keep, "Приду".

A button never replaces the text of the message it sits under: only its buttons change,
and answers come as the callback's notice (or, for a cancellation, as the notice the
dispatcher sends). The user is always the sender of the callback; a booking id in
callback data is only a request, checked by the booking service against that user.
"""

from __future__ import annotations

import logging

from clinic.booking.models import Booking
from clinic.bot.context import Alert, BotContext
from clinic.bot.menu import reply
from clinic.errors import BookingCancelled, BookingPast, NotFound, TooLate
from clinic.reminders import service as reminders
from clinic.telegram import keyboards
from clinic.telegram.botapi import BadRequest
from clinic.telegram.models import CallbackQuery
from clinic.texts import Texts

log = logging.getLogger("clinic.telegram")

MAX_LISTED = 10
Toast = str | None


def card(tx: Texts, b: Booking) -> str:
    return tx.booking_details(
        number=b.id,
        day=b.date,
        time=b.time,
        doctor=b.doctor.full_name,
        specialization=b.doctor.specialization,
    )


async def summary(ctx: BotContext, query: CallbackQuery) -> Toast:
    tx = ctx.tx(query.sender)
    count = len(await ctx.bookings.upcoming(query.sender.id))
    text = tx.bookings_count(count, bookable=ctx.bookable)
    await reply(ctx, query, text, keyboards.bookings_summary(tx, count, ctx.webapp_url))
    return None


async def list_all(ctx: BotContext, query: CallbackQuery) -> Toast:
    tx = ctx.tx(query.sender)
    found = await ctx.bookings.upcoming(query.sender.id)
    if not found:
        text = tx.no_bookings(bookable=ctx.bookable)
        await reply(ctx, query, text, keyboards.main_menu(tx, ctx.webapp_url))
        return None
    for b in found[:MAX_LISTED]:
        sent = await ctx.sender.send_message(
            query.sender.id,
            card(tx, b),
            reply_markup=keyboards.booking_actions(tx, b.id, ctx.webapp_url),
        )
        if isinstance(sent.get("message_id"), int):
            await reminders.record_card(
                ctx.database,
                chat_id=query.sender.id,
                message_id=sent["message_id"],
                booking_id=b.id,
            )
    return None


async def own_booking(ctx: BotContext, query: CallbackQuery, booking_id: int) -> Booking | None:
    """The sender's booking with that id; None when it is someone else's or absent."""
    try:
        return await ctx.bookings.get_booking(query.sender.id, booking_id)
    except NotFound:
        return None


async def buttons(ctx: BotContext, query: CallbackQuery, markup: keyboards.Markup | None) -> None:
    """Changes only the buttons of the message pressed (None: none left). Best effort: a
    message too old to edit, or already so, keeps what it has."""
    if query.message is None:
        return
    try:
        await ctx.sender.edit_message_reply_markup(
            query.message.chat.id, query.message.message_id, reply_markup=markup
        )
    except BadRequest as exc:
        log.info("buttons of message %d kept: %s", query.message.message_id, exc.description)


def _stale(tx: Texts, b: Booking | None) -> Toast:
    """What a button on an old message says of the sender's own booking."""
    if b is None:
        return tx("booking.not_found_chat")
    if b.status == "cancelled":
        return tx("booking.already_cancelled")
    return tx("booking.already_started")


async def _ask(ctx: BotContext, query: CallbackQuery, booking_id: int, *, reminder: bool) -> Toast:
    tx = ctx.tx(query.sender)
    b = await own_booking(ctx, query, booking_id)
    if b is None:
        return tx("booking.not_found_chat")
    if not b.upcoming:
        await buttons(ctx, query, None)
        return _stale(tx, b)
    limits = ctx.bookings.limits
    if b.starts_at <= ctx.bookings.now() + limits.cutoff:
        minutes = int(limits.cutoff.total_seconds() // 60)
        return Alert(tx.too_late(minutes=minutes, phone=limits.phone))
    await buttons(ctx, query, keyboards.confirm_cancel(tx, b.id, from_reminder=reminder))
    return tx.ask_cancel(number=b.id, day=b.date, time=b.time)


async def ask_cancel(ctx: BotContext, query: CallbackQuery, booking_id: int) -> Toast:
    return await _ask(ctx, query, booking_id, reminder=False)


async def ask_cancel_from_reminder(ctx: BotContext, query: CallbackQuery, booking_id: int) -> Toast:
    return await _ask(ctx, query, booking_id, reminder=True)


async def confirm_cancel(ctx: BotContext, query: CallbackQuery, booking_id: int) -> Toast:
    tx = ctx.tx(query.sender)
    try:
        await ctx.bookings.cancel_booking(query.sender.id, booking_id)
    except NotFound:
        return tx("booking.not_found_chat")
    except (BookingPast, BookingCancelled):
        await buttons(ctx, query, None)
        return _stale(tx, await own_booking(ctx, query, booking_id))
    except TooLate as exc:
        return Alert(tx.render(exc.detail))
    ctx.metrics.bookings.labels("cancelled", "bot").inc()
    # The dispatcher tells the patient in a message of its own and strips the other
    # cards; this one loses its buttons now.
    await buttons(ctx, query, None)
    return tx("booking.cancelled_toast")


async def keep(ctx: BotContext, query: CallbackQuery, booking_id: int) -> Toast:
    tx = ctx.tx(query.sender)
    b = await own_booking(ctx, query, booking_id)
    if b is None:
        return tx("booking.not_found_chat")
    if not b.upcoming:
        await buttons(ctx, query, None)
        return _stale(tx, b)
    await buttons(ctx, query, keyboards.booking_actions(tx, b.id, ctx.webapp_url))
    return tx("booking.kept")


async def keep_reminder(ctx: BotContext, query: CallbackQuery, booking_id: int) -> Toast:
    tx = ctx.tx(query.sender)
    b = await own_booking(ctx, query, booking_id)
    if b is None:
        return tx("booking.not_found_chat")
    if not b.upcoming:
        await buttons(ctx, query, None)
        return _stale(tx, b)
    markup = keyboards.reminder(tx, b.id, ctx.webapp_url, ask_come=not b.patient_confirmed)
    await buttons(ctx, query, markup)
    return tx("booking.kept")


async def come(ctx: BotContext, query: CallbackQuery, booking_id: int) -> Toast:
    """ "Приду" under the 24-hour reminder: staff see it; the button goes, the text stays."""
    tx = ctx.tx(query.sender)
    try:
        b = await ctx.bookings.confirm_visit(query.sender.id, booking_id)
    except NotFound:
        return tx("booking.not_found_chat")
    except (BookingCancelled, BookingPast):
        await buttons(ctx, query, None)
        return _stale(tx, await own_booking(ctx, query, booking_id))
    await buttons(ctx, query, keyboards.booking_actions(tx, b.id, ctx.webapp_url))
    return tx("booking.come_toast")
