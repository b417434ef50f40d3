"""Pure rules of the dispatcher: Telegram's pace, and what each Bot API error means."""

from __future__ import annotations

import random
from dataclasses import dataclass

from clinic.reminders.models import Outcome
from clinic.telegram.botapi import BadRequest, Forbidden, RateLimited


@dataclass(frozen=True, slots=True)
class Pace:
    """Telegram's limits for the whole bot, shared by every replica through PostgreSQL.

    `rate` messages a second in all (0: no limits at all, for benchmarks), and one
    message per `chat_interval` seconds to any one chat. The bucket holds `burst` tokens
    (a fifth of a second's worth), so no second ever sees much more than `rate`.
    """

    rate: float = 25.0
    chat_interval: float = 1.0

    @property
    def limited(self) -> bool:
        return self.rate > 0

    @property
    def burst(self) -> float:
        return max(1.0, self.rate / 5) if self.limited else 0.0

    @property
    def tick(self) -> float:
        """Seconds the bucket takes to refill a burst: how long a throttled claim waits."""
        return self.burst / self.rate if self.limited else 0.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter for network and server errors, then give up."""

    max_attempts: int = 8
    backoff: float = 3.0  # seconds before the second attempt, at most
    max_backoff: float = 600.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds before the next attempt after `attempts` failed ones: half of the
        doubled backoff, plus a random share of the other half."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** max(0, attempts - 1))
        return ceiling / 2 + rng.random() * ceiling / 2


def outcome_of(
    error: BaseException, *, attempts: int, policy: RetryPolicy, rng: random.Random
) -> Outcome:
    """What a failed send means for its row; `attempts` counts this one."""
    description = str(error) or type(error).__name__
    if isinstance(error, RateLimited):
        # Telegram says when: not a failure of the message, so the attempt is given back.
        return Outcome(
            "pending", delay=error.retry_after, refund=1, error=description, rate_limited=True
        )
    if isinstance(error, Forbidden):
        return Outcome("failed", error=description, blocked=True)
    if isinstance(error, BadRequest):
        return Outcome("failed", error=description)
    if attempts >= policy.max_attempts:
        return Outcome("failed", error=description)
    return Outcome("pending", delay=policy.delay(attempts, rng), error=description)
