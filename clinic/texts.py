"""Every text the bot sends, in one place. Values from users go through escape().

The bot's messages use parse_mode="HTML", so a name or any other value from a user
is escaped before it is put into a text.
"""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def escape(text: str) -> str:
    """Escape a user-provided value for a message sent with parse_mode="HTML"."""
    return html.escape(text, quote=False)


CLINIC = "Здоровье Плюс"
CLINIC_ADDRESS = "Клиника «Здоровье Плюс», ул. Садовая, 15"
CALENDAR_CAPTION = "📎 Запись для вашего календаря: откройте файл, чтобы добавить её."

BTN_MY_BOOKINGS = "📅 Мои записи"
BTN_BOOK = "🔖 Записаться"
BTN_ABOUT = "ℹ️ О нас"
BTN_MENU = "🏠 Главное меню"
BTN_LIST = "📋 Показать записи"
BTN_CANCEL = "❌ Отменить запись"
BTN_CANCEL_YES = "Да, отменить"
BTN_CANCEL_NO = "Нет, оставить"
BTN_CANCEL_SHORT = "❌ Отменить"
BTN_RESCHEDULE = "🔁 Перенести"
BTN_COME = "✅ Приду"

COMMAND_START = "Главное меню"
MENU_BUTTON = "Записаться"

BOT_STARTED = "Бот запущен!"
BOT_STOPPED = "Бот остановлен!"

# A text may point at a button only where that button is: "🔖 Записаться" exists only
# when the bot knows the MiniApp's address (bookable), so the texts that name it come in
# two versions.
ABOUT_CLINIC = (
    f"🏥 <b>Клиника «{CLINIC}»</b>\n\n"
    "Принимаем взрослых и детей: терапевты, кардиологи, неврологи, офтальмологи, "
    "стоматологи и другие специалисты.\n\n"
    "🕗 Пн–Сб, 08:00–20:00, воскресенье — выходной\n"
    "📍 ул. Садовая, 15\n"
    "☎️ +7 (800) 555-01-23"
)
BOOK_HERE = "Записаться можно прямо здесь, в Telegram, — нажмите «Записаться»."
NO_MINIAPP = "Запись через приложение пока недоступна: администратор не настроил адрес MiniApp."
FALLBACK = "Я понимаю кнопки меню и команду /start. Нажмите /start, чтобы открыть главное меню."
NO_BOOKINGS = "У вас нет предстоящих записей."
PRESS_BOOK = "Нажмите «Записаться», чтобы выбрать врача и время."
NOT_FOUND = (
    "Эта запись не найдена. Возможно, она уже отменена или принадлежит другому пользователю."
)
ALREADY_STARTED = "Приём уже начался или прошёл — эту запись отменить нельзя."
UNKNOWN_BUTTON = "Эта кнопка устарела. Откройте главное меню: /start"
KEPT = "Хорошо, запись остаётся в силе."
CANCELLED_TOAST = "Запись отменена"
ALREADY_CANCELLED = "Эта запись уже отменена."
COME_TOAST = "Спасибо! Ждём вас."
MOVED_HEADER = "🔁 Запись перенесена"
OFFER_HEADER = "🔔 Освободилось время"
OFFER_BOOKED = "Готово: вы записаны!"
OFFER_TAKEN = "Это время уже заняли. Вы остаётесь в листе ожидания на этот день."
OFFER_GONE = "Это предложение больше не действует."
BUSY_THEN = "У вас уже есть запись на это время."
BTN_BOOK_AGAIN = "🔖 Записаться снова"
CLINIC_CANCELLED_HEADER = "❌ Клиника отменила вашу запись"

REMINDER_HEADER = "❗ Напоминаем, что у вас назначена запись к доктору ❗"
CONFIRMATION_HEADER = "✅ Вы записаны к доктору"
COME_QUESTION = "Вы придёте? Нажмите «✅ Приду» — или отмените запись, если планы изменились."


def plural(n: int, one: str, few: str, many: str) -> str:
    """Russian plural form for n: 1 запись, 2 записи, 5 записей."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def greeting(first_name: str, *, bookable: bool = True) -> str:
    hello = f"Здравствуйте, <b>{escape(first_name)}</b>! 👋\n\n"
    if not bookable:
        return (
            f"{hello}Я бот клиники «{CLINIC}». Здесь можно посмотреть свои записи "
            f"и отменить их.\n\n{NO_MINIAPP}"
        )
    return (
        f"{hello}Я бот клиники «{CLINIC}». Здесь можно записаться к врачу, "
        "посмотреть свои записи и отменить их. Выберите, что нужно:"
    )


def about(*, bookable: bool) -> str:
    return f"{ABOUT_CLINIC}\n\n{BOOK_HERE if bookable else NO_MINIAPP}"


def no_bookings(*, bookable: bool) -> str:
    return f"{NO_BOOKINGS} {PRESS_BOOK if bookable else NO_MINIAPP}"


def bookings_count(count: int, *, bookable: bool = True) -> str:
    if count == 0:
        return no_bookings(bookable=bookable)
    noun = plural(count, "предстоящая запись", "предстоящие записи", "предстоящих записей")
    return f"У вас {count} {noun}."


def booking_details(*, number: int, day: date, time: str, doctor: str, specialization: str) -> str:
    return (
        f"📅 <b>{day:%d.%m.%Y}</b> в <b>{escape(time)}</b>\n"
        f"👨‍⚕️ {escape(doctor)}\n"
        f"🩺 {escape(specialization)}\n"
        f"🔢 Запись № {number}\n"
        "Пожалуйста, приходите за 10-15 минут до приёма."
    )


def cancel_question(*, number: int, day: date, time: str) -> str:
    return f"Отменить запись № {number} на {day:%d.%m.%Y} в {escape(time)}?"


def cancelled(*, number: int, day: date, time: str) -> str:
    return f"Запись № {number} на {day:%d.%m.%Y} в {escape(time)} отменена."


def lead(starts_at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """How far off the visit is, as of `now`: "через 25 минут", "сегодня в 14:00",
    "завтра в 09:00", "05.12 в 10:30" (the real lead time, whenever the reminder goes)."""
    local, today = starts_at.astimezone(tz), now.astimezone(tz).date()
    at = f"{local:%H:%M}"
    minutes = int((starts_at - now).total_seconds() // 60)
    if 0 < minutes < 90:
        noun = plural(minutes, "минуту", "минуты", "минут")
        return f"Приём через {minutes} {noun}, в {at}."
    if local.date() == today:
        return f"Приём сегодня в {at}."
    if local.date() == today + timedelta(days=1):
        return f"Приём завтра в {at}."
    return f"Приём {local:%d.%m} в {at}."


def reminder(
    kind: str,
    *,
    number: int,
    day: date,
    time: str,
    doctor: str,
    specialization: str,
    starts_at: datetime,
    now: datetime,
    tz: ZoneInfo,
) -> str:
    """A notification: the confirmation right after booking, or a reminder before the
    visit saying how far off it is now; the day before, it asks whether they will come."""
    details = booking_details(
        number=number, day=day, time=time, doctor=doctor, specialization=specialization
    )
    if kind == "confirmation":
        return f"{CONFIRMATION_HEADER}\n\n{details}"
    ask = f"\n\n{COME_QUESTION}" if kind == "24h" else ""
    return f"{REMINDER_HEADER}\n\n{lead(starts_at, now, tz)}\n{details}{ask}"


def cancelled_by_clinic(
    *, number: int, day: date, time: str, doctor: str, specialization: str, reason: str | None
) -> str:
    """The patient's notice that the clinic cancelled their visit, with the reason."""
    details = booking_details(
        number=number, day=day, time=time, doctor=doctor, specialization=specialization
    )
    details = details.rsplit("\n", 1)[0]  # no "come early" for a visit that will not be
    because = f"\n\nПричина: {escape(reason)}" if reason else ""
    return (
        f"{CLINIC_CANCELLED_HEADER}\n\n{details}{because}\n\n"
        "Приносим извинения. Выберите другое время, когда вам удобно."
    )


def too_late(*, minutes: int, phone: str) -> str:
    """A patient's cancel or move inside the cut-off: only by phone."""
    span = f"{minutes // 60} ч" if minutes % 60 == 0 else f"{minutes} мин"
    return (
        f"До приёма меньше {span}: отменить или перенести запись можно только по телефону {phone}."
    )


def too_many(*, limit: int, phone: str) -> str:
    noun = plural(limit, "предстоящей записи", "предстоящих записей", "предстоящих записей")
    return (
        f"У вас уже {limit} {noun} — больше записаться нельзя. Отмените одну из них "
        f"или позвоните нам: {phone}."
    )


def ask_cancel(*, number: int, day: date, time: str) -> str:
    """The question, as a callback's toast: the message it sits under keeps its text."""
    return f"Отменить запись № {number} на {day:%d.%m.%Y} в {time}?"


def moved(*, number: int, day: date, time: str, doctor: str, specialization: str) -> str:
    details = booking_details(
        number=number, day=day, time=time, doctor=doctor, specialization=specialization
    )
    return f"{MOVED_HEADER}\n\n{details}"


def offer(*, day: date, time: str, doctor: str, specialization: str) -> str:
    """A waitlist offer: the freed slot; the first to press its button gets it."""
    return (
        f"{OFFER_HEADER}\n\n"
        f"📅 <b>{day:%d.%m.%Y}</b> в <b>{escape(time)}</b>\n"
        f"👨‍⚕️ {escape(doctor)}\n"
        f"🩺 {escape(specialization)}\n\n"
        "Вы просили сообщить, если место освободится. Запишем того, кто нажмёт первым."
    )


def btn_take(time: str) -> str:
    return f"✅ Записаться на {time}"


# --- the staff's side -------------------------------------------------------------

BTN_STAFF_DAY = "🗓 Открыть день"
STAFF_NEW = "🆕 Новая запись"
STAFF_CANCELLED = "❌ Запись отменена"
STAFF_MOVED = "🔁 Запись перенесена"
SOURCES = {"patient": "пациент сам", "staff": "регистратура"}
CANCELLED_BY = {"patient": "пациентом", "clinic": "клиникой"}
NOT_STAFF_TODAY = "Команды /today и /tomorrow — для сотрудников клиники."


def staff_notice(
    header: str,
    *,
    number: int,
    day: date,
    time: str,
    doctor: str,
    patient: str | None,
    username: str | None,
    phone: str | None,
    source: str | None,
    cancelled_by: str | None = None,
    reason: str | None = None,
) -> str:
    """A staff member's message about a booking of their doctor (or any, for the desk)."""
    who = escape(patient or "пациент")
    if username:
        who += f" (@{escape(username)})"
    lines = [
        f"{header} № {number}",
        "",
        f"📅 <b>{day:%d.%m.%Y}</b> в <b>{escape(time)}</b>",
        f"👨‍⚕️ {escape(doctor)}",
        f"👤 {who}",
    ]
    if phone:
        lines.append(f"☎️ {escape(phone)}")
    if source and not cancelled_by:
        lines.append(f"Записал: {SOURCES.get(source, source)}")
    if cancelled_by:
        because = f": {escape(reason)}" if reason else ""
        lines.append(f"Отменена {CANCELLED_BY.get(cancelled_by, cancelled_by)}{because}")
    return "\n".join(lines)


def day_list(day: date, doctors: list[tuple[str, list[tuple[str, str, bool, str]]]]) -> str:
    """/today and /tomorrow: per doctor, one line per booking: time, patient, status."""
    weekday = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")[day.weekday()]
    lines = [f"🗓 <b>{day:%d.%m.%Y}</b>, {weekday}"]
    if not any(rows for _, rows in doctors):
        lines.append("")
        lines.append("Записей нет.")
    for doctor, rows in doctors:
        if not rows:
            continue
        lines.append("")
        lines.append(f"👨‍⚕️ <b>{escape(doctor)}</b>")
        for at, patient, confirmed, mark in rows:
            sign = "✅" if confirmed else "▫️"
            lines.append(f"{sign} {at} {escape(patient)}{mark}")
    lines.append("")
    lines.append("✅ — пациент подтвердил визит")
    return "\n".join(lines)


def calendar_summary(*, doctor: str, specialization: str) -> str:
    return f"Приём: {specialization} — {doctor}"


def calendar_description(*, number: int) -> str:
    return f"Запись № {number}. Пожалуйста, приходите за 10-15 минут до приёма."
