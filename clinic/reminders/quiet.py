"""When a message may reach a patient: QUIET_HOURS, and reminders that come too late.
Pure functions of instants and the clinic's wall clock, tested with a fake clock.

In quiet hours (default 22:00-08:00, clinic time) only the answer to the patient's own
action (the confirmation, the notice of their own cancel or move), the 30-minute reminder
and a clinic cancellation of a visit less than 12 hours away reach a patient; everything
else waits for the morning. A 24-hour or 6-hour reminder that would fall inside is planned
for the evening before, just before quiet hours begin, and dropped when it would then come
within 3 hours of another message about the booking. A reminder whose next one is already
due (after downtime) is dropped rather than sent late. Staff notices are not held: in quiet
hours they arrive without a sound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from clinic.reminders.models import Quiet

OFFSETS = {"24h": timedelta(hours=24), "6h": timedelta(hours=6), "30m": timedelta(minutes=30)}
# Each reminder is overtaken once the next one is due.
NEXT = {"24h": "6h", "6h": "30m"}
TOO_CLOSE = timedelta(hours=3)  # a moved reminder this close to another message is dropped
URGENT_CANCEL = timedelta(hours=12)  # a clinic cancellation this close is sent at night
ANYTIME = frozenset({"confirmation", "cancelled", "moved", "30m"})
STAFF = frozenset({"staff_new_booking", "staff_cancelled", "staff_moved"})
QUIET_HOURS = "quiet hours"  # why a held message was put back


def plan(starts_at: datetime, now: datetime, quiet: Quiet | None) -> list[tuple[str, datetime]]:
    """The 24 h, 6 h and 30 min reminders of a visit still ahead of `now` (a confirmation
    or a notice goes out now), in due order, moved out of quiet hours as the rules say."""
    kept: list[tuple[str, datetime]] = []
    others = [now]  # the confirmation (or the notice of a move) goes out now
    for kind, offset in OFFSETS.items():
        due = starts_at.astimezone(UTC) - offset  # real hours, whatever DST does
        moved = quiet is not None and kind not in ANYTIME and quiet.inside(due)
        if moved and quiet is not None:
            due = quiet.evening_before(due)
            if any(abs(due - other) < TOO_CLOSE for other in others):
                continue
        if due <= now:  # past already: a visit booked 2 hours ahead gets its 30 min one only
            continue
        kept.append((kind, due))
        others.append(due)
    kept.sort(key=lambda item: item[1])
    return kept


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a claimed message now: send it (silently?), hold it, or drop it."""

    action: str  # "send", "hold" or "drop"
    until: datetime | None = None  # hold: due again then
    silent: bool = False
    reason: str | None = None


SEND = Verdict("send")


def verdict(kind: str, *, starts_at: datetime, now: datetime, quiet: Quiet | None) -> Verdict:
    """The rules above, for one message at the moment of sending."""
    if kind in NEXT and now >= starts_at.astimezone(UTC) - OFFSETS[NEXT[kind]]:
        return Verdict("drop", reason=f"overtaken by the {NEXT[kind]} reminder")
    if quiet is None or not quiet.inside(now):
        return SEND
    if kind in STAFF:
        return Verdict("send", silent=True)
    if kind in ANYTIME:
        return SEND
    if kind == "cancelled_by_clinic" and starts_at.astimezone(UTC) - now < URGENT_CANCEL:
        return SEND
    return Verdict("hold", until=quiet.ends_after(now), reason=QUIET_HOURS)
