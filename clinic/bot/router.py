"""Routes one Telegram update to its conversation handler.

Private chats only; unknown kinds of update are ignored. Every callback query is
answered, whatever happens while handling it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from clinic.bot import bookings, menu, staff, waitlist
from clinic.bot.context import Alert, BotContext
from clinic.telegram import callbacks
from clinic.telegram.botapi import BotApiError
from clinic.telegram.models import CallbackQuery, ChatMemberUpdated, Message, Update

log = logging.getLogger("clinic.telegram")

Plain = Callable[[BotContext, CallbackQuery], Awaitable[str | None]]
WithId = Callable[[BotContext, CallbackQuery, int], Awaitable[str | None]]

PLAIN: dict[str, Plain] = {
    "menu": menu.show_menu,
    "menu_new": menu.new_menu,
    "about": menu.show_about,
    "bookings": bookings.summary,
    "list": bookings.list_all,
}
WITH_ID: dict[str, WithId] = {
    "cancel": bookings.ask_cancel,
    "remind_cancel": bookings.ask_cancel_from_reminder,
    "cancel_yes": bookings.confirm_cancel,
    "cancel_no": bookings.keep,
    "remind_keep": bookings.keep_reminder,
    "come": bookings.come,
    "take": waitlist.take,
}


async def handle_update(ctx: BotContext, update: Update) -> None:
    if update.callback_query is not None:
        await on_callback(ctx, update.callback_query)
    elif update.message is not None:
        await on_message(ctx, update.message)
    elif update.my_chat_member is not None:
        await on_membership(ctx, update.my_chat_member)


async def on_message(ctx: BotContext, message: Message) -> None:
    if message.chat.type != "private" or message.sender is None:
        return  # the bot talks in private chats only
    if message.web_app_data is not None:
        return  # the MiniApp reports through the API, not through sendData
    command = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    if command in ("/start", "/menu"):
        await menu.start(ctx, message)
    elif command in ("/today", "/tomorrow"):
        await staff.day_list(ctx, message, days_ahead=int(command == "/tomorrow"))
    else:
        await menu.fallback(ctx, message)


async def on_callback(ctx: BotContext, query: CallbackQuery) -> None:
    toast: str | None = None
    try:
        parsed = callbacks.parse(query.data)
        if parsed is None:
            toast = ctx.tx(query.sender)("bot.unknown_button")
        elif parsed.booking_id is None:
            toast = await PLAIN[parsed.action](ctx, query)
        else:
            toast = await WITH_ID[parsed.action](ctx, query, parsed.booking_id)
    finally:
        try:
            await ctx.sender.answer_callback_query(
                query.id, text=toast, show_alert=isinstance(toast, Alert)
            )
        except BotApiError as exc:
            log.warning("answerCallbackQuery failed: %s", exc)


async def on_membership(ctx: BotContext, change: ChatMemberUpdated) -> None:
    """The user blocked the bot ("kicked") or came back ("member")."""
    if change.chat.type != "private":
        return
    status = change.new_chat_member.status
    if status in ("kicked", "member"):
        blocked = status == "kicked"
        await ctx.users.set_blocked(telegram_id=change.sender.id, blocked=blocked)
