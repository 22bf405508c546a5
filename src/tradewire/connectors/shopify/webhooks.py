"""Verifying and reading Shopify webhook deliveries (``InboundWebhooks``).

Shopify signs the raw body: ``X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(client_secret, body))``.
During a secret rotation the previous secret may sign for up to an hour, so both are tried.
Header names are matched case-insensitively (HTTP/2 lower-cases them). Order topics become
``order.*`` events; ``refunds/create`` becomes ``refund.created`` (see :mod:`.refunds`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tradewire.connectors.base.auth import verify_hmac_base64
from tradewire.connectors.base.connection import parse_secrets, parse_settings
from tradewire.connectors.base.spec import NO_QUERY, Connection, InboundEvent, SingleDelivery
from tradewire.connectors.shopify.refunds_in import REFUND_EVENT, REFUND_TOPIC, refund_event
from tradewire.connectors.shopify.settings import ShopifySecrets, ShopifySettings
from tradewire.errors import WebhookIgnored, WebhookRejected

HMAC_HEADER = "x-shopify-hmac-sha256"
TOPIC_HEADER = "x-shopify-topic"
WEBHOOK_ID_HEADER = "x-shopify-webhook-id"
EVENT_ID_HEADER = "x-shopify-event-id"
TRIGGERED_AT_HEADER = "x-shopify-triggered-at"

ORDER_TOPICS: dict[str, str] = {
    "orders/create": "order.created",
    "orders/updated": "order.updated",
    "orders/cancelled": "order.cancelled",
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def _settings(connection: Connection) -> ShopifySettings:
    return parse_settings(ShopifySettings, connection, "Shopify")


def _secrets(connection: Connection) -> ShopifySecrets:
    return parse_secrets(ShopifySecrets, connection, "Shopify")


def parse_timestamp(value: str) -> datetime | None:
    """An aware UTC datetime from Shopify's ISO-8601 text (``Z``, offsets, up to nanoseconds), or None."""
    text = value.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def epoch_microseconds(moment: datetime) -> int:
    """Whole microseconds since the Unix epoch, exactly (no float on the way)."""
    return (moment - _EPOCH) // _MICROSECOND


class ShopifyWebhooks(SingleDelivery):
    """Shopify's ``InboundWebhooks``: HMAC + freshness in ``verify``, the event in ``parse``."""

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> None:
        """Check the HMAC of the raw body and the delivery's age.

        Raises:
            WebhookRejected: status 401 when the signature is missing, garbled or wrong, or when
                X-Shopify-Triggered-At is unreadable, older than ``webhook_max_age_seconds`` or too
                far in the future.
            ConfigError: the connection has no client secret.
        """
        lowered = _lower(headers)
        settings = _settings(connection)
        secrets = _secrets(connection)
        signature = lowered.get(HMAC_HEADER, "").strip()
        if not signature:
            raise WebhookRejected("missing X-Shopify-Hmac-Sha256 header", status=401)
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise WebhookRejected("X-Shopify-Hmac-Sha256 is not base64", status=401) from None
        if len(raw) != 32:
            raise WebhookRejected("X-Shopify-Hmac-Sha256 is not a SHA-256 HMAC (wrong length)", status=401)
        if not any(verify_hmac_base64(secret, body, signature) for secret in secrets.webhook_secrets()):
            raise WebhookRejected(
                "X-Shopify-Hmac-Sha256 does not match the body (tampered or wrong secret)", status=401
            )
        triggered_text = lowered.get(TRIGGERED_AT_HEADER)
        if triggered_text is None:
            return
        triggered = parse_timestamp(triggered_text)
        if triggered is None:
            raise WebhookRejected(f"X-Shopify-Triggered-At {triggered_text[:40]!r} is not an ISO-8601 time", status=401)
        age = (now - triggered).total_seconds()
        if age > settings.webhook_max_age_seconds:
            raise WebhookRejected(
                f"stale delivery: triggered {age / 3600:.1f} h ago, limit {settings.webhook_max_age_seconds / 3600:.1f} h",
                status=401,
            )
        if -age > settings.webhook_max_future_seconds:
            raise WebhookRejected(f"delivery triggered {-age:.0f} s in the future (clock skew?)", status=401)

    def parse(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> InboundEvent:
        """Read the event of a verified delivery.

        Raises:
            WebhookIgnored: a topic no flow handles (answer 200, store nothing).
            WebhookRejected: status 400 when the topic or both delivery ids are missing, or the body
                is not a JSON object with an integer ``id``.
        """
        lowered = _lower(headers)
        topic = lowered.get(TOPIC_HEADER, "").strip().lower()
        if not topic:
            raise WebhookRejected("missing X-Shopify-Topic header", status=400)
        event_type = ORDER_TOPICS.get(topic, REFUND_EVENT if topic == REFUND_TOPIC else None)
        if event_type is None:
            raise WebhookIgnored(f"Shopify topic {topic!r} is not handled")
        event_id = lowered.get(EVENT_ID_HEADER, "").strip()
        webhook_id = lowered.get(WEBHOOK_ID_HEADER, "").strip()
        if event_id:
            # One merchant action fans out to several topics with one event id.
            idempotency_key = f"{topic}:{event_id}"
        elif webhook_id:
            idempotency_key = f"webhook:{webhook_id}"
        else:
            raise WebhookRejected("neither X-Shopify-Event-Id nor X-Shopify-Webhook-Id is present", status=400)
        payload = _json_object(body)
        triggered_text = lowered.get(TRIGGERED_AT_HEADER)
        if topic == REFUND_TOPIC:
            triggered = parse_timestamp(triggered_text) if triggered_text else None
            return refund_event(payload, connection, idempotency_key=idempotency_key, triggered_at=triggered, now=now)
        order_id = payload.get("id")
        if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id <= 0:
            raise WebhookRejected(f"{topic} body has no integer 'id' (got {order_id!r:.40})", status=400)
        changed = _first_time(payload, "updated_at", "created_at") or now
        return InboundEvent(
            event_type=event_type,
            idempotency_key=idempotency_key,
            object_type="order",
            external_id=str(order_id),
            ordering_key=f"order:{connection.id}:{order_id}",
            ordering_seq=epoch_microseconds(changed) + TOPIC_RANK.get(topic, 0),
            triggered_at=parse_timestamp(triggered_text) if triggered_text else None,
        )


# Shopify stamps order times in whole seconds, so a create and its cancellation often share
# ``updated_at``; these microseconds order them (create, then update, then cancel) when they do,
# and are far too small to reorder events of different seconds.
TOPIC_RANK = {"orders/create": 0, "orders/updated": 1, "orders/cancelled": 2}


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        # The standard library keeps JSON integers as exact ints (orjson caps them at 64 bits).
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(f"body is not JSON: {exc}", status=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected(f"body must be a JSON object, got {type(payload).__name__}", status=400)
    return payload


def _first_time(payload: Mapping[str, Any], *keys: str) -> datetime | None:
    for key in keys:
        value = payload.get(key)
        if isinstance(value, str):
            parsed = parse_timestamp(value)
            if parsed is not None:
                return parsed
    return None
