"""Webhook signature helpers (vector B1), verification and parsing of Shopify deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tradewire.connectors.base.auth import hmac_sha256_base64, verify_hmac_base64
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.shopify import SPEC
from tradewire.connectors.shopify.webhooks import ShopifyWebhooks
from tradewire.errors import WebhookIgnored, WebhookRejected

B1_BODY = b'{"id":820982911946154508,"email":"jon@example.com","name":"#9999"}'
B1_SIGNATURE = "GHRA62rRonufCGcinoJEGFXXDPAEMt9WRVI1Q51xtjw="
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOOKS = ShopifyWebhooks()


def connection(secret: str = "hush", previous: str | None = None) -> Connection:
    secrets = {"client_secret": secret, "access_token": "shpat_x"}
    if previous is not None:
        secrets["previous_client_secret"] = previous
    return Connection(
        id="conn-1",
        client_id="client-1",
        system="shopify",
        settings={"shop_domain": "acme.myshopify.com"},
        secrets=secrets,
    )


def headers(
    *, body: bytes = B1_BODY, secret: str = "hush", topic: str = "orders/create", extra: dict[str, str] | None = None
) -> dict[str, str]:
    base = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(secret, body),
        "X-Shopify-Shop-Domain": "acme.myshopify.com",
        "X-Shopify-Webhook-Id": "wh-1",
        "X-Shopify-Event-Id": "evt-1",
        "X-Shopify-Triggered-At": (NOW - timedelta(seconds=3)).isoformat().replace("+00:00", "Z"),
    }
    base.update(extra or {})
    return base


def test_b1_vectors_match_our_hmac() -> None:
    assert hmac_sha256_base64("hush", B1_BODY) == B1_SIGNATURE
    second = b'{"id":9554194432293,"title":"T-Shirt","status":"active"}'
    assert hmac_sha256_base64("hush", second) == "wMKDtwcKZfILWQn06wKR4V1daSNvgGvU3BdR/UlCIu8="
    assert hmac_sha256_base64("my_client_secret", second) == "0jLsb1qNXGyD0ZbNwL2jb4NVh4o0k8oP/FDYCW+kpcc="


def test_verify_hmac_base64_accepts_only_the_right_signature() -> None:
    assert verify_hmac_base64("hush", B1_BODY, B1_SIGNATURE)
    assert verify_hmac_base64(b"hush", B1_BODY, f"  {B1_SIGNATURE}\n")
    assert not verify_hmac_base64("hush!", B1_BODY, B1_SIGNATURE)
    assert not verify_hmac_base64("hush", B1_BODY + b" ", B1_SIGNATURE)
    assert not verify_hmac_base64("hush", B1_BODY, "187440eb6ad1a27b9f0867229e82441855d70cf00432df56455235439d71b63c")
    assert not verify_hmac_base64("hush", B1_BODY, "GHRA62rRonufCGcinoJEGFXXDPAEMt9WRVI1Q51xtjw=é")


def test_b1_delivery_verifies_with_the_published_header() -> None:
    HOOKS.verify(B1_BODY, headers(extra={"X-Shopify-Hmac-Sha256": B1_SIGNATURE}), connection(), now=NOW)


def test_header_names_are_case_insensitive() -> None:
    lowered = {k.lower(): v for k, v in headers().items()}
    HOOKS.verify(B1_BODY, lowered, connection(), now=NOW)
    event = HOOKS.parse(B1_BODY, lowered, connection(), now=NOW)
    assert event.idempotency_key == "orders/create:evt-1"
    shouting = {k.upper(): v for k, v in headers().items()}
    HOOKS.verify(B1_BODY, shouting, connection(), now=NOW)


@pytest.mark.parametrize(
    ("body", "changes", "reason"),
    [
        (B1_BODY.replace(b"9999", b"9998"), {}, "does not match"),
        (B1_BODY, {"X-Shopify-Hmac-Sha256": ""}, "missing"),
        (B1_BODY, {"X-Shopify-Hmac-Sha256": "not base64 at all!"}, "not base64"),
        (B1_BODY, {"X-Shopify-Hmac-Sha256": "c2hvcnQ="}, "wrong length"),
        (B1_BODY, {"X-Shopify-Hmac-Sha256": hmac_sha256_base64("other", B1_BODY)}, "does not match"),
        (B1_BODY, {"X-Shopify-Triggered-At": "yesterday"}, "not an ISO-8601"),
        (B1_BODY, {"X-Shopify-Triggered-At": (NOW - timedelta(hours=5, minutes=1)).isoformat()}, "stale"),
        (B1_BODY, {"X-Shopify-Triggered-At": (NOW + timedelta(minutes=6)).isoformat()}, "future"),
    ],
)
def test_bad_deliveries_are_refused_with_401(body: bytes, changes: dict[str, str], reason: str) -> None:
    sent = headers()
    sent.update(changes)
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.verify(body, sent, connection(), now=NOW)
    assert caught.value.status == 401
    assert reason in str(caught.value)


def test_unsigned_delivery_is_refused() -> None:
    sent = {k: v for k, v in headers().items() if k != "X-Shopify-Hmac-Sha256"}
    with pytest.raises(WebhookRejected, match="missing X-Shopify-Hmac-Sha256") as caught:
        HOOKS.verify(B1_BODY, sent, connection(), now=NOW)
    assert caught.value.status == 401


def test_a_shopify_retry_four_hours_later_is_still_accepted() -> None:
    late = headers(extra={"X-Shopify-Triggered-At": (NOW - timedelta(hours=4, minutes=10)).isoformat()})
    HOOKS.verify(B1_BODY, late, connection(), now=NOW)
    skewed = headers(extra={"X-Shopify-Triggered-At": (NOW + timedelta(minutes=2)).isoformat()})
    HOOKS.verify(B1_BODY, skewed, connection(), now=NOW)


def test_previous_secret_is_accepted_during_rotation_only_when_configured() -> None:
    signed_with_old = headers(secret="old-secret")
    HOOKS.verify(B1_BODY, signed_with_old, connection("new-secret", previous="old-secret"), now=NOW)
    HOOKS.verify(B1_BODY, headers(secret="new-secret"), connection("new-secret", previous="old-secret"), now=NOW)
    with pytest.raises(WebhookRejected):
        HOOKS.verify(B1_BODY, signed_with_old, connection("new-secret"), now=NOW)


def test_parse_reads_the_order_event() -> None:
    body = json.dumps({"id": 450789469, "updated_at": "2008-01-10T11:00:00-05:00"}).encode()
    event = HOOKS.parse(body, headers(body=body, topic="orders/updated"), connection(), now=NOW)
    assert event.event_type == "order.updated"
    assert event.object_type == "order"
    assert event.external_id == "450789469"
    assert event.ordering_key == "order:conn-1:450789469"
    assert event.ordering_seq == 1_199_980_800_000_000 + 1  # orders/updated ranks after orders/create
    assert event.triggered_at == NOW - timedelta(seconds=3)


@pytest.mark.parametrize(
    ("topic", "event_type"),
    [("orders/create", "order.created"), ("orders/updated", "order.updated"), ("orders/cancelled", "order.cancelled")],
)
def test_order_topics_map_to_canonical_events(topic: str, event_type: str) -> None:
    assert HOOKS.parse(B1_BODY, headers(topic=topic), connection(), now=NOW).event_type == event_type


def test_one_merchant_action_on_two_topics_gives_two_keys_and_redelivery_the_same() -> None:
    cancelled = HOOKS.parse(B1_BODY, headers(topic="orders/cancelled"), connection(), now=NOW)
    updated = HOOKS.parse(B1_BODY, headers(topic="orders/updated"), connection(), now=NOW)
    assert cancelled.idempotency_key != updated.idempotency_key
    again = HOOKS.parse(
        B1_BODY, headers(topic="orders/cancelled", extra={"X-Shopify-Webhook-Id": "wh-2"}), connection(), now=NOW
    )
    assert again.idempotency_key == cancelled.idempotency_key == "orders/cancelled:evt-1"


def test_webhook_id_is_the_key_without_an_event_id() -> None:
    sent = {k: v for k, v in headers().items() if k != "X-Shopify-Event-Id"}
    assert HOOKS.parse(B1_BODY, sent, connection(), now=NOW).idempotency_key == "webhook:wh-1"
    bare = {k: v for k, v in sent.items() if k != "X-Shopify-Webhook-Id"}
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.parse(B1_BODY, bare, connection(), now=NOW)
    assert caught.value.status == 400


def test_unknown_topics_are_ignored_not_rejected() -> None:
    with pytest.raises(WebhookIgnored, match="products/update"):
        HOOKS.parse(B1_BODY, headers(topic="products/update"), connection(), now=NOW)
    with pytest.raises(WebhookRejected, match="X-Shopify-Topic") as caught:
        HOOKS.parse(B1_BODY, headers(topic=""), connection(), now=NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"name": "#1"}', "no integer 'id'"),
        (b'{"id": "123"}', "no integer 'id'"),
        (b'{"id": 8.209829119461545e17}', "no integer 'id'"),
        (b'{"id": true}', "no integer 'id'"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_bodies_without_an_integer_id_are_rejected_with_400(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookRejected, match=reason) as caught:
        HOOKS.parse(body, headers(body=body), connection(), now=NOW)
    assert caught.value.status == 400


def test_ids_above_2_pow_53_keep_every_digit() -> None:
    huge = 2**63 + 12345
    body = b'{"id": ' + str(huge).encode() + b', "created_at": "2026-11-23T06:59:59.5-05:00"}'
    event = HOOKS.parse(body, headers(body=body), connection(), now=NOW)
    assert event.external_id == "9223372036854788153"
    assert event.ordering_key.endswith(":9223372036854788153")
    assert event.ordering_seq == 1_795_435_199_500_000  # 11:59:59.5 UTC, exact to the microsecond


def test_create_update_cancel_of_one_second_keep_their_order() -> None:
    body = json.dumps({"id": 7, "updated_at": "2026-11-23T06:59:59-05:00"}).encode()
    seqs = [
        HOOKS.parse(body, headers(body=body, topic=topic), connection(), now=NOW).ordering_seq
        for topic in ("orders/create", "orders/updated", "orders/cancelled")
    ]
    assert seqs[0] < seqs[1] < seqs[2]
    later = json.dumps({"id": 7, "updated_at": "2026-11-23T07:00:00-05:00"}).encode()
    next_second = HOOKS.parse(later, headers(body=later, topic="orders/create"), connection(), now=NOW)
    assert next_second.ordering_seq > seqs[2]


def test_ordering_falls_back_to_receipt_time() -> None:
    event = HOOKS.parse(B1_BODY, headers(), connection(), now=NOW)
    assert event.ordering_seq == 1_795_435_200_000_000


def test_spec_declares_the_webhooks_and_the_graphql_bucket() -> None:
    assert SPEC.system == "shopify"
    assert SPEC.webhooks is not None
    assert [(r.scope, r.rate, r.burst) for r in SPEC.rate_limits] == [("graphql", 100.0, 2000.0)]
