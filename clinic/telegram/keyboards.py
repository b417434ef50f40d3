"""Inline keyboards as pure functions of their inputs, in the language of `tx`."""

from __future__ import annotations

from typing import Any

from clinic.telegram.callbacks import Callback
from clinic.texts import Texts

Markup = dict[str, Any]


def _button(text: str, callback: Callback) -> dict[str, str]:
    return {"text": text, "callback_data": callback.pack()}


def _book(tx: Texts, webapp_url: str | None) -> list[dict[str, Any]]:
    if not webapp_url:
        return []
    return [{"text": tx("btn.book"), "web_app": {"url": webapp_url}}]


def main_menu(tx: Texts, webapp_url: str | None) -> Markup:
    rows = [[_button(tx("btn.my_bookings"), Callback("bookings"))]]
    if book := _book(tx, webapp_url):
        rows.append(book)
    rows.append([_button(tx("btn.about"), Callback("about"))])
    return {"inline_keyboard": rows}


def about(tx: Texts, webapp_url: str | None) -> Markup:
    row = [_button(tx("btn.menu"), Callback("menu")), *_book(tx, webapp_url)]
    return {"inline_keyboard": [row]}


def bookings_summary(tx: Texts, count: int, webapp_url: str | None) -> Markup:
    rows = [[_button(tx("btn.list"), Callback("list"))]] if count else []
    if not count and (book := _book(tx, webapp_url)):
        rows.append(book)
    rows.append([_button(tx("btn.menu"), Callback("menu"))])
    return {"inline_keyboard": rows}


def _reschedule(tx: Texts, booking_id: int, webapp_url: str | None) -> list[dict[str, Any]]:
    """Moving a booking happens in the MiniApp: its doctor's week, then confirm."""
    if not webapp_url:
        return []
    url = f"{webapp_url.rstrip('/')}/bookings/{booking_id}/reschedule"
    return [{"text": tx("btn.reschedule"), "web_app": {"url": url}}]


def booking_actions(tx: Texts, booking_id: int, webapp_url: str | None = None) -> Markup:
    """Under a booking's card, its confirmation and reminders: cancel, or move it."""
    rows = [[_button(tx("btn.cancel"), Callback("cancel", booking_id))]]
    if move := _reschedule(tx, booking_id, webapp_url):
        rows.append(move)
    return {"inline_keyboard": rows}


def confirm_cancel(tx: Texts, booking_id: int, *, from_reminder: bool = False) -> Markup:
    """Replaces the buttons of the message asked from (never its text): yes, or back."""
    keep = Callback("remind_keep" if from_reminder else "cancel_no", booking_id)
    return {
        "inline_keyboard": [
            [
                _button(tx("btn.cancel_yes"), Callback("cancel_yes", booking_id)),
                _button(tx("btn.cancel_no"), keep),
            ]
        ]
    }


def reminder(
    tx: Texts, booking_id: int, webapp_url: str | None = None, *, ask_come: bool = False
) -> Markup:
    """Under a reminder. The 24-hour one asks: "Приду" or "Отменить"."""
    if not ask_come:
        return booking_actions(tx, booking_id, webapp_url)
    rows = [
        [
            _button(tx("btn.come"), Callback("come", booking_id)),
            _button(tx("btn.cancel_short"), Callback("remind_cancel", booking_id)),
        ]
    ]
    if move := _reschedule(tx, booking_id, webapp_url):
        rows.append(move)
    return {"inline_keyboard": rows}


def offer(tx: Texts, offer_id: int, time: str) -> Markup:
    return {"inline_keyboard": [[_button(tx("btn.take", time=time), Callback("take", offer_id))]]}


def book_again(tx: Texts, webapp_url: str | None) -> Markup:
    """Under a cancellation by the clinic: book another time, or the menu."""
    rows: list[list[dict[str, Any]]] = []
    if webapp_url:
        rows.append([{"text": tx("btn.book_again"), "web_app": {"url": webapp_url}}])
    rows.append([_button(tx("btn.menu"), Callback("menu_new"))])
    return {"inline_keyboard": rows}


def staff_day(tx: Texts, webapp_url: str | None, day: str) -> Markup | None:
    """Under a staff notice: that day in the MiniApp's staff section."""
    if not webapp_url:
        return None
    url = f"{webapp_url.rstrip('/')}/staff?date={day}"
    return {"inline_keyboard": [[{"text": tx("btn.staff_day"), "web_app": {"url": url}}]]}
