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
    rows.append([_button(texts.BTN_MENU, Callback("menu"))])
    return {"inline_keyboard": rows}


def booking_actions(booking_id: int) -> Markup:
    return {"inline_keyboard": [[_button(texts.BTN_CANCEL, Callback("cancel", booking_id))]]}


def confirm_cancel(booking_id: int) -> Markup:
    return {
        "inline_keyboard": [
            [
                _button(texts.BTN_CANCEL_YES, Callback("cancel_yes", booking_id)),
                _button(texts.BTN_CANCEL_NO, Callback("cancel_no", booking_id)),
            ]
        ]
    }


def back_to_menu() -> Markup:
    return {"inline_keyboard": [[_button(texts.BTN_MENU, Callback("menu"))]]}


def reminder(booking_id: int) -> Markup:
    return {
        "inline_keyboard": [
            [_button(texts.BTN_CANCEL, Callback("cancel", booking_id))],
            [_button(texts.BTN_MY_BOOKINGS, Callback("bookings"))],
        ]
    }


def book_again(webapp_url: str | None) -> Markup:
    """Under a cancellation by the clinic: book another time, or the menu."""
    rows: list[list[dict[str, Any]]] = []
    if webapp_url:
        rows.append([{"text": texts.BTN_BOOK_AGAIN, "web_app": {"url": webapp_url}}])
    rows.append([_button(texts.BTN_MENU, Callback("menu"))])
    return {"inline_keyboard": rows}
