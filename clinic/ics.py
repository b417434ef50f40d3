"""A booking as an iCalendar file (RFC 5545), for the patient's calendar. Pure.

The UID is stable per booking, SEQUENCE is the booking's revision (it grows with each move
and cancellation), STATUS says CANCELLED once it is, and the times are on the clinic's
wall clock with its time zone described in a VTIMEZONE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

PRODID = "-//Zdorovye Plus//clinic booking//RU"
MIME = "text/calendar"


@dataclass(frozen=True, slots=True)
class Event:
    booking_id: int
    revision: int
    starts_at: datetime
    ends_at: datetime
    cancelled: bool
    summary: str
    description: str
    location: str


def escape(text: str) -> str:
    """TEXT values: backslash, semicolon, comma and newlines escaped."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Content lines longer than 75 octets go on as continuation lines."""
    if len(line.encode()) <= 75:
        return line
    out: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode()
        limit = 75 if not out else 74  # continuation lines start with a space
        if len(current) + len(encoded) > limit:
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%Y%m%dT%H%M%S")


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{rest:02d}"


def vtimezone(tz: ZoneInfo, around: datetime) -> list[str]:
    """The zone's offsets from a year before `around` to a year after: each change of
    offset (found day by day, then to the hour) is one STANDARD or DAYLIGHT part."""
    return list(_vtimezone(tz, around.astimezone(tz).year))


@lru_cache(maxsize=64)
def _vtimezone(tz: ZoneInfo, year: int) -> tuple[str, ...]:
    start = datetime(year - 1, 1, 1, tzinfo=tz)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tz.key}"]
    previous = start.utcoffset()
    parts = [(start, previous, previous)]
    day = start
    for _ in range(3 * 366):
        following = day + timedelta(days=1)
        if following.utcoffset() != day.utcoffset():
            moment = day
            while moment.utcoffset() == day.utcoffset():
                moment = (moment.astimezone(UTC) + timedelta(hours=1)).astimezone(tz)
            parts.append((moment, day.utcoffset(), moment.utcoffset()))
        day = following
    for moment, before, after in parts:
        kind = "DAYLIGHT" if moment.dst() else "STANDARD"
        lines += [
            f"BEGIN:{kind}",
            f"DTSTART:{moment.replace(tzinfo=None):%Y%m%dT%H%M%S}",
            f"TZOFFSETFROM:{_offset(before)}",
            f"TZOFFSETTO:{_offset(after)}",
            f"TZNAME:{moment.tzname()}",
            f"END:{kind}",
        ]
    lines.append("END:VTIMEZONE")
    return tuple(lines)


def calendar(event: Event, *, tz: ZoneInfo, host: str, now: datetime) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        *vtimezone(tz, event.starts_at),
        "BEGIN:VEVENT",
        f"UID:booking-{event.booking_id}@{host}",
        f"SEQUENCE:{event.revision}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART;TZID={tz.key}:{_local(event.starts_at, tz)}",
        f"DTEND;TZID={tz.key}:{_local(event.ends_at, tz)}",
        f"SUMMARY:{escape(event.summary)}",
        f"DESCRIPTION:{escape(event.description)}",
        f"LOCATION:{escape(event.location)}",
        f"STATUS:{'CANCELLED' if event.cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
    ]
    if not event.cancelled:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape(event.summary)}",
            "TRIGGER:-PT2H",
            "END:VALARM",
        ]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode()


def file_name(booking_id: int) -> str:
    return f"zapis-{booking_id}.ics"
