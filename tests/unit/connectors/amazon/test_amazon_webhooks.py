"""The ORDER_CHANGE receiver: relay secret in constant time, NotificationId dedupe, per-order ordering."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tradewire.connectors.amazon import SPEC
from tradewire.connectors.amazon.webhooks import AmazonNotifications, relay_secret_matches
from tradewire.connectors.base.spec import Connection
from tradewire.errors import ConfigError, WebhookIgnored, WebhookRejected

Load = Callable[[str], Any]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOOKS = AmazonNotifications()


def connection(**secrets: str) -> Connection:
    base = {"client_id": "id", "client_secret": "cs", "refresh_token": "rt", "relay_secret": "relay-now"}
    return Connection(
        id="conn-amz", client_id="client-1", system="amazon", settings={"seller_id": "A3TH9S8BH6GOGM"},
        secrets={**base, **secrets},
    )  # fmt: skip


def body_of(load: Load) -> bytes:
    return json.dumps(load("amazon_order_change_notification.json")).encode()


def test_spec_uses_the_relay_receiver() -> None:
    assert isinstance(SPEC.webhooks, AmazonNotifications)


def test_right_secret_verifies_and_parse_reads_the_fixture(load: Load) -> None:
    body = body_of(load)
    headers = {"X-Tradewire-Relay-Secret": "relay-now", "content-type": "application/json"}
    HOOKS.verify(body, headers, connection(), now=NOW)
    event = HOOKS.parse(body, headers, connection(), now=NOW)
    assert event.idempotency_key == "d0e9e693-c3ad-4373-979f-ed4ec98dd746"
    assert event.external_id == "903-8868176-2219830"
    assert event.object_type == "order"
    assert event.event_type == "order.updated"
    assert event.ordering_key == "order:conn-amz:903-8868176-2219830"
    changed = datetime(2022, 11, 29, 19, 42, 4, 284000, tzinfo=UTC)
    assert event.ordering_seq == int(changed.timestamp()) * 1_000_000 + 284000
    assert event.triggered_at == datetime(2020, 7, 13, 19, 42, 4, 284000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing x-tradewire-relay-secret"),
        ({"x-tradewire-relay-secret": "  "}, "missing"),
        ({"x-tradewire-relay-secret": "relay-old"}, "does not match"),
        ({"x-tradewire-relay-secret": "relay-now-and-more"}, "does not match"),
        ({"x-tradewire-relay-secret": "rélay"}, "does not match"),
        ({"x-api-key": "relay-now"}, "missing"),
    ],
)
def test_missing_or_wrong_secret_is_refused_with_401(load: Load, headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookRejected, match=reason) as caught:
        HOOKS.verify(body_of(load), headers, connection(), now=NOW)
    assert caught.value.status == 401


def test_previous_secret_is_accepted_during_a_rotation(load: Load) -> None:
    conn = connection(relay_secret="relay-new", previous_relay_secret="relay-now")
    HOOKS.verify(body_of(load), {"x-tradewire-relay-secret": "relay-now"}, conn, now=NOW)
    HOOKS.verify(body_of(load), {"x-tradewire-relay-secret": "relay-new"}, conn, now=NOW)


def test_header_name_is_a_setting(load: Load) -> None:
    conn = Connection(
        id="c", client_id="k", system="amazon", settings={"seller_id": "S", "relay_header": "X-Api-Key"},
        secrets={"client_id": "id", "client_secret": "cs", "refresh_token": "rt", "relay_secret": "k3y"},
    )  # fmt: skip
    HOOKS.verify(body_of(load), {"x-api-key": "k3y"}, conn, now=NOW)
    with pytest.raises(WebhookRejected):
        HOOKS.verify(body_of(load), {"x-tradewire-relay-secret": "k3y"}, conn, now=NOW)


def test_a_connection_without_relay_secret_is_a_config_error(load: Load) -> None:
    conn = Connection(id="c", client_id="k", system="amazon", settings={"seller_id": "S"},
                      secrets={"client_id": "id", "client_secret": "cs", "refresh_token": "rt"})  # fmt: skip
    with pytest.raises(ConfigError, match="no relay_secret"):
        HOOKS.verify(body_of(load), {"x-tradewire-relay-secret": "x"}, conn, now=NOW)


def test_constant_time_compare_checks_every_secret() -> None:
    assert relay_secret_matches("b", ["a", "b"])
    assert not relay_secret_matches("", ["a"])


def test_eventbridge_envelope_is_unwrapped(load: Load) -> None:
    inner = load("amazon_order_change_notification.json")
    event = {"version": "0", "id": "e1", "detail-type": "ORDER_CHANGE", "source": "aws.partner/x", "detail": inner}
    parts = HOOKS.split(json.dumps(event).encode())
    assert len(parts) == 1
    assert json.loads(parts[0]) == inner
    parsed = HOOKS.parse(parts[0], {}, connection(), now=NOW)
    assert parsed.idempotency_key == inner["NotificationMetadata"]["NotificationId"]
    # The same notification straight from an SQS relay is stored as it came.
    raw = body_of(load)
    assert HOOKS.split(raw) == [raw]


def test_replayed_notification_has_the_same_idempotency_key(load: Load) -> None:
    body = body_of(load)
    first = HOOKS.parse(body, {"x-tradewire-relay-secret": "relay-now"}, connection(), now=NOW)
    again = HOOKS.parse(body, {"x-tradewire-relay-secret": "relay-now"}, connection(), now=datetime.now(UTC))
    assert first.idempotency_key == again.idempotency_key
    assert first.ordering_seq == again.ordering_seq


def test_cancelled_summary_is_an_order_cancelled_event(load: Load) -> None:
    payload = load("amazon_order_change_notification.json")
    payload["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"] = "Canceled"
    event = HOOKS.parse(json.dumps(payload).encode(), {}, connection(), now=NOW)
    assert event.event_type == "order.cancelled"


def test_missing_change_time_falls_back_to_event_time(load: Load) -> None:
    payload = load("amazon_order_change_notification.json")
    del payload["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]
    event = HOOKS.parse(json.dumps(payload).encode(), {}, connection(), now=NOW)
    assert event.ordering_seq == int(datetime(2020, 1, 11, 0, 9, 53, tzinfo=UTC).timestamp()) * 1_000_000 + 109000


@pytest.mark.parametrize(
    ("mutate", "status", "reason"),
    [
        (lambda p: p["NotificationMetadata"].pop("NotificationId"), 400, "NotificationId"),
        (lambda p: p["Payload"]["OrderChangeNotification"].pop("AmazonOrderId"), 400, "AmazonOrderId"),
        (lambda p: p.pop("Payload"), 400, "OrderChangeNotification"),
        (lambda p: p.pop("NotificationType"), 400, "no NotificationType"),
    ],
)
def test_malformed_notifications_are_rejected(
    load: Load, mutate: Callable[[dict[str, Any]], object], status: int, reason: str
) -> None:
    payload = load("amazon_order_change_notification.json")
    mutate(payload)
    with pytest.raises(WebhookRejected, match=reason) as caught:
        HOOKS.parse(json.dumps(payload).encode(), {}, connection(), now=NOW)
    assert caught.value.status == status


def test_other_notification_types_are_ignored(load: Load) -> None:
    payload = load("amazon_order_change_notification.json")
    payload["NotificationType"] = "ANY_OFFER_CHANGED"
    with pytest.raises(WebhookIgnored):
        HOOKS.parse(json.dumps(payload).encode(), {}, connection(), now=NOW)


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b"\xff\xfe garbage", 400), (b"[1, 2]", 400), (b"{" + b" " * (300 * 1024) + b"}", 413)],
)
def test_garbage_and_oversized_bodies_are_rejected(body: bytes, status: int) -> None:
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.split(body)
    assert caught.value.status == status


@pytest.mark.parametrize("header", ["x-amz-relay-secret", "Content-Secret", "bad header", ""])
def test_relay_header_cannot_be_a_stored_or_invalid_header(header: str) -> None:
    from pydantic import ValidationError

    from tradewire.connectors.amazon.settings import AmazonSettings

    with pytest.raises(ValidationError, match="relay_header"):
        AmazonSettings(seller_id="S", relay_header=header)
