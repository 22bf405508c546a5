"""Verification and parsing of Loop webhook deliveries (X-Loop-Signature, triggers, idempotency keys)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from loop_helpers import WEBHOOK_SECRET, collect_deliveries, connection

from tradewire.connectors.base.auth import hmac_sha256_base64
from tradewire.connectors.loop import SPEC
from tradewire.connectors.loop.webhooks import MAX_BODY_BYTES, LoopWebhooks
from tradewire.errors import ConfigError, WebhookIgnored, WebhookRejected

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "vendor"
B2_BODY = b'{"topic":"return","trigger":"return.created","id":"12345678","state":"open"}'
B2_SIGNATURE = "BVg5JXTai+539Eu6eNhfqAtdU8xnO80UuIuE2kZz8tU="
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOOKS = LoopWebhooks()


def signed(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Loop-Signature": hmac_sha256_base64(secret, body)}


def body_of(**fields: object) -> bytes:
    payload = {"topic": "return", "trigger": "return.updated", "id": 1001, "state": "open"}
    payload.update(fields)
    return json.dumps(payload, separators=(",", ":")).encode()


def test_b2_vector_verifies() -> None:
    assert hmac_sha256_base64("loop_test_secret", B2_BODY) == B2_SIGNATURE
    HOOKS.verify(B2_BODY, {"x-loop-signature": B2_SIGNATURE}, connection("loop_test_secret"), now=NOW)
    event = HOOKS.parse(B2_BODY, {}, connection(), now=NOW)
    assert (event.event_type, event.external_id, event.object_type) == ("return.created", "12345678", "return")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"X-Loop-Signature": ""}, "missing"),
        ({"X-Loop-Signature": "not base64!"}, "not base64"),
        ({"X-Loop-Signature": "c2hvcnQ="}, "wrong length"),
        ({"X-Loop-Signature": hmac_sha256_base64("another secret", B2_BODY)}, "does not match"),
    ],
)
def test_bad_or_missing_signature_is_401(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.verify(B2_BODY, headers, connection(), now=NOW)
    assert caught.value.status == 401
    assert reason in str(caught.value)


def test_tampered_body_is_refused_and_signature_covers_exact_bytes() -> None:
    headers = signed(B2_BODY)
    with pytest.raises(WebhookRejected):
        HOOKS.verify(B2_BODY.replace(b"open", b"shut"), headers, connection(), now=NOW)
    # Re-serialising the JSON (spaces, unescaped slashes) changes the bytes: only the raw body verifies.
    escaped = b'{"topic":"return","id":"1","status_page_url":"https:\\/\\/x.example\\/r"}'
    HOOKS.verify(escaped, signed(escaped), connection(), now=NOW)
    reserialised = json.dumps(json.loads(escaped)).encode()
    with pytest.raises(WebhookRejected):
        HOOKS.verify(reserialised, signed(escaped), connection(), now=NOW)


def test_previous_secret_is_accepted_during_rotation() -> None:
    old = signed(B2_BODY, "old-secret")
    with pytest.raises(WebhookRejected):
        HOOKS.verify(B2_BODY, old, connection("new-secret"), now=NOW)
    HOOKS.verify(B2_BODY, old, connection("new-secret", previous="old-secret"), now=NOW)


def test_oversized_body_is_413_before_any_hashing() -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.verify(body, signed(b"{}"), connection(), now=NOW)
    assert caught.value.status == 413


def test_connection_without_secret_is_a_config_error() -> None:
    broken = connection()
    broken = type(broken)(broken.id, broken.client_id, "loop", broken.settings, {"api_key": "sk-visible-0042"})
    with pytest.raises(ConfigError) as caught:
        HOOKS.verify(B2_BODY, signed(B2_BODY), broken, now=NOW)
    assert "webhook_secret" in str(caught.value)
    assert "sk-visible-0042" not in str(caught.value)


@pytest.mark.parametrize("body", [b"", b"not json", b"[1,2]", b'"text"', b"\xff\xfe", b'{"topic":"return"'])
def test_malformed_body_is_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.parse(body, {}, connection(), now=NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize("bad_id", [None, "", True, -5, "1 OR 1=1", {"id": 1}])
def test_body_without_a_usable_return_id_is_400(bad_id: object) -> None:
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.parse(body_of(id=bad_id), {}, connection(), now=NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("topic", "trigger", "event_type"),
    [
        ("return", "return.created", "return.created"),
        ("return", "return.updated", "return.updated"),
        ("return", "return.closed", "return.closed"),
        ("label", "label.created", "return.label_created"),
        ("label", "label.updated", "return.label_updated"),
        ("restock", "restock.requested", "return.restock_requested"),
        ("return", "created", "return.created"),
        ("label", "updated", "return.label_updated"),
    ],
)
def test_triggers_map_to_canonical_event_types(topic: str, trigger: str, event_type: str) -> None:
    event = HOOKS.parse(
        body_of(topic=topic, trigger=trigger, edited_at="2026-11-20T10:00:00Z"), {}, connection(), now=NOW
    )
    assert event.event_type == event_type
    assert event.ordering_key == "return:conn-loop:1001"


@pytest.mark.parametrize("trigger", ["giftcard.requested", "shipment.processed", "something.new"])
def test_triggers_no_flow_handles_are_ignored(trigger: str) -> None:
    with pytest.raises(WebhookIgnored):
        HOOKS.parse(body_of(trigger=trigger), {}, connection(), now=NOW)


def test_missing_trigger_is_inferred_from_the_return() -> None:
    created = body_of(trigger=None, created_at="2026-11-20 10:00:00", edited_at="2026-11-20 10:00:00")
    closed = body_of(trigger=None, state="closed", edited_at="2026-11-21 10:00:00")
    edited = body_of(trigger=None, created_at="2026-11-20 10:00:00", edited_at="2026-11-21 09:00:00")
    assert HOOKS.parse(created, {}, connection(), now=NOW).event_type == "return.created"
    assert HOOKS.parse(closed, {}, connection(), now=NOW).event_type == "return.closed"
    assert HOOKS.parse(edited, {}, connection(), now=NOW).event_type == "return.updated"


def test_string_and_integer_ids_give_the_same_keys() -> None:
    as_int = HOOKS.parse(body_of(id=1001, edited_at="2026-11-20T10:00:00Z"), {}, connection(), now=NOW)
    as_str = HOOKS.parse(body_of(id="1001", edited_at="2026-11-20T10:00:00+00:00"), {}, connection(), now=NOW)
    assert as_int == as_str
    assert as_int.idempotency_key == "return:1001:return.updated:1795168800000000"


def test_dedupe_key_is_id_trigger_and_edited_at_with_updated_at_fallback() -> None:
    first = HOOKS.parse(body_of(edited_at="2026-11-20T10:00:00Z"), {}, connection(), now=NOW)
    replay = HOOKS.parse(
        body_of(edited_at="2026-11-20T10:00:00Z"), {}, connection(), now=datetime(2027, 1, 1, tzinfo=UTC)
    )
    later = HOOKS.parse(body_of(edited_at="2026-11-20T10:00:01Z"), {}, connection(), now=NOW)
    closed = HOOKS.parse(body_of(trigger="return.closed", edited_at="2026-11-20T10:00:00Z"), {}, connection(), now=NOW)
    fallback = HOOKS.parse(body_of(updated_at="2026-11-20T10:00:00Z"), {}, connection(), now=NOW)
    assert first.idempotency_key == replay.idempotency_key == fallback.idempotency_key
    assert len({first.idempotency_key, later.idempotency_key, closed.idempotency_key}) == 3
    assert first.ordering_seq < closed.ordering_seq < later.ordering_seq


def test_label_events_key_on_label_updated_at() -> None:
    label = {
        "topic": "label", "trigger": "label.updated", "shop_id": "9876", "return_id": "12345",
        "order_id": "1234567890", "provider_order_id": 1029384756, "carrier": "USPS",
        "tracking_number": "28735625627856237856287", "label_status": "in_transit",
        "label_updated_at": "2019-04-01T12:00:00+00:00",
    }  # fmt: skip
    event = HOOKS.parse(json.dumps(label).encode(), {}, connection(), now=NOW)
    assert (event.event_type, event.external_id) == ("return.label_updated", "12345")
    moved = HOOKS.parse(
        json.dumps({**label, "label_status": "delivered", "label_updated_at": "2019-04-02T08:00:00Z"}).encode(),
        {},
        connection(),
        now=NOW,
    )
    assert event.idempotency_key != moved.idempotency_key
    assert event.ordering_key == moved.ordering_key


def test_processing_failed_fixture_is_keyed_on_its_body() -> None:
    raw = (FIXTURES / "loop_return_processing_failed_webhook_EXAMPLES.json").read_bytes()
    payload = {k: v for k, v in json.loads(raw).items() if not k.startswith("_")}
    body = json.dumps(payload, separators=(",", ":")).encode()
    event = HOOKS.parse(body, signed(body), connection(), now=NOW)
    again = HOOKS.parse(body, signed(body), connection(), now=datetime(2027, 1, 1, tzinfo=UTC))
    assert (event.event_type, event.external_id) == ("return.processing_failed", "1673")
    assert event.idempotency_key == again.idempotency_key
    assert event.idempotency_key.startswith("return:1673:return.processing.failed:sha256-")
    assert event.ordering_key == "return:conn-loop:1673"


def test_sandbox_deliveries_verify_and_redeliveries_share_the_key(make_app: object) -> None:
    app = make_app()  # type: ignore[operator]
    loop = app.state.loop
    loop.subscribe("return", "https://receiver.test/webhooks/loop/conn-loop")
    loop.subscribe("label", "https://receiver.test/webhooks/loop/conn-loop")

    def drive() -> None:
        created = loop.create_returns(1)[0]
        loop.create_label(created["id"])

    sent = collect_deliveries(app, drive, statuses=[503, 200])
    assert SPEC.webhooks is not None
    events = []
    for request in sent:
        SPEC.webhooks.verify(request.content, dict(request.headers), connection(), now=NOW)
        events.append(SPEC.webhooks.parse(request.content, dict(request.headers), connection(), now=NOW))
    assert all(
        b"\\/" in r.content for r in sent if b'"return"' in r.content
    )  # slashes escaped as Loop's PHP sends them, and still verified
    keys = [e.idempotency_key for e in events]
    # The first delivery failed (503) and came again with the same bytes: the same key.
    assert len(sent) == 3
    assert sorted(Counter(keys).values()) == [1, 2]
    twice = [r.content for r, e in zip(sent, events, strict=True) if Counter(keys)[e.idempotency_key] == 2]
    assert twice[0] == twice[1]
    assert {e.event_type for e in events} == {"return.created", "return.label_created"}
