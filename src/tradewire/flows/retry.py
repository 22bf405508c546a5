"""The retry policy: data plus one pure function, tested without a queue."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from tradewire.errors import PermanentError, RetryableError


@dataclass(frozen=True)
class Decision:
    """Retry at ``retry_at``, or give up (``retry_at`` None) for ``reason``."""

    retry_at: datetime | None
    reason: str

    @property
    def give_up(self) -> bool:
        """True when the run should go to the dead letters."""
        return self.retry_at is None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, a cap, a total window and an attempt limit.

    ``Retry-After`` from the vendor wins over the backoff; permanent errors never retry.
    Errors that are neither retryable nor permanent (bugs, surprises) are retried like
    retryable ones, because a deploy may fix them; the window bounds the damage.
    """

    base_seconds: float = 1.0
    cap_seconds: float = 900.0
    window_seconds: float = 72 * 3600.0
    max_attempts: int = 50

    def decide(
        self,
        error: BaseException,
        failures: int,
        first_attempt_at: datetime,
        now: datetime,
        rng: random.Random | None = None,
    ) -> Decision:
        """What to do after the ``failures``-th failure (1 for the first).

        Args:
            error: what went wrong.
            failures: failures so far, this one included.
            first_attempt_at: when the run first started (the window counts from here).
            now: the current time.
            rng: randomness for the jitter (seed it in tests).
        """
        if isinstance(error, PermanentError):
            return Decision(None, f"permanent error: {error}")
        if failures >= self.max_attempts:
            return Decision(None, f"gave up after {failures} attempts: {error}")
        retry_after = error.retry_after if isinstance(error, RetryableError) else None
        if retry_after is not None:
            delay = max(retry_after, 0.0)
        else:
            ceiling = min(self.cap_seconds, self.base_seconds * (2 ** min(failures - 1, 62)))
            delay = (rng or random).uniform(0.0, ceiling)
        retry_at = now + timedelta(seconds=delay)
        if (retry_at - first_attempt_at).total_seconds() > self.window_seconds:
            hours = self.window_seconds / 3600
            return Decision(None, f"gave up: still failing after the {hours:g} h retry window: {error}")
        return Decision(retry_at, f"retry {failures} in {delay:.1f}s: {error}")
