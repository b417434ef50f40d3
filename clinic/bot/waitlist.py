"""A waitlist offer's button: the first patient to press it gets the slot. Only the
offer's button changes; its text stays readable in the chat."""

from __future__ import annotations

from clinic.bot.bookings import Toast, buttons
from clinic.bot.context import Alert, BotContext
from clinic.errors import NotFound, OfferGone, PatientBusy, SlotTaken, TooManyBookings
from clinic.telegram.models import CallbackQuery


async def take(ctx: BotContext, query: CallbackQuery, offer_id: int) -> Toast:
    tx = ctx.tx(query.sender)
    try:
        await ctx.waitlist.take(query.sender.id, offer_id)
    except NotFound:
        return tx("offer.gone")
    except OfferGone:
        await buttons(ctx, query, None)
        return tx("offer.gone")
    except SlotTaken:
        await buttons(ctx, query, None)
        return Alert(tx("offer.taken"))
    except PatientBusy:
        return Alert(tx("booking.busy_then"))
    except TooManyBookings as exc:
        return Alert(tx.render(exc.detail))
    ctx.metrics.bookings.labels("created", "waitlist").inc()
    await buttons(ctx, query, None)
    return tx("offer.booked")
