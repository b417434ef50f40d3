"""The dispatcher's pure rules: pace, backoff, and what each Bot API error means."""

from __future__ import annotations

import random

import pytest

from clinic.dispatch.policy import Pace, RetryPolicy, outcome_of
from clinic.telegram.botapi import (
    BadRequest,
    BotApiError,
    Forbidden,
    RateLimited,
    ServerError,
    TransportError,
)


def test_the_pace_holds_a_fifth_of_a_second_of_tokens() -> None:
    assert (Pace(rate=25).burst, Pace(rate=25).tick) == (5.0, 0.2)
    assert Pace(rate=2).burst == 1.0  # never less than one message
    off = Pace(rate=0)
    assert not off.limited and (off.burst, off.tick) == (0.0, 0.0)


def test_backoff_doubles_with_jitter_up_to_a_ceiling() -> None:
    policy = RetryPolicy(backoff=3.0, max_backoff=60.0)
    rng = random.Random(7)
    for attempts, ceiling in [(1, 3.0), (2, 6.0), (3, 12.0), (5, 48.0), (6, 60.0), (20, 60.0)]:
        delays = [policy.delay(attempts, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), attempts
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not fixed


@pytest.mark.parametrize(
    ("error", "status", "refund", "blocked", "rate_limited"),
    [
        (RateLimited("sendMessage", 429, "Too Many Requests", retry_after=7), "pending", 1, 0, 1),
        (Forbidden("sendMessage", 403, "Forbidden: bot was blocked"), "failed", 0, 1, 0),
        (BadRequest("sendMessage", 400, "Bad Request: chat not found"), "failed", 0, 0, 0),
        (ServerError("sendMessage", 502, "Bad Gateway"), "pending", 0, 0, 0),
        (TransportError("sendMessage", None, "no answer within 10 s"), "pending", 0, 0, 0),
        (BotApiError("sendMessage", 401, "Unauthorized"), "pending", 0, 0, 0),
        (TimeoutError(), "pending", 0, 0, 0),
    ],
)
def test_what_an_error_means(
    error: BaseException, status: str, refund: int, blocked: int, rate_limited: int
) -> None:
    outcome = outcome_of(error, attempts=1, policy=RetryPolicy(), rng=random.Random(1))
    assert (outcome.status, outcome.refund, outcome.blocked, outcome.rate_limited) == (
        status,
        refund,
        bool(blocked),
        bool(rate_limited),
    )
    assert outcome.error
    if isinstance(error, RateLimited):
        assert outcome.delay == 7


def test_retryable_errors_fail_on_the_last_attempt_but_a_429_never_does() -> None:
    policy, rng = RetryPolicy(max_attempts=8), random.Random(1)
    server = ServerError("sendMessage", 500, "Internal Server Error")
    assert outcome_of(server, attempts=7, policy=policy, rng=rng).status == "pending"
    assert outcome_of(server, attempts=8, policy=policy, rng=rng).status == "failed"
    flood = RateLimited("sendMessage", 429, "Too Many Requests", retry_after=1)
    assert outcome_of(flood, attempts=50, policy=policy, rng=rng).status == "pending"
