"""ORDER_CHANGE through Tradewire's real webhook receiver (memory store): stored once, secret never kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tradewire.connectors.amazon.sandbox import create_sandbox
from tradewire.errors import WebhookRejected
from tradewire.runtime.store.factory import open_store
from tradewire.services.processes import build_ingest
from tradewire.settings import Settings
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

SECRET_KEY = "amazon-unit-tests-" + "k" * 40
RELAY = "relay-" + "s" * 30
CREDS = {"client_id": "amzn1.application-oa2-client.i", "client_secret": "cs", "refresh_token": "Atzr|i"}


async def test_notifications_are_stored_once_and_the_relay_secret_is_not_kept() -> None:
    settings = Settings(secret_key=SECRET_KEY, database={"url": "memory://"})
    store = open_store("memory://")
    box = SecretBox(SECRET_KEY)
    client = store.create_client(store.create_partner("Partner"), "Retailer")
    connection_id = store.create_connection(
        client, "amazon", "Amazon", {"seller_id": "A3TH9S8BH6GOGM"}, box.seal({**CREDS, "relay_secret": RELAY})
    )
    app = create_sandbox(**CREDS)
    app.state.amazon.subscribe("http://tradewire.test/webhooks/amazon/x", RELAY)
    [order_id] = app.state.amazon.create_orders(1)
    app.state.amazon.cancel_order(order_id)
    first, cancelled = app.state.amazon.sender.log
    ingest = build_ingest(settings, store)
    try:
        stored = await ingest.receive("amazon", connection_id, first.body, first.headers)
        again = await ingest.receive("amazon", connection_id, first.body, first.headers)
        other = await ingest.receive("amazon", connection_id, cancelled.body, cancelled.headers)
        with pytest.raises(WebhookRejected) as refused:
            await ingest.receive(
                "amazon", connection_id, first.body, {**first.headers, "x-tradewire-relay-secret": "x"}
            )
    finally:
        await ingest.batcher.aclose()
        ingest.db.shutdown()
    assert (stored.status, again.status, other.status) == ("stored", "duplicate", "stored")
    assert refused.value.status == 401
    assert stored.message_id is not None
    with client_scope(client):
        message: Any = store.get_message(stored.message_id)
    assert message.topic == "order.updated"
    assert json.loads(message.body)["Payload"]["OrderChangeNotification"]["AmazonOrderId"] == order_id
    assert RELAY not in json.dumps(message.headers)
    assert other.run_ids  # the cancellation starts the cancel flow
