"""The generated contract suite every connector passes against its own sandbox.

A connector's test module subclasses :class:`ConnectorContract` and fills in the hooks;
pytest then collects the inherited ``test_*`` methods (the singer-sdk ``get_tap_test_class``
idea, without a class factory). Hooks that a connector cannot support return ``None`` and the
matching check is skipped with a reason.

Checks: pagination reads every seeded record once; the polling cursor never goes backwards;
mapping survives a round trip; 429 becomes a retryable error carrying ``Retry-After``; 5xx is
retryable; other 4xx are permanent; bad credentials are an auth error; a signed webhook
verifies, a tampered or unsigned one is refused with 401, and a redelivery has the same
idempotency key.
"""

from __future__ import annotations

import asyncio
import unittest
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

import httpx
import pytest

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.spec import Connection, ConnectorSpec
from tradewire.errors import AuthError, PermanentError, RetryableError, VendorRateLimited, WebhookRejected

Call = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class PollWorld:
    """What a store-backed poll check needs: the connection, the sandbox's transport, what to expect."""

    connection: Connection
    transport: httpx.AsyncBaseTransport
    stream: str
    records: int
    """How many records the first poll must store (each once)."""


class ConnectorContract:
    """Base of each connector's contract test class. Hooks raise ``NotImplementedError`` by default."""

    spec: ConnectorSpec

    # --- hooks --------------------------------------------------------------------------------

    async def seed_and_read_all(self, count: int) -> tuple[set[str], list[str]] | None:
        """Create ``count`` records in a fresh sandbox, then read them back page by page (small pages).

        Returns the seeded ids and the ids read, in order, or None if the connector reads nothing.
        """
        raise NotImplementedError

    async def cursor_values(self) -> list[str] | None:
        """Poll a fresh, seeded sandbox to the end; return each cursor value in order, or None."""
        return None

    def mapping_round_trips(self) -> list[tuple[object, object]]:
        """Pairs (expected, got) after a vendor → canonical → vendor (or canonical → vendor → canonical) trip."""
        raise NotImplementedError

    def call_with_knobs(self, knobs: FaultKnobs) -> Call:
        """A cheap vendor call against a fresh sandbox configured with ``knobs``."""
        raise NotImplementedError

    def call_rejected(self) -> Call:
        """A call the sandbox refuses with a 4xx other than 401/403/429 (e.g. an invalid body)."""
        raise NotImplementedError

    def call_with_bad_credentials(self) -> Call:
        """A call whose credentials the sandbox refuses."""
        raise NotImplementedError

    def signed_delivery(self) -> tuple[bytes, dict[str, str], Connection] | None:
        """One webhook delivery exactly as the sandbox signs it, or None without webhooks."""
        return None

    def redelivery(self) -> tuple[dict[str, str], dict[str, str]] | None:
        """Headers of the same event delivered twice by the sandbox, or None."""
        return None

    def delivery_query(self) -> dict[str, str]:
        """The query string the vendor's deliveries carry (ShipStation's secret token), usually none."""
        return {}

    def poll_world(self) -> PollWorld | None:
        """A fresh sandbox with records to poll, the connection to it and the transport reaching it.

        ``tests/contract/test_connectors_on_stores.py`` polls it through the platform's polling
        service on SQLite and PostgreSQL. None when the connector polls nothing.
        """
        return None

    def poll_worlds(self) -> list[PollWorld]:
        """One poll world per stream to check (default: :meth:`poll_world`, if any).

        Each is polled with the connector's other streams switched off, so it counts only its own.
        """
        world = self.poll_world()
        return [world] if world is not None else []

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def run(call: Call) -> object:
        """Run one coroutine call to completion."""
        return asyncio.run(call())  # type: ignore[arg-type]

    # --- checks -------------------------------------------------------------------------------

    def test_pagination_reads_every_record_once(self) -> None:
        result = asyncio.run(self.seed_and_read_all(7))
        if result is None:
            _not_applicable("the connector reads no paginated records")
        seeded, read = result
        assert len(read) == len(set(read)), f"pagination returned duplicates: {read}"
        assert seeded <= set(read), f"pagination missed {sorted(seeded - set(read))}"

    def test_cursor_is_monotonic(self) -> None:
        values = asyncio.run(self._cursor())
        if not values:
            _not_applicable("the connector has no polling cursor")
        assert values == sorted(values), f"cursor went backwards: {values}"

    async def _cursor(self) -> list[str] | None:
        return await self.cursor_values()

    def test_mapping_round_trip(self) -> None:
        pairs = self.mapping_round_trips()
        assert pairs, "a connector must show at least one mapping round trip"
        for expected, got in pairs:
            assert got == expected

    def test_429_is_retryable_with_retry_after(self) -> None:
        call = self.call_with_knobs(FaultKnobs(rate_limit_after=0, retry_after_seconds=7))
        with pytest.raises(VendorRateLimited) as caught:
            self.run(call)
        assert caught.value.retry_after is not None
        assert 6.0 <= caught.value.retry_after <= 8.0

    def test_5xx_is_retryable(self) -> None:
        call = self.call_with_knobs(FaultKnobs(fail_rate=1.0))
        with pytest.raises(RetryableError):
            self.run(call)

    def test_4xx_is_permanent(self) -> None:
        with pytest.raises(PermanentError) as caught:
            self.run(self.call_rejected())
        assert not isinstance(caught.value, RetryableError)

    def test_bad_credentials_are_an_auth_error(self) -> None:
        with pytest.raises(AuthError):
            self.run(self.call_with_bad_credentials())

    def test_signed_webhook_verifies_and_tampering_is_refused(self) -> None:
        delivery = self.signed_delivery()
        if delivery is None:
            _not_applicable("the connector receives no webhooks")
        body, headers, connection = delivery
        assert self.spec.webhooks is not None
        now = datetime.now(UTC)
        self.spec.webhooks.verify(body, headers, connection, now=now)
        event = self.spec.webhooks.parse(body, headers, connection, now=now)
        assert event.idempotency_key
        tampered = body.replace(b"1", b"2", 1) if b"1" in body else body + b" "
        for bad_body, bad_headers in (
            (tampered, headers),
            (body, _without_signature(headers)),
        ):
            with pytest.raises(WebhookRejected) as caught:
                self.spec.webhooks.verify(bad_body, bad_headers, connection, now=now)
            assert caught.value.status == 401

    def test_redelivery_has_the_same_idempotency_key(self) -> None:
        pair = self.redelivery()
        delivery = self.signed_delivery()
        if pair is None or delivery is None:
            _not_applicable("the connector receives no webhooks")
        body, _, connection = delivery
        assert self.spec.webhooks is not None
        now = datetime.now(UTC)
        first = self.spec.webhooks.parse(body, pair[0], connection, now=now)
        second = self.spec.webhooks.parse(body, pair[1], connection, now=now)
        assert first.idempotency_key == second.idempotency_key


def _not_applicable(reason: str) -> NoReturn:
    """Skip the running check with ``reason`` (pytest reports ``unittest.SkipTest`` as a skip)."""
    raise unittest.SkipTest(reason)


def _without_signature(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if "hmac" not in k.lower() and "signature" not in k.lower()}
