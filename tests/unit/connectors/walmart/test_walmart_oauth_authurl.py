"""Our authUrl for Walmart's OAUTH subscriptions: the webhook URL with ``?oauth=token``, served by the real receiver."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from tradewire.errors import WebhookRejected
from tradewire.flows.registry import flows_for
from tradewire.runtime.store.factory import open_store
from tradewire.services.processes import build_ingest
from tradewire.settings import Settings
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

SECRET_KEY = "walmart-unit-tests-" + "k" * 40
SECRETS = {
    "client_id": "id",
    "client_secret": "secret",
    "webhook_oauth_client_id": "wm-oauth-id",
    "webhook_oauth_client_secret": "wm-oauth-secret",
}
EVENT = json.dumps(
    {
        "source": {"eventType": "PO_CREATED", "eventTime": "2026-11-23T12:00:00Z", "eventId": "evt-1"},
        "payload": {"purchaseOrderId": "108828815500000", "customerOrderId": "200010000000001"},
    }
).encode()
TOKEN_QUERY = {"oauth": "token"}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"grant_type=client_credentials&client_id=wm-oauth-id&client_secret=wm-oauth-secret",
         {"content-type": "application/x-www-form-urlencoded"}),
        (json.dumps({"clientId": "wm-oauth-id", "clientSecret": "wm-oauth-secret"}).encode(),
         {"content-type": "application/json"}),
        (b"grant_type=client_credentials", _basic("wm-oauth-id", "wm-oauth-secret")),
    ],
)  # fmt: skip
def test_walmart_gets_a_token_that_then_opens_the_webhook(body: bytes, headers: dict[str, str]) -> None:
    asyncio.run(_token_then_delivery(body, headers))


async def _token_then_delivery(body: bytes, headers: dict[str, str]) -> None:
    settings = Settings(secret_key=SECRET_KEY, database={"url": "memory://"})
    store = open_store("memory://")
    client = store.create_client(store.create_partner("Partner"), "Retailer")
    connection_id = store.create_connection(
        client, "walmart", "Walmart", {"webhook_auth_method": "OAUTH"}, SecretBox(SECRET_KEY).seal(SECRETS)
    )
    ingest = build_ingest(settings, store)
    try:
        reply = await ingest.receive("walmart", connection_id, body, headers, TOKEN_QUERY)
        assert reply.status == "handshake"
        assert reply.reply is not None
        assert reply.reply.content_type == "application/json"
        token: dict[str, Any] = json.loads(reply.reply.body)
        assert token["token_type"] == "Bearer"
        assert token["expires_in"] > 0
        stored = await ingest.receive(
            "walmart", connection_id, EVENT, {"authorization": f"Bearer {token['access_token']}"}
        )
        assert stored.status == "stored"
        with pytest.raises(WebhookRejected) as refused:
            await ingest.receive("walmart", connection_id, EVENT, {"authorization": "Bearer forged.token"})
        assert refused.value.status == 401
    finally:
        await ingest.batcher.aclose()
        ingest.db.shutdown()
    with client_scope(client):
        runs = len(flows_for("order.created"))
        assert store.count_by_state() in ({}, {"queued": runs}), "one message, with the runs its event starts"


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"client_id=wm-oauth-id&client_secret=guess", {}),
        (b"", _basic("wm-oauth-id", "guess")),
        (b"", {"authorization": "Basic !!!not-base64"}),
        (b"", {}),
    ],
)
def test_a_token_request_with_wrong_or_missing_credentials_is_401(body: bytes, headers: dict[str, str]) -> None:
    asyncio.run(_refused_token_request(body, headers))


async def _refused_token_request(body: bytes, headers: dict[str, str]) -> None:
    settings = Settings(secret_key=SECRET_KEY, database={"url": "memory://"})
    store = open_store("memory://")
    client = store.create_client(store.create_partner("Partner"), "Retailer")
    connection_id = store.create_connection(
        client, "walmart", "Walmart", {"webhook_auth_method": "OAUTH"}, SecretBox(SECRET_KEY).seal(SECRETS)
    )
    ingest = build_ingest(settings, store)
    try:
        with pytest.raises(WebhookRejected) as refused:
            await ingest.receive("walmart", connection_id, body, headers, TOKEN_QUERY)
        assert refused.value.status == 401
    finally:
        await ingest.batcher.aclose()
        ingest.db.shutdown()
