"""A waitlist offer's button: the first patient to press it gets the slot. Only the
offer's button changes; its text stays readable in the chat."""

from __future__ import annotations

from clinic import texts
from clinic.bot.bookings import Toast, buttons
from clinic.bot.context import Alert, BotContext
from clinic.errors import NotFound, OfferGone, PatientBusy, SlotTaken, TooManyBookings
from clinic.telegram.models import CallbackQuery


async def take(ctx: BotContext, query: CallbackQuery, offer_id: int) -> Toast:
    try:
        await ctx.waitlist.take(query.sender.id, offer_id)
    except NotFound:
        return texts.OFFER_GONE
    except OfferGone:
        await buttons(ctx, query, None)
        return texts.OFFER_GONE
    except SlotTaken:
        await buttons(ctx, query, None)
        return Alert(texts.OFFER_TAKEN)
    except PatientBusy:
        return Alert(texts.BUSY_THEN)
    except TooManyBookings as exc:
        return Alert(exc.detail)
    ctx.metrics.bookings.labels("created", "waitlist").inc()
    await buttons(ctx, query, None)
    return texts.OFFER_BOOKED
