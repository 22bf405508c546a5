"""SHIP_NOTIFY receiver: token in the URL, thin body never trusted, idempotency from the resource_url."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from shipstation_helpers import BASE, TOKEN, connection

from tradewire.connectors.base.spec import Connection
from tradewire.connectors.shipstation import SPEC
from tradewire.connectors.shipstation.webhooks import ShipStationWebhooks, notification_key, token_matches
from tradewire.errors import ConfigError, WebhookIgnored, WebhookRejected

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOOKS = ShipStationWebhooks()
URL = f"{BASE}/shipments?batchId=98765&includeShipmentItems=True"
BODY = json.dumps({"resource_url": URL, "resource_type": "SHIP_NOTIFY"}).encode()


def test_spec_exposes_the_receiver() -> None:
    assert isinstance(SPEC.webhooks, ShipStationWebhooks)


def test_the_right_token_verifies_and_the_event_names_the_batch() -> None:
    HOOKS.verify(BODY, {}, connection(), now=NOW, query={"token": TOKEN})
    event = HOOKS.parse(BODY, {}, connection(), now=NOW, query={"token": TOKEN})
    assert event.event_type == "shipment_batch.notified"
    assert event.idempotency_key == notification_key("SHIP_NOTIFY", URL)
    assert event.object_type == "shipment_batch"
    assert event.external_id == "98765"
    assert event.ordering_key == "shipstation:conn-ss:batch:98765"


@pytest.mark.parametrize(
    "query",
    [{}, {"token": ""}, {"token": TOKEN[:-1]}, {"token": TOKEN + "x"}, {"token": TOKEN.upper()}, {"tok": TOKEN},
     {"token": "é" * 30}],
)  # fmt: skip
def test_a_missing_or_wrong_token_is_401(query: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.verify(BODY, {}, connection(), now=NOW, query=query)
    assert caught.value.status == 401


def test_the_previous_token_works_during_a_rotation() -> None:
    rotated = Connection(
        id="conn-ss",
        client_id="client-1",
        system="shipstation",
        settings={"base_url": BASE},
        secrets={"api_key": "k", "api_secret": "s", "webhook_token": "n" * 32, "previous_webhook_token": TOKEN},
    )
    HOOKS.verify(BODY, {}, rotated, now=NOW, query={"token": TOKEN})
    HOOKS.verify(BODY, {}, rotated, now=NOW, query={"token": "n" * 32})
    assert token_matches(TOKEN, ["n" * 32, TOKEN])
    assert not token_matches("x", ["n" * 32, TOKEN])


def test_a_short_or_missing_token_in_the_secrets_is_a_config_error() -> None:
    weak = Connection(
        id="c",
        client_id="k",
        system="shipstation",
        settings={},
        secrets={"api_key": "k", "api_secret": "s", "webhook_token": "short"},
    )
    with pytest.raises(ConfigError, match="24"):
        HOOKS.verify(BODY, {}, weak, now=NOW, query={"token": "short"})


def test_a_redelivery_has_the_same_idempotency_key_and_another_batch_does_not() -> None:
    first = HOOKS.parse(BODY, {}, connection(), now=NOW)
    again = HOOKS.parse(BODY, {"user-agent": "retry"}, connection(), now=NOW.replace(hour=13))
    other = json.dumps({"resource_url": URL.replace("98765", "98766"), "resource_type": "SHIP_NOTIFY"}).encode()
    assert first.idempotency_key == again.idempotency_key
    assert HOOKS.parse(other, {}, connection(), now=NOW).idempotency_key != first.idempotency_key


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example.com/shipments?batchId=1",
        "http://169.254.169.254/latest/meta-data/",
        "http://ssapi.shipstation.com/shipments?batchId=1",
        "https://ssapi.shipstation.com/orders?importBatch=1",
        "not a url",
    ],
)
def test_a_resource_url_outside_the_api_is_rejected(url: str) -> None:
    body = json.dumps({"resource_url": url, "resource_type": "SHIP_NOTIFY"}).encode()
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.parse(body, {}, connection(), now=NOW)
    assert caught.value.status == 400


def test_a_configured_numbered_api_host_is_accepted() -> None:
    body = json.dumps(
        {"resource_url": "https://ssapi6.shipstation.com/shipments?batchId=5", "resource_type": "SHIP_NOTIFY"}
    )
    event = HOOKS.parse(body.encode(), {}, connection(resource_origins=["https://ssapi6.shipstation.com"]), now=NOW)
    assert event.external_id == "5"


def test_order_notify_is_ignored_not_stored() -> None:
    fixture = b'{"resource_url":"https://ssapiX.shipstation.com/orders?storeID=123456&importBatch=1ab2","resource_type":"ORDER_NOTIFY"}'
    with pytest.raises(WebhookIgnored, match="ORDER_NOTIFY"):
        HOOKS.parse(fixture, {}, connection(), now=NOW)


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"resource_type":"SHIP_NOTIFY"}', b'{"resource_url":"","resource_type":"SHIP_NOTIFY"}',
     b'{"resource_url":5,"resource_type":"SHIP_NOTIFY"}', b"\xff\xfe", b'{"resource_url":"' + b"a" * 20_000 + b'"}'],
)  # fmt: skip
def test_malformed_or_oversized_bodies_are_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.parse(body, {}, connection(), now=NOW)
    assert caught.value.status == 400


def test_a_batch_without_an_id_is_keyed_by_the_url_hash() -> None:
    body = json.dumps({"resource_url": f"{BASE}/shipments?storeId=3", "resource_type": "ship_notify"}).encode()
    event = HOOKS.parse(body, {}, connection(), now=NOW)
    assert event.idempotency_key.endswith(event.external_id)
