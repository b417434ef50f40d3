"""/today and /tomorrow for the clinic's staff: the day's list, one line per booking, with
who has confirmed. Anyone else who sends them gets the normal menu."""

from __future__ import annotations

from datetime import timedelta

from clinic.bot import menu
from clinic.bot.context import BotContext
from clinic.staff.models import DaySchedule
from clinic.telegram import keyboards
from clinic.telegram.models import Message
from clinic.texts import Texts

MAX_TEXT = 4000  # Telegram's limit is 4096 characters a message


def lines_of(tx: Texts, schedule: DaySchedule) -> str:
    doctors = [
        (
            d.full_name,
            [
                (b.time, b.patient.name, b.patient_confirmed, b.attendance)
                for b in d.bookings
                if b.status == "confirmed"
            ],
        )
        for d in schedule.doctors
    ]
    return tx.day_list(schedule.date, doctors)


def chunks(text: str) -> list[str]:
    """The text in messages under Telegram's limit, cut between lines."""
    parts, current = [], ""
    for line in text.split("\n"):
        if current and len(current) + len(line) + 1 > MAX_TEXT:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    return [*parts, current]


async def day_list(ctx: BotContext, message: Message, *, days_ahead: int) -> None:
    if message.sender is None:
        return
    member = await ctx.staff.member(message.sender.id)
    if member is None:
        await menu.start(ctx, message)
        return
    tx = ctx.tx(message.sender)
    day = ctx.staff.today() + timedelta(days=days_ahead)
    schedule = await ctx.staff.day(member, day, doctor_id=None)
    parts = chunks(lines_of(tx, schedule))
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        markup = keyboards.staff_day(tx, ctx.webapp_url, f"{day}") if last else None
        await ctx.sender.send_message(message.chat.id, part, reply_markup=markup)
