"""Receiving Walmart notifications: BASIC_AUTH, OAUTH (our HMAC-derived bearer), HMAC [unverified], parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tradewire.connectors.base.spec import Connection
from tradewire.connectors.walmart import SPEC
from tradewire.connectors.walmart.webhooks import (
    WalmartWebhooks,
    basic_header,
    hmac_signature,
    issue_oauth_token,
)
from tradewire.errors import ConfigError, WebhookIgnored, WebhookRejected

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "vendor"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOOKS = WalmartWebhooks()
SECRETS = {
    "client_id": "id",
    "client_secret": "secret",
    "webhook_username": "walmart",
    "webhook_password": "s3cret pass",
    "webhook_oauth_client_id": "wm-oauth-id",
    "webhook_oauth_client_secret": "wm-oauth-secret",
    "webhook_hmac_secret": "hmac-secret",
}


def _connection(method: str, **settings: Any) -> Connection:
    return Connection(
        id="conn-w",
        client_id="client-1",
        system="walmart",
        settings={"webhook_auth_method": method, **settings},
        secrets=SECRETS,
    )


def _event(event_type: str = "PO_CREATED", **payload: Any) -> bytes:
    envelope = json.loads((FIXTURES / "walmart_po_created_event_RECONSTRUCTED.json").read_text())
    envelope.pop("_note")
    envelope["source"]["eventType"] = event_type
    envelope["payload"]["purchaseOrderId"] = "1796277083022"
    envelope["payload"]["orderLines"][0]["statusDate"] = "2020-07-29T13:47:17.000Z"
    envelope["payload"].update(payload)
    return json.dumps(envelope).encode()


def test_basic_auth_accepts_the_configured_pair_only() -> None:
    connection = _connection("BASIC_AUTH")
    good = {"Authorization": basic_header("walmart", "s3cret pass")}
    HOOKS.verify(_event(), good, connection, now=NOW)
    for headers in (
        {},
        {"Authorization": basic_header("walmart", "guess")},
        {"Authorization": "Bearer x"},
        {"Authorization": "Basic !!!"},
    ):
        with pytest.raises(WebhookRejected) as caught:
            HOOKS.verify(_event(), headers, connection, now=NOW)
        assert caught.value.status == 401


def test_basic_auth_in_a_custom_header() -> None:
    connection = _connection("BASIC_AUTH", webhook_auth_header_name="X-Walmart-Auth")
    HOOKS.verify(_event(), {"x-walmart-auth": basic_header("walmart", "s3cret pass")}, connection, now=NOW)
    with pytest.raises(WebhookRejected):
        HOOKS.verify(_event(), {"Authorization": basic_header("walmart", "s3cret pass")}, connection, now=NOW)


def test_oauth_bearer_we_issued_verifies_until_it_expires() -> None:
    connection = _connection("OAUTH")
    answer = issue_oauth_token(connection, "wm-oauth-id", "wm-oauth-secret", now=NOW)
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3600
    headers = {"Authorization": f"Bearer {answer['access_token']}"}
    HOOKS.verify(_event(), headers, connection, now=NOW + timedelta(minutes=59))
    with pytest.raises(WebhookRejected, match="expired"):
        HOOKS.verify(_event(), headers, connection, now=NOW + timedelta(minutes=61))


def test_oauth_refuses_forged_foreign_and_missing_tokens() -> None:
    connection = _connection("OAUTH")
    token = issue_oauth_token(connection, "wm-oauth-id", "wm-oauth-secret", now=NOW)["access_token"]
    expiry, _, signature = token.partition(".")
    other = Connection(id="conn-other", client_id="c", system="walmart", settings=connection.settings, secrets=SECRETS)
    foreign = issue_oauth_token(other, "wm-oauth-id", "wm-oauth-secret", now=NOW)["access_token"]
    for value in (f"Bearer {int(expiry) + 9999}.{signature}", f"Bearer {foreign}", "Bearer garbage", token, ""):
        with pytest.raises(WebhookRejected) as caught:
            HOOKS.verify(_event(), {"Authorization": value}, connection, now=NOW)
        assert caught.value.status == 401


def test_oauth_token_endpoint_checks_walmarts_credentials() -> None:
    connection = _connection("OAUTH")
    with pytest.raises(WebhookRejected) as caught:
        issue_oauth_token(connection, "wm-oauth-id", "wrong", now=NOW)
    assert caught.value.status == 401
    bare = Connection(
        id="x", client_id="c", system="walmart", settings={}, secrets={"client_id": "i", "client_secret": "s"}
    )
    with pytest.raises(ConfigError, match="webhook_oauth_client_id"):
        issue_oauth_token(bare, "a", "b", now=NOW)


def _hmac_headers(body: bytes, *, at: datetime = NOW, path: str = "/webhooks/walmart/conn-w") -> dict[str, str]:
    stamp = str(int(at.timestamp() * 1000))
    signature = hmac_signature("hmac-secret", method="POST", path=path, timestamp=stamp, body=body)
    return {"WM_SEC.TIMESTAMP": stamp, "WM_SEC.SIGNATURE": signature}


def test_hmac_signature_covers_body_path_and_time() -> None:
    connection = _connection("HMAC")
    body = _event()
    HOOKS.verify(body, _hmac_headers(body), connection, now=NOW)
    bad_cases = [
        (body + b" ", _hmac_headers(body)),
        (body, _hmac_headers(body, path="/elsewhere")),
        (body, _hmac_headers(body, at=NOW - timedelta(hours=2))),
        (body, {"WM_SEC.TIMESTAMP": "1", "WM_SEC.SIGNATURE": "bm90IGEgbWFj"}),
        (body, {"WM_SEC.SIGNATURE": _hmac_headers(body)["WM_SEC.SIGNATURE"]}),
    ]
    for bad_body, headers in bad_cases:
        with pytest.raises(WebhookRejected) as caught:
            HOOKS.verify(bad_body, headers, connection, now=NOW)
        assert caught.value.status == 401
    custom = _connection("HMAC", webhook_hmac_path="/hooks?x=1")
    HOOKS.verify(body, _hmac_headers(body, path="/hooks?x=1"), custom, now=NOW)


def test_po_created_parses_to_an_order_event() -> None:
    event = HOOKS.parse(_event(), {}, _connection("BASIC_AUTH"), now=NOW)
    assert event.event_type == "order.created"
    assert event.idempotency_key == "04d868a0-d1a2-11ea-a710-459752d002e8"
    assert (event.object_type, event.external_id) == ("order", "1796277083022")
    assert event.ordering_key == "order:conn-w:1796277083022"
    assert event.ordering_seq == int(datetime(2020, 7, 29, 13, 47, 17, tzinfo=UTC).timestamp()) * 1_000_000
    assert event.triggered_at == datetime(2020, 7, 29, 13, 47, 18, 442000, tzinfo=UTC)


def test_order_updates_use_the_sub_event_type() -> None:
    connection = _connection("BASIC_AUTH")
    created = HOOKS.parse(_event("ORDER_UPDATES", subEventType="PO_CREATED"), {}, connection, now=NOW)
    cancelled = HOOKS.parse(_event("ORDER_UPDATES", subEventType="PO_LINE_AUTOCANCELLED"), {}, connection, now=NOW)
    fraud = HOOKS.parse(_event("ORDER_UPDATES", subEventType="FRAUD_CANCEL"), {}, connection, now=NOW)
    assert (created.event_type, cancelled.event_type, fraud.event_type) == (
        "order.created",
        "order.updated",
        "order.cancelled",
    )
    with pytest.raises(WebhookIgnored):
        HOOKS.parse(_event("OFFER_UNPUBLISHED"), {}, connection, now=NOW)
    with pytest.raises(WebhookIgnored):
        HOOKS.parse(_event("ORDER_UPDATES", subEventType="SOMETHING_NEW"), {}, connection, now=NOW)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"payload": {}}',
        b'{"source": {"eventType": "PO_CREATED"}, "payload": {"purchaseOrderId": "1"}}',
        b'{"source": {"eventType": "PO_CREATED", "eventId": "e1"}, "payload": {"purchaseOrderId": ""}}',
        b"<html>" + b"x" * 10_000,
    ],
)
def test_malformed_bodies_are_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.parse(body, {}, _connection("BASIC_AUTH"), now=NOW)
    assert caught.value.status == 400


def test_replayed_event_has_the_same_idempotency_key() -> None:
    connection = _connection("BASIC_AUTH")
    first = HOOKS.parse(_event(), {}, connection, now=NOW)
    again = HOOKS.parse(_event(), {}, connection, now=NOW + timedelta(hours=1))
    assert first.idempotency_key == again.idempotency_key


def test_missing_webhook_secret_is_a_config_error() -> None:
    bare = Connection(
        id="x", client_id="c", system="walmart", settings={}, secrets={"client_id": "i", "client_secret": "s"}
    )
    with pytest.raises(ConfigError, match="webhook_username"):
        HOOKS.verify(_event(), {"Authorization": basic_header("a", "b")}, bare, now=NOW)


def test_spec_uses_these_webhooks() -> None:
    assert isinstance(SPEC.webhooks, WalmartWebhooks)
    assert SPEC.webhooks.split(b"{}") == [b"{}"]
