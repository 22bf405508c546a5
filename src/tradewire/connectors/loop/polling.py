"""The polling backstop: every return changed since the cursor, read from the Detailed Returns List.

Webhooks are the fast path; this stream catches what they miss (a receiver outage longer than
Loop's retries, a subscription deleted by mistake). Each poll reads ``[cursor − overlap, now]``
filtered on ``updated_at``, in windows of at most 120 days (Loop's limit), all states included.

The cursor is the end of the last window read completely (UTC, whole seconds, fixed width so it
sorts as text). It advances only with the last page of a window: Loop does not document the
list's order, so a crash in the middle of a window re-reads that window, and the idempotency keys
(the same as the webhooks': return id + trigger + ``edited_at``) make the re-read a no-op.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, PolledPage, PolledRecord
from tradewire.connectors.loop.client import LoopClient
from tradewire.connectors.loop.webhooks import return_event, trigger_of
from tradewire.errors import ConfigError, WebhookIgnored, WebhookRejected

STREAM = "returns"
EVERY_SECONDS = 300.0
CURSOR_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_cursor(moment: datetime) -> str:
    """``2026-11-23T11:00:00Z``: whole seconds, UTC, fixed width (sorts like the times it holds)."""
    return moment.astimezone(UTC).strftime(CURSOR_FORMAT)


def parse_cursor(cursor: str) -> datetime:
    """The time a stored cursor holds.

    Raises:
        ConfigError: the stored value is not one this poller wrote (reset the cursor).
    """
    try:
        return datetime.strptime(cursor, CURSOR_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ConfigError(f"Loop returns cursor {cursor[:40]!r} is not a UTC time like 2026-11-23T11:00:00Z") from None


def _floor_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


class ReturnsPoller:
    """An incremental reader of Loop returns for one connection (``Poller``)."""

    def __init__(self, client: LoopClient, connection: Connection) -> None:
        self.client = client
        self.connection = connection

    def _record(self, raw: dict[str, Any], now: datetime) -> PolledRecord | None:
        body = json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        payload = {**raw, "topic": "return", "trigger": None}
        try:
            event = return_event(payload, body, self.connection, trigger=trigger_of(payload), now=now)
        except (WebhookRejected, WebhookIgnored):
            return None  # a list entry without an id cannot be acted on; the details endpoint never returns one
        return PolledRecord(event=event, body=body)

    async def pages(self, cursor: str | None, *, now: datetime) -> AsyncIterator[PolledPage]:
        """Pages of returns changed since ``cursor`` (None: the configured look-back).

        Raises:
            ConfigError: the stored cursor is unreadable.
            LoopError: as :meth:`LoopClient.list_return_pages`.
        """
        settings = self.client.settings
        end_all = _floor_second(now)
        if cursor is None:
            high = _floor_second(now - timedelta(hours=settings.poll_initial_lookback_hours))
            start = high
        else:
            high = parse_cursor(cursor)
            start = high - timedelta(seconds=settings.poll_overlap_seconds)
        window = timedelta(days=settings.max_range_days)
        while start < end_all:
            end = min(start + window, end_all)
            pending: list[PolledRecord] | None = None
            async for raw_page in self.client.list_return_pages(
                start, end, filter_on=settings.poll_filter, states=settings.poll_states
            ):
                if pending is not None:
                    yield PolledPage(pending, None)
                pending = [record for raw in raw_page if (record := self._record(raw, now)) is not None]
            high = max(high, end)
            yield PolledPage(pending or [], format_cursor(high))
            start = end

    async def aclose(self) -> None:
        """Release connections."""
        await self.client.aclose()


def open_returns_poller(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> ReturnsPoller:
    """``PollStream.open`` for the ``returns`` stream.

    Raises:
        ConfigError: the connection's settings or secrets are invalid.
    """
    return ReturnsPoller(LoopClient.from_connection(connection, budget, transport), connection)
