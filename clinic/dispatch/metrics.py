"""The dispatcher's counters, as plain numbers; /metrics reads them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from clinic.reminders.models import RELEASED, SENT, Outcome
from clinic.reminders.quiet import QUIET_HOURS


@dataclass(slots=True)
class DispatchMetrics:
    sent: int = 0  # delivered and marked sent
    failed: int = 0  # given up: 400, 403, or out of attempts
    retried: int = 0  # back to pending after a network or server error
    rate_limited: int = 0  # answered 429 and put back for retry_after
    blocked: int = 0  # 403: users who blocked the bot
    skipped: int = 0  # claimed rows of cancelled or begun bookings, or overtaken: not sent
    held: int = 0  # put back until quiet hours end
    released: int = 0  # leases given back unsent when stopping
    lost_leases: int = 0  # settled too late: the lease lapsed, or the booking was cancelled
    claimed_batches: int = 0
    claimed: int = 0
    oldest_due_age: float = 0.0  # seconds the oldest due row had waited, last look

    def record(self, outcome: Outcome, *, settled: bool) -> None:
        """Counts one settled send (or one whose lease was no longer ours)."""
        if not settled:
            self.lost_leases += 1
        elif outcome is SENT:
            self.sent += 1
        elif outcome is RELEASED:
            self.released += 1
        elif outcome.status == "cancelled":
            self.skipped += 1
        elif outcome.error == QUIET_HOURS:
            self.held += 1
        elif outcome.status == "failed":
            self.failed += 1
            self.blocked += outcome.blocked
        elif outcome.rate_limited:
            self.rate_limited += 1
        else:
            self.retried += 1

    def snapshot(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}
