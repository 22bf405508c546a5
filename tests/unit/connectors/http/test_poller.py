"""Pollers from the definition: incremental cursor with an overlap window, resumable after a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from http_support import ALLOW, connection, sandbox

from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.spec import PolledPage
from tradewire.connectors.http import SPEC
from tradewire.connectors.http.client import HttpClient
from tradewire.connectors.http.loader import load_definition
from tradewire.connectors.http.poller import DeclarativePoller, format_cursor, open_poller, poll_streams
from tradewire.errors import ConfigError, MappingError


def poller(app: Any, name: str = "members") -> DeclarativePoller:
    http = HttpClient.from_connection(connection(), transport=httpx.ASGITransport(app), allow=ALLOW)
    spec = next(p for p in http.definition.pollers if p.name == name)
    return DeclarativePoller(http, spec)


async def poll(p: DeclarativePoller, cursor: str | None, now: datetime | None = None) -> list[PolledPage]:
    return [page async for page in p.pages(cursor, now=now or datetime.now(UTC))]


def test_first_poll_reads_the_lookback_and_the_cursor_only_grows() -> None:
    app = sandbox()
    store = app.state.loyalty
    store.create_members(7)
    p = poller(app)
    pages = asyncio.run(poll(p, None))
    cursors = [page.cursor for page in pages]
    assert cursors == sorted(cursors)
    ids = [record.event.external_id for page in pages for record in page.records]
    assert sorted(ids) == sorted(store.members)
    last = max(m["updated_at"] for m in store.members.values())
    assert cursors[-1] == format_cursor(datetime.fromisoformat(last.replace("Z", "+00:00")))


def test_events_carry_stable_keys_for_deduplication_and_ordering() -> None:
    app = sandbox()
    member = app.state.loyalty.create_members(1)[0]
    first = asyncio.run(poll(poller(app), None))[0].records[0]
    again = asyncio.run(poll(poller(app), None))[0].records[0]
    assert first.event.idempotency_key == again.event.idempotency_key
    assert first.event.event_type == "customer.updated"
    assert first.event.ordering_key == f"http:loyalty-crm:member:{member['id']}"
    assert b'"points_balance"' in first.body
    app.state.loyalty.update_member(member["id"], phone="+15550000000")
    changed = asyncio.run(poll(poller(app), None))[0].records[0]
    assert changed.event.idempotency_key != first.event.idempotency_key
    assert changed.event.ordering_seq > first.event.ordering_seq


def test_a_restart_resumes_from_the_stored_cursor_with_the_overlap() -> None:
    app = sandbox()
    store = app.state.loyalty
    store.create_members(3)
    pages = asyncio.run(poll(poller(app), None))
    cursor = pages[-1].cursor
    store.create_members(2)
    resumed = asyncio.run(poll(poller(app), cursor))
    ids = {record.event.external_id for page in resumed for record in page.records}
    newest = sorted(store.members)[-2:]
    assert set(newest) <= ids  # nothing new is missed
    assert all(page.cursor is not None and page.cursor >= str(cursor) for page in resumed)


def test_records_older_than_the_overlap_are_not_read_again() -> None:
    app = sandbox()
    store = app.state.loyalty
    old = store.create_members(1)[0]
    future = datetime.now(UTC) + timedelta(hours=1)
    pages = asyncio.run(poll(poller(app), format_cursor(future)))
    ids = {record.event.external_id for page in pages for record in page.records}
    assert old["id"] not in ids
    assert pages[-1].cursor == format_cursor(future)  # an empty poll keeps the cursor


def test_a_record_without_a_change_time_stops_the_poll_with_a_reason() -> None:
    app = sandbox()
    member = app.state.loyalty.create_members(1)[0]
    app.state.loyalty.members[member["id"]]["updated_at"] = "garbage"
    with pytest.raises(MappingError, match="change time"):
        asyncio.run(poll(poller(app), None, now=datetime(2000, 1, 1, tzinfo=UTC)))


def test_an_unreadable_stored_cursor_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a time"):
        asyncio.run(poll(poller(sandbox()), "yesterday"))


def test_spec_poll_stream_opens_the_connections_poller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWIRE_EGRESS_ALLOW", "127.0.0.1:8400")
    app = sandbox()
    app.state.loyalty.create_transactions(2)
    (stream,) = SPEC.pollers
    opened = stream.open(connection(), UnlimitedBudget(), httpx.ASGITransport(app))
    assert isinstance(opened, DeclarativePoller)
    assert opened.spec.name == "members"
    settings = {**connection().settings, "poller": "transactions"}
    chosen = stream.open(connection(settings=settings), UnlimitedBudget(), httpx.ASGITransport(app))
    assert isinstance(chosen, DeclarativePoller)
    pages = asyncio.run(poll(chosen, None))
    assert {r.event.object_type for page in pages for r in page.records} == {"order"}
    asyncio.run(chosen.aclose())
    with pytest.raises(ConfigError, match="no poller 'ghost'"):
        open_poller("ghost", connection(), UnlimitedBudget(), None)


def test_poll_streams_follow_the_definition() -> None:
    definition = load_definition(connection().settings["definition_path"])
    streams = poll_streams(definition)
    assert [(s.name, s.every_seconds) for s in streams] == [("members", 60.0), ("transactions", 120.0)]


def test_epoch_cursor_format_and_lookback() -> None:
    app = sandbox()
    p = poller(app)
    spec = p.spec.model_copy(update={"cursor": p.spec.cursor.model_copy(update={"format": "epoch_seconds"})})
    epoch = DeclarativePoller(p.client, spec)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert epoch._filter_value(now) == str(int(now.timestamp()))
    assert p._filter_value(now) == "2026-11-23T12:00:00Z"
    assert p._since(None, now) == now - timedelta(seconds=86400)
    assert p._since(format_cursor(now), now) == now - timedelta(seconds=120)
