"""The bookings as a CSV file a spreadsheet opens: UTF-8 with a byte-order mark (so
Excel reads the Cyrillic right) and semicolons between fields (what Excel expects in a
Russian locale; LibreOffice and Google Sheets detect it). Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from clinic.staff.models import BookingWithPatient

HEADER = (
    "id",
    "date",
    "time",
    "doctor",
    "specialization",
    "patient",
    "phone",
    "telegram_id",
    "username",
    "source",
    "status",
    "attendance",
    "patient_confirmed",
    "cancelled_by",
    "cancel_reason",
    "created_at",
)


def bookings_csv(rows: Iterable[BookingWithPatient], tz: ZoneInfo) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        local = row.starts_at.astimezone(tz)
        writer.writerow(
            (
                row.id,
                f"{local:%Y-%m-%d}",
                f"{local:%H:%M}",
                row.doctor_name,
                row.specialization,
                _cell(row.patient_name_shown),
                row.phone or "",
                row.user_id or "",
                row.username or "",
                row.source,
                row.status,
                row.attendance or "",
                "yes" if row.patient_confirmed_at else "",
                row.cancelled_by or "",
                _cell(row.cancel_reason or ""),
                row.created_at.astimezone(tz).isoformat(timespec="seconds"),
            )
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(text: str) -> str:
    """A value from a person, kept from being read as a formula by a spreadsheet."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
