"""Loop deliveries through Tradewire's real receiver use case (``WebhookIngest``) on a SQLite file:
stored once, a redelivery is a duplicate, a poll of the same change is a duplicate too."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from loop_helpers import API_KEY, WEBHOOK_SECRET

from tradewire.connectors.base.auth import hmac_sha256_base64
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.loop import SPEC
from tradewire.errors import WebhookRejected
from tradewire.runtime.store.factory import open_store
from tradewire.services.ingest import inbound_item
from tradewire.services.processes import build_ingest
from tradewire.settings import Settings
from tradewire.tenancy.secrets import SecretBox

SECRET_KEY = "loop-unit-tests-" + "k" * 40


def test_webhooks_and_polls_are_stored_once(sqlite_url: str, make_app: Any) -> None:
    settings = Settings(secret_key=SECRET_KEY, database={"url": sqlite_url})
    store = open_store(sqlite_url, settings=settings.database)
    box = SecretBox(SECRET_KEY)
    partner = store.create_partner(f"Partner {uuid.uuid4().hex[:6]}")
    client = store.create_client(partner, f"Retailer {uuid.uuid4().hex[:6]}")
    connection_id = store.create_connection(
        client, "loop", "Loop (sandbox)", {"base_url": "http://loop.test/api/v1"},
        box.seal({"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}),
    )  # fmt: skip
    app = make_app()
    loop = app.state.loop
    record = loop.create_returns(1)[0]
    body = loop.webhook_body("return", "return.created", record["id"])
    headers = {"Content-Type": "application/json", "X-Loop-Signature": hmac_sha256_base64(WEBHOOK_SECRET, body)}
    ingest = build_ingest(settings, store)

    async def go() -> list[str]:
        try:
            statuses = [(await ingest.receive("loop", connection_id, body, headers)).status for _ in range(2)]
            with pytest.raises(WebhookRejected):
                await ingest.receive("loop", connection_id, body.replace(b"open", b"shut"), headers)
            gift = json.dumps({"topic": "giftcard", "trigger": "giftcard.requested", "id": 5}).encode()
            gift_headers = {"X-Loop-Signature": hmac_sha256_base64(WEBHOOK_SECRET, gift)}
            statuses.append((await ingest.receive("loop", connection_id, gift, gift_headers)).status)
            # The polling backstop reads the same change: the runtime stores the page through the same
            # batcher with the same idempotency key, so it is a duplicate.
            resolved = await ingest.db.call(ingest.connections.get, connection_id)
            poller = SPEC.pollers[0].open(resolved.connection, UnlimitedBudget(), httpx.ASGITransport(app))
            try:
                pages = [p async for p in poller.pages(None, now=datetime.now(UTC) + timedelta(seconds=1))]
            finally:
                await poller.aclose()
            (polled,) = [r for p in pages for r in p.records]
            item = inbound_item("loop", resolved.connection, polled.event, polled.body, {}, datetime.now(UTC))
            statuses.append("duplicate" if (await ingest.batcher.submit(item)).duplicate else "stored")
            return statuses
        finally:
            await ingest.batcher.aclose()
            ingest.db.shutdown()

    try:
        assert asyncio.run(go()) == ["stored", "duplicate", "ignored", "duplicate"]
    finally:
        store.close()
