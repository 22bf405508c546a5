"""Sandbox building blocks: options, Loop's refusal shape, the per-key rate bucket, time text."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

TOPIC_TRIGGERS: dict[str, tuple[str, ...]] = {
    "return": ("return.created", "return.updated", "return.closed"),
    "label": ("label.created", "label.updated"),
    "restock": ("restock.requested",),
    "return.processing": ("return.processing.failed",),
}
RETURNS_SCOPE = "Returns"
FLAGGED = {"message": "Return is open and therefore cannot be processed.", "code": "UNPROCESSABLE_FLAGGED_RETURN"}


class SandboxOptions(BaseModel):
    """How the sandbox account behaves beyond the fault knobs. [unverified] marks guesses."""

    rate_per_second: float = Field(default=10.0, gt=0, description="[unverified] Calls per second per API key.")
    rate_burst: float = Field(default=20.0, gt=0, description="[unverified] Burst per API key.")
    send_retry_after: bool = Field(default=True, description="[unverified] Whether a 429 carries Retry-After.")
    send_rate_headers: bool = Field(
        default=True, description="[unverified] X-RateLimit-Limit/-Remaining on answers (Laravel-style)."
    )
    max_range_days: int = Field(default=120, ge=1, description="Longest from/to range the list accepts.")
    default_page_size: int = Field(default=100, ge=1, description="pageSize when none is given.")
    max_page_size: int = Field(default=750, ge=1, description="Largest pageSize accepted.")
    processing_delay_seconds: float = Field(
        default=0.0,
        ge=0,
        description="How long Loop's queued processing takes: 0 does it within the call, more runs it on a timer.",
    )
    webhook_ids_as_strings: bool = Field(
        default=True, description="Webhook bodies carry ids as strings (the schema page), the API as integers."
    )
    escape_slashes: bool = Field(
        default=True, description="Write '/' as '\\/' in webhook bodies, as PHP's json_encode does (signed as sent)."
    )
    tax_rate: Decimal = Field(default=Decimal("0.08"), ge=0, description="Tax on generated line items.")
    garbage_rate: float = Field(default=0.0, ge=0, le=1, description="Answer 200 with an HTML or truncated body.")
    webhook_retry_delays: list[float] = Field(
        default=[0.5, 1.0, 2.0, 4.0], description="Seconds before each retry of a failed delivery."
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, description="Time the receiver has to answer 2xx.")
    out_of_order_delay_seconds: float = Field(default=0.5, ge=0, description="Hold-back of an out-of-order delivery.")
    duplicate_delay_seconds: float = Field(default=0.05, ge=0, description="Gap between a delivery and its duplicate.")
    webhook_concurrency: int = Field(default=16, ge=1, description="Most deliveries in flight at once.")
    first_return_id: int = Field(default=1001, ge=1, description="Id of the first return.")
    shop_id: int = Field(default=9876, ge=1, description="The shop's id in payloads.")


class SandboxActionError(ValueError):
    """An action Loop refuses: answered with ``status`` and ``{"errors": {"message", "code"}}``."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def body(self) -> dict[str, Any]:
        """Loop's error body."""
        return {"errors": {"message": self.message, "code": self.code}}


class TokenBucket:
    """``burst`` tokens refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._level, self._at = burst, clock()
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, float]:
        """Take one token; returns (taken, tokens left)."""
        with self._lock:
            now = self._clock()
            self._level = min(self.burst, self._level + (now - self._at) * self.rate)
            self._at = now
            if self._level < 1:
                return False, self._level
            self._level -= 1
            return True, self._level

    def wait_seconds(self) -> float:
        """Seconds until one token is back."""
        with self._lock:
            return max(0.0, (1 - self._level) / self.rate)


def iso_ms(moment: datetime) -> str:
    """``2026-11-23T11:00:00.123Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
