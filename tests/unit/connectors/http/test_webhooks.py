"""Inbound webhooks verified by the definition: the sandbox's real deliveries, and every way to get one wrong."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from http_support import WEBHOOK_SECRET, connection, definition, sandbox_deliveries

from tradewire.connectors.http import SPEC
from tradewire.connectors.http.definition import Signature, WebhookSpec
from tradewire.connectors.http.webhooks import HttpWebhooks, sign, verify_signature
from tradewire.errors import ConfigError, WebhookIgnored, WebhookRejected

HOOKS = HttpWebhooks()
CONN = connection()


def now() -> datetime:
    return datetime.now(UTC)


def first_delivery(**options: Any) -> tuple[bytes, dict[str, str]]:
    return sandbox_deliveries(lambda store: store.create_members(1), **options)[0]


def test_spec_exposes_the_webhooks() -> None:
    assert SPEC.webhooks is not None
    assert SPEC.system == "http"


def test_a_sandbox_delivery_verifies_and_parses() -> None:
    body, headers = first_delivery()
    HOOKS.verify(body, headers, CONN, now=now())
    event = HOOKS.parse(body, headers, CONN, now=now())
    payload = json.loads(body)
    assert event.event_type == "customer.created"
    assert event.object_type == "customer"
    assert event.external_id == payload["data"]["id"]
    assert event.idempotency_key == f"loyalty-crm:{payload['id']}"
    assert event.ordering_key == f"http:loyalty-crm:member:{payload['data']['id']}"
    assert event.triggered_at is not None
    assert event.ordering_seq > 0


def test_transactions_route_to_orders_and_voids_to_cancellations() -> None:
    def drive(store: Any) -> None:
        tx = store.create_transactions(1)[0]
        store.void_transaction(tx["id"])

    sent = sandbox_deliveries(drive)
    events = [HOOKS.parse(body, headers, CONN, now=now()) for body, headers in sent]
    kinds = [(e.object_type, e.event_type) for e in events]
    assert ("order", "order.created") in kinds
    assert ("order", "order.cancelled") in kinds
    orders = [e for e in events if e.object_type == "order"]
    assert len({e.ordering_key for e in orders}) == 1  # one transaction, one ordering key
    assert orders[0].ordering_seq < orders[-1].ordering_seq


def test_a_retried_delivery_keeps_its_idempotency_key() -> None:
    sent = sandbox_deliveries(lambda store: store.create_members(1), statuses=[503, 200])
    assert len(sent) == 2
    keys = {HOOKS.parse(body, headers, CONN, now=now()).idempotency_key for body, headers in sent}
    assert len(keys) == 1


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b, h: (b.replace(b'"type"', b'"typo"', 1), h), "does not match"),
        (lambda b, h: (b + b" ", h), "does not match"),
        (lambda b, h: (b, {k: v for k, v in h.items() if k != "x-loyalty-signature"}), "missing X-Loyalty-Signature"),
        (lambda b, h: (b, h | {"x-loyalty-signature": h["x-loyalty-signature"].removeprefix("sha256=")}), "prefix"),
        (lambda b, h: (b, h | {"x-loyalty-signature": "sha256=zz-not-hex"}), "not hex"),
        (lambda b, h: (b, h | {"x-loyalty-signature": "sha256=" + "0" * 64}), "does not match"),
        (lambda b, h: (b, {k: v for k, v in h.items() if k != "x-loyalty-timestamp"}), "missing X-Loyalty-Timestamp"),
        (lambda b, h: (b, h | {"x-loyalty-timestamp": "yesterday"}), "not a time"),
        (lambda b, h: (b, h | {"x-loyalty-timestamp": str(int(h["x-loyalty-timestamp"]) + 1)}), "does not match"),
    ],
)
def test_tampered_unsigned_and_malformed_signatures_are_refused(mutate: Any, reason: str) -> None:
    body, headers = first_delivery()
    bad_body, bad_headers = mutate(body, headers)
    with pytest.raises(WebhookRejected, match=reason) as caught:
        HOOKS.verify(bad_body, bad_headers, CONN, now=now())
    assert caught.value.status == 401


def test_wrong_secret_is_refused() -> None:
    body, headers = first_delivery()
    other = connection(secrets={"api_key": "k", "webhook_secret": "someone-elses-secret"})
    with pytest.raises(WebhookRejected, match="wrong secret"):
        HOOKS.verify(body, headers, other, now=now())


def test_replays_outside_the_window_are_refused() -> None:
    body, headers = first_delivery()
    with pytest.raises(WebhookRejected, match="window"):
        HOOKS.verify(body, headers, CONN, now=now() + timedelta(minutes=6))
    with pytest.raises(WebhookRejected, match="window"):
        HOOKS.verify(body, headers, CONN, now=now() - timedelta(minutes=6))


def test_oversized_bodies_are_refused_before_hashing() -> None:
    body, headers = first_delivery()
    huge = body + b" " * (1024 * 1024)
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.verify(huge, headers, CONN, now=now())
    assert caught.value.status == 413


def test_malformed_bodies_are_400_and_unknown_events_are_ignored() -> None:
    _body, headers = first_delivery()
    for bad in (b"not json", b"[1, 2]", b"\xff\xfe", json.dumps({"id": "evt_1"}).encode()):
        with pytest.raises(WebhookRejected) as caught:
            HOOKS.parse(bad, headers, CONN, now=now())
        assert caught.value.status == 400
    no_id = json.dumps({"type": "member.updated", "data": {"id": "mbr_1"}}).encode()
    with pytest.raises(WebhookRejected, match="no event id"):
        HOOKS.parse(no_id, headers, CONN, now=now())
    no_object = json.dumps({"id": "evt_1", "type": "member.updated", "data": {}}).encode()
    with pytest.raises(WebhookRejected, match="no object id"):
        HOOKS.parse(no_object, headers, CONN, now=now())
    unknown = json.dumps({"id": "evt_1", "type": "member.deleted", "data": {"id": "mbr_1"}}).encode()
    with pytest.raises(WebhookIgnored):
        HOOKS.parse(unknown, headers, CONN, now=now())


def test_a_connection_without_the_secret_is_a_config_error() -> None:
    body, headers = first_delivery()
    with pytest.raises(ConfigError, match="webhook_secret"):
        HOOKS.verify(body, headers, connection(secrets={"api_key": "k"}), now=now())


@pytest.mark.parametrize(
    "signature",
    [
        Signature(header="X-Hub-Signature-256", prefix="sha256=", encoding="hex", algorithm="sha256"),
        Signature(header="X-Hub-Signature", prefix="sha1=", encoding="hex", algorithm="sha1"),
        Signature(header="X-Signature", encoding="base64", algorithm="sha256"),
        Signature(header="X-Signature", encoding="base64", algorithm="sha512"),
        Signature(header="X-Sig", timestamp_header="X-Time", signed_payload="{timestamp}.{body}", tolerance_seconds=60),
    ],
)
def test_other_signature_schemes(signature: Signature) -> None:
    base = definition().webhooks
    assert base is not None
    spec = WebhookSpec.model_validate(base.model_dump(by_alias=True) | {"signature": signature.model_dump()})
    body = b'{"id":"evt_9","type":"member.updated","data":{"id":"mbr_9"}}'
    stamp = str(int(time.time()))
    headers = {signature.header: sign(signature, WEBHOOK_SECRET, body, stamp)}
    if signature.timestamp_header:
        headers[signature.timestamp_header] = stamp
    verify_signature(spec, WEBHOOK_SECRET, body, headers, now=now())
    with pytest.raises(WebhookRejected):
        verify_signature(spec, WEBHOOK_SECRET, body.replace(b"9", b"8"), headers, now=now())
    with pytest.raises(WebhookRejected):
        verify_signature(spec, "other", body, headers, now=now())
