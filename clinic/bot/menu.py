"""The main menu conversation: /start, "Главное меню", "О нас", and anything else typed."""

from __future__ import annotations

from clinic.bot.context import BotContext
from clinic.telegram import keyboards
from clinic.telegram.botapi import BadRequest
from clinic.telegram.models import CallbackQuery, Message


async def start(ctx: BotContext, message: Message) -> None:
    """Registers the sender (or refreshes their name) and greets them with the menu."""
    if message.sender is None:
        return
    await ctx.users.register_from_chat(message.sender)
    tx = ctx.tx(message.sender)
    await ctx.sender.send_message(
        message.chat.id,
        tx.greeting(message.sender.first_name, bookable=ctx.bookable),
        reply_markup=keyboards.main_menu(tx, ctx.webapp_url),
    )


async def fallback(ctx: BotContext, message: Message) -> None:
    tx = ctx.tx(message.sender)
    await ctx.sender.send_message(
        message.chat.id,
        tx("bot.fallback"),
        reply_markup=keyboards.main_menu(tx, ctx.webapp_url),
    )


async def show_menu(ctx: BotContext, query: CallbackQuery) -> str | None:
    tx = ctx.tx(query.sender)
    greeting = tx.greeting(query.sender.first_name, bookable=ctx.bookable)
    await reply(ctx, query, greeting, keyboards.main_menu(tx, ctx.webapp_url))
    return None


async def new_menu(ctx: BotContext, query: CallbackQuery) -> str | None:
    """The menu in a message of its own: asked from under a notice, which stays."""
    tx = ctx.tx(query.sender)
    greeting = tx.greeting(query.sender.first_name, bookable=ctx.bookable)
    await ctx.sender.send_message(
        query.sender.id, greeting, reply_markup=keyboards.main_menu(tx, ctx.webapp_url)
    )
    return None


async def show_about(ctx: BotContext, query: CallbackQuery) -> str | None:
    tx = ctx.tx(query.sender)
    about = tx.about(bookable=ctx.bookable)
    await reply(ctx, query, about, keyboards.about(tx, ctx.webapp_url))
    return None


async def reply(ctx: BotContext, query: CallbackQuery, text: str, markup: keyboards.Markup) -> None:
    """Replaces the message whose button was pressed, or writes anew when it cannot."""
    if query.message is not None:
        try:
            await ctx.sender.edit_message_text(
                query.message.chat.id, query.message.message_id, text, reply_markup=markup
            )
            return
        except BadRequest as exc:
            if "not modified" in exc.description:
                return
            # Too old to edit, or gone: say it in a new message instead.
    await ctx.sender.send_message(query.sender.id, text, reply_markup=markup)
