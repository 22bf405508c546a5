"""Every connector's deliveries and polls through the platform, on SQLite and on PostgreSQL.

The per-connector contract suites check the connector against its sandbox; this one takes each
suite's signed delivery and poll world and runs them through Tradewire's real receiver
(``WebhookIngest``) and polling service on a real database: each event is stored exactly once,
a redelivery is a duplicate, a poll stores each record once and keeps its cursor, and a second
poll over the same records stores nothing new.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from tradewire.connectors import KNOWN_SYSTEMS
from tradewire.connectors.base.contract import ConnectorContract, PollWorld
from tradewire.connectors.base.spec import Connection, PollStream
from tradewire.errors import NotFound
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.port import Store
from tradewire.runtime.store.tables import messages
from tradewire.services.polling import PollingService
from tradewire.services.processes import build_ingest
from tradewire.settings import Settings
from tradewire.tenancy.connections import ConnectionCache
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

SECRET_KEY = "connectors-on-stores-" + "k" * 40
CONTRACTS = {
    "shopify": ("test_shopify_contract", "TestShopifyContract"),
    "netsuite": ("test_netsuite_contract", "TestNetSuiteContract"),
    "amazon": ("test_amazon_contract", "TestAmazonContract"),
    "walmart": ("test_walmart_contract", "TestWalmartContract"),
    "businesscentral": ("test_businesscentral_contract", "TestBusinessCentralContract"),
    "loop": ("test_loop_contract", "TestLoopContract"),
    "shipstation": ("test_shipstation_contract", "TestShipStationContract"),
    "http": ("test_http_contract", "TestHttpContract"),
}


def contract(system: str) -> ConnectorContract:
    """The connector's contract suite (imported here, so pytest does not collect it twice)."""
    module_name, class_name = CONTRACTS[system]
    module = importlib.import_module(module_name)  # pytest puts tests/contract on sys.path
    suite: ConnectorContract = getattr(module, class_name)()
    return suite


def test_every_connector_has_a_contract_suite() -> None:
    assert set(CONTRACTS) == set(KNOWN_SYSTEMS)


def tenant(store: Store, connection: Connection) -> str:
    """A client owning ``connection`` (same id, settings and secrets), sealed as in production."""
    client = store.create_client(store.create_partner(f"Partner {uuid.uuid4().hex[:6]}"), "Retailer")
    store.create_connection(
        client,
        connection.system,
        connection.system,
        dict(connection.settings),
        SecretBox(SECRET_KEY).seal(dict(connection.secrets)),
        connection_id=connection.id,
    )
    return client


def stored_messages(store: Store, connection_id: str) -> int:
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        count = conn.execute(select(func.count()).where(messages.c.connection_id == connection_id)).scalar_one()
    return int(count)


@pytest.mark.parametrize("system", sorted(CONTRACTS))
def test_a_delivery_is_stored_once_and_its_redelivery_is_a_duplicate(system: str, db_url: str) -> None:
    suite = contract(system)
    delivery = suite.signed_delivery()
    if delivery is None:
        pytest.skip(f"{system} receives no webhooks")
    body, headers, connection = delivery
    query = suite.delivery_query()
    store = open_store(db_url)
    tenant(store, connection)
    settings = Settings(secret_key=SECRET_KEY, database={"url": db_url})

    async def scenario() -> list[Any]:
        ingest = build_ingest(settings, store)
        try:
            # The vendor's redelivery is the same bytes and headers (the suites check that its key is the same).
            return [await ingest.receive(system, connection.id, body, headers, query) for _ in range(3)]
        finally:
            await ingest.batcher.aclose()
            ingest.db.shutdown()

    try:
        first, *again = asyncio.run(scenario())
        assert first.status == "stored", f"{system}: {first}"
        assert [a.status for a in again] == ["duplicate"] * len(again)
        events = len(suite.spec.webhooks.split(body)) if suite.spec.webhooks else 1
        assert stored_messages(store, connection.id) == events, "each event of the delivery is one message"
    finally:
        store.close()


@pytest.mark.parametrize("system", sorted(CONTRACTS))
def test_a_poll_stores_each_record_once_and_keeps_its_cursor(system: str, db_url: str) -> None:
    suite = contract(system)
    worlds = suite.poll_worlds()
    if not worlds:
        pytest.skip(f"{system} polls nothing")
    for world in worlds:
        check_poll(system, only_stream(suite.spec.pollers, world), db_url)


def only_stream(pollers: tuple[PollStream, ...], world: PollWorld) -> PollWorld:
    """The world with every other stream of the connector switched off (``poll.<stream>.enabled``)."""
    poll = {stream.name: {"enabled": stream.name == world.stream} for stream in pollers}
    settings = {**world.connection.settings, "poll": poll}
    connection = dataclasses.replace(world.connection, id=f"{world.connection.id}-{world.stream}", settings=settings)
    return dataclasses.replace(world, connection=connection)


def check_poll(system: str, world: PollWorld, db_url: str) -> None:
    """Poll ``world`` twice through the polling service: each record stored once, the cursor kept."""
    store = open_store(db_url)
    client = tenant(store, world.connection)
    service = PollingService(
        store,
        DbExecutor(threads=1),
        ConnectionCache(store, SecretBox(SECRET_KEY), ttl=0.0),
        transport=world.transport,
    )

    async def poll() -> dict[str, int]:
        service._due.clear()
        return await service.tick()

    try:
        first = asyncio.run(poll())
        assert first["poll_failures"] == 0, f"{system}: the poll failed (see the log)"
        assert first["stored"] == world.records, f"{system}: {first}"
        assert stored_messages(store, world.connection.id) == world.records
        with client_scope(client):
            cursor = store.get_cursor(world.connection.id, world.stream)
        assert cursor, "the cursor is stored with the page"
        second = asyncio.run(poll())
        assert second["stored"] == 0, f"{system}: a second poll over the same records stored {second}"
        assert stored_messages(store, world.connection.id) == world.records
        with client_scope(client):
            assert (store.get_cursor(world.connection.id, world.stream) or "") >= cursor, "the cursor went back"
    finally:
        store.close()


@pytest.mark.parametrize("system", sorted(CONTRACTS))
def test_a_delivery_to_an_unknown_or_foreign_connection_is_refused_and_stores_nothing(
    system: str, sqlite_url: str
) -> None:
    suite = contract(system)
    delivery = suite.signed_delivery()
    if delivery is None:
        pytest.skip(f"{system} receives no webhooks")
    body, headers, connection = delivery
    store = open_store(sqlite_url)
    tenant(store, connection)
    other_system = "netsuite" if system != "netsuite" else "shopify"
    foreign = Connection(f"{connection.id}-other", connection.client_id, other_system, {}, {"x": "y"})
    tenant(store, foreign)
    settings = Settings(secret_key=SECRET_KEY, database={"url": sqlite_url})

    async def scenario() -> list[str]:
        ingest = build_ingest(settings, store)
        refusals: list[str] = []
        try:
            for connection_id in ("no-such-connection", foreign.id):
                try:
                    await ingest.receive(system, connection_id, body, headers, suite.delivery_query())
                except NotFound as exc:
                    refusals.append(str(exc))
            return refusals
        finally:
            await ingest.batcher.aclose()
            ingest.db.shutdown()

    try:
        refusals = asyncio.run(scenario())
        assert len(refusals) == 2, "both deliveries are refused as not found (404)"
        assert "no-such-connection" in refusals[0]
        assert stored_messages(store, connection.id) == 0
    finally:
        store.close()
