"""Every text the system says to people, in Russian and English: the message catalogs
clinic/locales/{ru,en}.po (gettext, keyed), read once at start-up, and the few builders
that put catalog texts together. `of(language(code))` is one language's Texts.

The bot's messages use parse_mode="HTML", so a name or any other value from a user is
escaped (escape()) before it is put into a text. A problem detail or any other text
raised deep inside is a Msg (a key and its values) until the edge knows the language.
"""

from __future__ import annotations

import gettext
import html
import io
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from clinic.errors import Msg

Lang = Literal["ru", "en"]
LANGUAGES: tuple[Lang, ...] = ("ru", "en")
PLURAL = ".plural"  # a plural entry's msgid_plural is its key with this ending
DEFAULT_REASONS = ("staff.time_off_reason", "staff.closure_reason")


def escape(text: str) -> str:
    """Escape a user-provided value for a message sent with parse_mode="HTML"."""
    return html.escape(text, quote=False)


def language(code: str | None) -> Lang:
    """A Telegram language_code or an Accept-Language tag: English for en*, else Russian."""
    return "en" if code and code.strip().lower()[:2] == "en" else "ru"


def _translations(lang: Lang) -> gettext.GNUTranslations:
    source = files("clinic.locales").joinpath(f"{lang}.po").read_bytes()
    catalog = read_po(io.BytesIO(source), locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def catalog_keys(lang: Lang) -> dict[str, bool]:
    """The keys of one catalog, each with whether it is a plural entry (for tests)."""
    source = files("clinic.locales").joinpath(f"{lang}.po").read_bytes()
    return {
        str(m.id[0] if isinstance(m.id, tuple) else m.id): isinstance(m.id, tuple)
        for m in read_po(io.BytesIO(source), locale=lang)
        if m.id
    }


class Texts:
    """One language's texts."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self._t = _translations(lang)
        self._keys = catalog_keys(lang)
        monday = date(2024, 1, 1)  # the week's names, once: the slot grid asks for them often
        week = [monday + timedelta(days=offset) for offset in range(7)]
        short = "EEEEEE" if lang == "ru" else "EEE"
        self._weekdays = tuple(format_date(d, "EEEE", lang).capitalize() for d in week)
        self._weekdays_short = tuple(format_date(d, short, lang).capitalize() for d in week)

    def __call__(self, key: str, /, **params: Any) -> str:
        if key not in self._keys:
            raise KeyError(f"no text {key!r} in the {self.lang} catalog")
        return self._t.gettext(key).format(**params)

    def n(self, key: str, count: int, /, **params: Any) -> str:
        """A plural entry, in the form its count takes in this language."""
        if not self._keys.get(key):
            raise KeyError(f"no plural text {key!r} in the {self.lang} catalog")
        return self._t.ngettext(key, key + PLURAL, count).format(count=count, **params)

    def render(self, text: str | Msg) -> str:
        """A Msg in this language; a plain string as it is."""
        if isinstance(text, str):
            return text
        if text.count is not None:
            return self.n(text.key, text.count, **text.params)
        return self(text.key, **text.params)

    # --- dates ---------------------------------------------------------------------

    def full_date(self, day: date) -> str:
        """03.12.2026 / 3 Dec 2026 (day first in both, as the MiniApp shows dates)."""
        return format_date(day, "dd.MM.yyyy" if self.lang == "ru" else "d MMM yyyy", self.lang)

    def day_month(self, day: date) -> str:
        """03.12 / 3 Dec."""
        return format_date(day, "dd.MM" if self.lang == "ru" else "d MMM", self.lang)

    def weekday(self, day: date) -> str:
        """Понедельник / Monday."""
        return self._weekdays[day.weekday()]

    def weekday_short(self, day: date) -> str:
        """Пн / Mon."""
        return self._weekdays_short[day.weekday()]

    # --- the bot's conversations ------------------------------------------------------

    def greeting(self, first_name: str, *, bookable: bool = True) -> str:
        clinic = self("clinic.name")
        hello = self("bot.hello", name=escape(first_name))
        if not bookable:
            return (
                f"{hello}\n\n{self('bot.intro_no_app', clinic=clinic)}\n\n{self('bot.no_miniapp')}"
            )
        return f"{hello}\n\n{self('bot.intro', clinic=clinic)}"

    def about(self, *, bookable: bool) -> str:
        end = self("bot.book_here") if bookable else self("bot.no_miniapp")
        return f"{self('clinic.about', clinic=self('clinic.name'))}\n\n{end}"

    def no_bookings(self, *, bookable: bool) -> str:
        more = self("bookings.press_book") if bookable else self("bot.no_miniapp")
        return f"{self('bookings.none')} {more}"

    def bookings_count(self, count: int, *, bookable: bool = True) -> str:
        if count == 0:
            return self.no_bookings(bookable=bookable)
        return self.n("bookings.count", count)

    def booking_details(
        self, *, number: int, day: date, time: str, doctor: str, specialization: str
    ) -> str:
        card = self(
            "booking.card",
            date=self.full_date(day),
            time=escape(time),
            doctor=escape(doctor),
            specialization=escape(specialization),
            number=number,
        )
        return f"{card}\n{self('booking.come_early')}"

    def ask_cancel(self, *, number: int, day: date, time: str) -> str:
        """The question, as a callback's notice: the message it sits under keeps its text."""
        return self("booking.ask_cancel", number=number, date=self.full_date(day), time=time)

    def cancelled(self, *, number: int, day: date, time: str) -> str:
        return self("booking.cancelled", number=number, date=self.full_date(day), time=escape(time))

    def too_late(self, *, minutes: int, phone: str) -> str:
        """A patient's cancel or move inside the cut-off: only by phone."""
        if minutes % 60 == 0:
            return self.n("booking.too_late_hours", minutes // 60, phone=phone)
        return self.n("booking.too_late_minutes", minutes, phone=phone)

    # --- what the system sends on its own ---------------------------------------------------

    def lead(self, starts_at: datetime, now: datetime, tz: ZoneInfo) -> str:
        """How far off the visit is, as of `now`: in 25 minutes, today at 14:00, tomorrow
        at 09:00, on 05.12 at 10:30 (the real lead time, whenever the reminder goes)."""
        local, today = starts_at.astimezone(tz), now.astimezone(tz).date()
        at = f"{local:%H:%M}"
        minutes = int((starts_at - now).total_seconds() // 60)
        if 0 < minutes < 90:
            return self.n("reminder.in_minutes", minutes, time=at)
        if local.date() == today:
            return self("reminder.today", time=at)
        if local.date() == today + timedelta(days=1):
            return self("reminder.tomorrow", time=at)
        return self("reminder.on_day", day=self.day_month(local.date()), time=at)

    def reminder(
        self,
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
        """The confirmation right after booking, or a reminder saying how far off the visit
        is now; the day before, it asks whether the patient will come."""
        details = self.booking_details(
            number=number, day=day, time=time, doctor=doctor, specialization=specialization
        )
        if kind == "confirmation":
            return f"{self('reminder.confirmation_header')}\n\n{details}"
        ask = f"\n\n{self('reminder.come_question')}" if kind == "24h" else ""
        return f"{self('reminder.header')}\n\n{self.lead(starts_at, now, tz)}\n{details}{ask}"

    def cancelled_by_clinic(
        self,
        *,
        number: int,
        day: date,
        time: str,
        doctor: str,
        specialization: str,
        reason: str | None,
    ) -> str:
        """The patient's notice that the clinic cancelled their visit, with the reason."""
        card = self(
            "booking.card",
            date=self.full_date(day),
            time=escape(time),
            doctor=escape(doctor),
            specialization=escape(specialization),
            number=number,
        )  # no "come early" for a visit that will not be
        because = (
            f"\n\n{self('booking.clinic_cancelled_reason', reason=escape(self.reason(reason)))}"
            if reason
            else ""
        )
        return (
            f"{self('booking.clinic_cancelled_header')}\n\n{card}{because}\n\n"
            f"{self('booking.clinic_cancelled_sorry')}"
        )

    def reason(self, stored: str) -> str:
        """A cancellation reason as stored; the default ones (written in the clinic's
        language when staff gave none) in this language."""
        for key in DEFAULT_REASONS:
            if stored == of("ru")(key):
                return self(key)
        return stored

    def moved(self, *, number: int, day: date, time: str, doctor: str, specialization: str) -> str:
        details = self.booking_details(
            number=number, day=day, time=time, doctor=doctor, specialization=specialization
        )
        return f"{self('booking.moved_header')}\n\n{details}"

    def offer(self, *, day: date, time: str, doctor: str, specialization: str) -> str:
        """A waitlist offer: the freed slot; the first to press its button gets it."""
        card = self(
            "booking.card",
            date=self.full_date(day),
            time=escape(time),
            doctor=escape(doctor),
            specialization=escape(specialization),
            number=0,
        ).rsplit("\n", 1)[0]  # an offer has no booking number yet
        return f"{self('offer.header')}\n\n{card}\n\n{self('offer.body')}"

    # --- the staff ----------------------------------------------------------------------

    def staff_notice(
        self,
        header_key: str,
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
        """A staff member's message about a booking of their doctor (any, for the desk)."""
        who = escape(patient or self("staff.patient"))
        if username:
            who += f" (@{escape(username)})"
        lines = [
            f"{self(header_key)} № {number}",
            "",
            f"📅 <b>{self.full_date(day)}</b> · <b>{escape(time)}</b>",
            f"👨‍⚕️ {escape(doctor)}",
            f"👤 {who}",
        ]
        if phone:
            lines.append(f"☎️ {escape(phone)}")
        if source and not cancelled_by:
            lines.append(self(f"staff.booked_by_{source}"))
        if cancelled_by:
            because = f": {escape(reason)}" if reason else ""
            lines.append(f"{self(f'staff.cancelled_by_{cancelled_by}')}{because}")
        return "\n".join(lines)

    def day_list(
        self, day: date, doctors: Sequence[tuple[str, Sequence[tuple[str, str, bool, str | None]]]]
    ) -> str:
        """/today and /tomorrow: per doctor, one line per booking: time, patient, status."""
        lines = [f"🗓 <b>{self.full_date(day)}</b>, {self.weekday(day).lower()}"]
        if not any(rows for _, rows in doctors):
            lines += ["", self("staff.day_none")]
        for doctor, rows in doctors:
            if not rows:
                continue
            lines += ["", f"👨‍⚕️ <b>{escape(doctor)}</b>"]
            for at, patient, confirmed, attendance in rows:
                sign = "✅" if confirmed else "▫️"
                mark = self(f"staff.{attendance}") if attendance else ""
                lines.append(f"{sign} {at} {escape(patient)}{mark}")
        lines += ["", self("staff.day_legend")]
        return "\n".join(lines)

    # --- the calendar file -----------------------------------------------------------------

    def calendar_summary(self, *, doctor: str, specialization: str) -> str:
        return self("calendar.summary", doctor=doctor, specialization=specialization)

    def calendar_description(self, *, number: int) -> str:
        return self("calendar.description", number=number)


@cache
def of(lang: Lang) -> Texts:
    return Texts(lang)


def render(text: str | Msg, lang: Lang) -> str:
    return of(lang).render(text)


RU = of("ru")
EN = of("en")
