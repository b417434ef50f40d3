"""Inline keyboards as pure functions of their inputs."""

from __future__ import annotations

from typing import Any

from clinic import texts
from clinic.telegram.callbacks import Callback

Markup = dict[str, Any]


def _button(text: str, callback: Callback) -> dict[str, str]:
    return {"text": text, "callback_data": callback.pack()}


def _book(webapp_url: str | None) -> list[dict[str, Any]]:
    if not webapp_url:
        return []
    return [{"text": texts.BTN_BOOK, "web_app": {"url": webapp_url}}]


def main_menu(webapp_url: str | None) -> Markup:
    rows = [[_button(texts.BTN_MY_BOOKINGS, Callback("bookings"))]]
    if book := _book(webapp_url):
        rows.append(book)
    rows.append([_button(texts.BTN_ABOUT, Callback("about"))])
    return {"inline_keyboard": rows}


def about(webapp_url: str | None) -> Markup:
    row = [_button(texts.BTN_MENU, Callback("menu")), *_book(webapp_url)]
    return {"inline_keyboard": [row]}


def bookings_summary(count: int, webapp_url: str | None) -> Markup:
    rows = [[_button(texts.BTN_LIST, Callback("list"))]] if count else []
    if not count and (book := _book(webapp_url)):
        rows.append(book)
    rows.append([_button(texts.BTN_MENU, Callback("menu_new"))])
    return {"inline_keyboard": rows}


def _reschedule(booking_id: int, webapp_url: str | None) -> list[dict[str, Any]]:
    """Moving a booking happens in the MiniApp: its doctor's week, then confirm."""
    if not webapp_url:
        return []
    url = f"{webapp_url.rstrip('/')}/bookings/{booking_id}/reschedule"
    return [{"text": texts.BTN_RESCHEDULE, "web_app": {"url": url}}]


def booking_actions(booking_id: int, webapp_url: str | None = None) -> Markup:
    """Under a booking's card, its confirmation and reminders: cancel, or move it."""
    rows = [[_button(texts.BTN_CANCEL, Callback("cancel", booking_id))]]
    if move := _reschedule(booking_id, webapp_url):
        rows.append(move)
    return {"inline_keyboard": rows}


def confirm_cancel(booking_id: int, *, from_reminder: bool = False) -> Markup:
    """Replaces the buttons of the message asked from (never its text): yes, or back."""
    keep = Callback("remind_keep" if from_reminder else "cancel_no", booking_id)
    return {
        "inline_keyboard": [
            [
                _button(texts.BTN_CANCEL_YES, Callback("cancel_yes", booking_id)),
                _button(texts.BTN_CANCEL_NO, keep),
            ]
        ]
    }


def back_to_menu() -> Markup:
    return {"inline_keyboard": [[_button(texts.BTN_MENU, Callback("menu"))]]}


def reminder(booking_id: int, webapp_url: str | None = None, *, ask_come: bool = False) -> Markup:
    """Under a reminder. The 24-hour one asks: "Приду" or "Отменить"."""
    if not ask_come:
        return booking_actions(booking_id, webapp_url)
    rows = [
        [
            _button(texts.BTN_COME, Callback("come", booking_id)),
            _button(texts.BTN_CANCEL_SHORT, Callback("remind_cancel", booking_id)),
        ]
    ]
    if move := _reschedule(booking_id, webapp_url):
        rows.append(move)
    return {"inline_keyboard": rows}


def offer(offer_id: int, time: str) -> Markup:
    return {"inline_keyboard": [[_button(texts.btn_take(time), Callback("take", offer_id))]]}


def book_again(webapp_url: str | None) -> Markup:
    """Under a cancellation by the clinic: book another time, or the menu."""
    rows: list[list[dict[str, Any]]] = []
    if webapp_url:
        rows.append([{"text": texts.BTN_BOOK_AGAIN, "web_app": {"url": webapp_url}}])
    rows.append([_button(texts.BTN_MENU, Callback("menu_new"))])
    return {"inline_keyboard": rows}


def staff_day(webapp_url: str | None, day: str) -> Markup | None:
    """Under a staff notice: that day in the MiniApp's staff section."""
    if not webapp_url:
        return None
    url = f"{webapp_url.rstrip('/')}/staff?date={day}"
    return {"inline_keyboard": [[{"text": texts.BTN_STAFF_DAY, "web_app": {"url": url}}]]}
