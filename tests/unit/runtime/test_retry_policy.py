"""The retry policy is a pure function: backoff, jitter, cap, window, Retry-After, permanence."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from tradewire.errors import PermanentError, RetryableError, VendorRateLimited, VendorRejected
from tradewire.flows.retry import RetryPolicy

T0 = datetime(2026, 11, 23, tzinfo=UTC)
POLICY = RetryPolicy(base_seconds=1.0, cap_seconds=60.0, window_seconds=3600.0, max_attempts=10)


def test_permanent_errors_never_retry() -> None:
    for error in (PermanentError("bad data"), VendorRejected("400 from NetSuite", status=400)):
        decision = POLICY.decide(error, 1, T0, T0)
        assert decision.give_up
        assert "permanent" in decision.reason


def test_backoff_grows_exponentially_with_full_jitter_under_the_cap() -> None:
    rng = random.Random(7)
    for failures, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (9, 60.0)):
        delays = [
            (POLICY.decide(RetryableError("503"), failures, T0, T0, rng).retry_at - T0).total_seconds()  # type: ignore[operator]
            for _ in range(200)
        ]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # full jitter spreads over the whole range
        assert min(delays) < ceiling * 0.2


def test_retry_after_wins_over_backoff() -> None:
    decision = POLICY.decide(VendorRateLimited("429", retry_after=17.0), 1, T0, T0)
    assert decision.retry_at == T0 + timedelta(seconds=17)


def test_gives_up_after_max_attempts() -> None:
    decision = POLICY.decide(RetryableError("503"), 10, T0, T0)
    assert decision.give_up
    assert "10 attempts" in decision.reason


def test_gives_up_when_the_window_is_spent() -> None:
    late = T0 + timedelta(seconds=3590)
    decision = POLICY.decide(VendorRateLimited("429", retry_after=30.0), 2, T0, late)
    assert decision.give_up
    assert "window" in decision.reason


def test_unknown_errors_are_retried_like_retryable_ones() -> None:
    decision = POLICY.decide(KeyError("surprise"), 1, T0, T0, random.Random(1))
    assert not decision.give_up


def test_huge_failure_counts_do_not_overflow() -> None:
    policy = RetryPolicy(max_attempts=10_000, window_seconds=1e12)
    decision = policy.decide(RetryableError("503"), 5000, T0, T0, random.Random(1))
    assert decision.retry_at is not None
    assert decision.retry_at - T0 <= timedelta(seconds=policy.cap_seconds)
