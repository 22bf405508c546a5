"""The returns polling backstop: look-back, overlap, 120-day windows, monotonic cursor, restart."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from loop_helpers import connection

from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.spec import PolledPage
from tradewire.connectors.loop import SPEC
from tradewire.connectors.loop.client import LoopClient
from tradewire.connectors.loop.polling import ReturnsPoller, format_cursor, open_returns_poller, parse_cursor
from tradewire.connectors.loop.settings import LoopSecrets, LoopSettings
from tradewire.connectors.loop.webhooks import LoopWebhooks
from tradewire.errors import ConfigError

MakeApp = Callable[..., Any]


def poll(app_or_transport: Any, cursor: str | None, now: datetime, **settings: Any) -> list[PolledPage]:
    transport = (
        app_or_transport
        if isinstance(app_or_transport, httpx.AsyncBaseTransport)
        else httpx.ASGITransport(app_or_transport)
    )
    poller = open_returns_poller(connection(**settings), UnlimitedBudget(), transport)

    async def go() -> list[PolledPage]:
        try:
            return [page async for page in poller.pages(cursor, now=now)]
        finally:
            await poller.aclose()

    return asyncio.run(go())


def test_spec_declares_the_returns_stream() -> None:
    (stream,) = SPEC.pollers
    assert (stream.name, stream.every_seconds) == ("returns", 300.0)


def test_first_poll_reads_the_look_back_and_ends_with_the_cursor(make_app: MakeApp) -> None:
    app = make_app()
    seeded = {str(r["id"]) for r in app.state.loop.create_returns(7)}
    now = datetime.now(UTC) + timedelta(seconds=2)
    pages = poll(app, None, now, page_size=3)
    assert [len(p.records) for p in pages] == [3, 3, 1]
    assert [p.cursor for p in pages] == [None, None, format_cursor(now)]
    assert {r.event.external_id for p in pages for r in p.records} == seeded
    record = pages[0].records[0]
    assert json.loads(record.body)["id"] == int(record.event.external_id)
    assert record.event.event_type == "return.created"


def test_next_poll_resumes_from_the_cursor_with_overlap(make_app: MakeApp) -> None:
    app = make_app()
    loop = app.state.loop
    rs = loop.create_returns(3)
    first_now = datetime.now(UTC)
    cursor = poll(app, None, first_now)[-1].cursor
    loop.update_return(rs[0]["id"], {"note": "changed"})
    loop.process(rs[1]["id"])
    pages = poll(app, cursor, first_now + timedelta(seconds=30), poll_overlap_seconds=0)
    changed = {(r.event.external_id, r.event.event_type) for p in pages for r in p.records}
    # Overlap 0 still re-reads the cursor's own second (whole-second 'to'): dedupe handles it.
    assert {(str(rs[0]["id"]), "return.updated"), (str(rs[1]["id"]), "return.closed")} <= changed
    assert pages[-1].cursor is not None
    assert cursor is not None
    assert pages[-1].cursor > cursor


def test_polled_changes_share_keys_with_their_webhooks(make_app: MakeApp) -> None:
    app = make_app()
    loop = app.state.loop
    rid = loop.create_returns(1)[0]["id"]
    loop.update_return(rid, {"note": "x"})
    polled = poll(app, None, datetime.now(UTC) + timedelta(seconds=1))[-1].records[0]
    body = json.dumps({"topic": "return", "trigger": "return.updated", **loop.get_return(rid)}).encode()
    hooked = LoopWebhooks().parse(body, {}, connection(), now=datetime.now(UTC))
    assert polled.event.idempotency_key == hooked.idempotency_key
    assert polled.event.ordering_key == hooked.ordering_key


def test_long_look_backs_are_split_into_120_day_windows() -> None:
    asked: list[tuple[datetime, datetime]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        start = datetime.fromisoformat(params["from"]).replace(tzinfo=UTC)
        end = datetime.fromisoformat(params["to"]).replace(tzinfo=UTC)
        assert end - start <= timedelta(days=120)
        assert params["filter"] == "updated_at"
        assert "cancelled" in params["state"]
        asked.append((start, end))
        return httpx.Response(200, json={"returns": [], "nextPageUrl": None})

    now = datetime(2026, 11, 23, 12, 0, 0, 500_000, tzinfo=UTC)
    pages = poll(httpx.MockTransport(answer), None, now, poll_initial_lookback_hours=300 * 24)
    assert len(asked) == 3
    assert asked[0][0] == datetime(2026, 1, 27, 12, 0, tzinfo=UTC)
    assert asked[-1][1] == now.replace(microsecond=0)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(asked))
    cursors = [p.cursor for p in pages]
    assert cursors == sorted(cursors)
    assert cursors[-1] == "2026-11-23T12:00:00Z"


def test_a_crash_mid_window_rereads_the_window(make_app: MakeApp) -> None:
    app = make_app()
    app.state.loop.create_returns(5)
    now = datetime.now(UTC) + timedelta(seconds=1)
    pages = poll(app, format_cursor(now - timedelta(hours=1)), now, page_size=2)
    # Only the last page of a window moves the cursor, so a crash before it leaves the old one.
    assert [p.cursor for p in pages] == [None, None, format_cursor(now)]


def test_cursor_never_moves_back_when_the_clock_is_behind(make_app: MakeApp) -> None:
    app = make_app()
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    ahead = format_cursor(now + timedelta(hours=1))
    assert poll(app, ahead, now, poll_overlap_seconds=0) == []


def test_an_unreadable_cursor_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a UTC time"):
        parse_cursor("page-7")
    assert parse_cursor(format_cursor(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))) == datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=UTC
    )


def test_list_entries_without_an_id_are_skipped() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"returns": [{"state": "open"}, {"id": 7, "state": "open"}], "nextPageUrl": None}
        )

    client = LoopClient(
        LoopSettings(), LoopSecrets(api_key="k", webhook_secret="s"), transport=httpx.MockTransport(answer)
    )
    poller = ReturnsPoller(client, connection())

    async def go() -> list[PolledPage]:
        return [p async for p in poller.pages(None, now=datetime(2026, 11, 23, tzinfo=UTC))]

    pages = asyncio.run(go())
    assert [r.event.external_id for r in pages[0].records] == ["7"]
