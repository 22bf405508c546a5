"""Shopify's webhook deliveries for the sandbox: the body and headers exactly as Shopify sends them.

Each delivery is the REST order JSON, compact, signed over the exact bytes sent
(``X-Shopify-Hmac-Sha256``), with the headers Shopify sends. The generic sender in
``connectors.base.sandbox_webhooks`` posts it, retries it (Shopify: 8 tries over 4 hours,
shortened here) and applies the duplicate / out-of-order knobs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from tradewire.connectors.base.auth import hmac_sha256_base64
from tradewire.connectors.base.sandbox_webhooks import Delivery, WebhookSender

__all__ = ["Delivery", "WebhookSender", "build_delivery"]


def build_delivery(
    *,
    topic: str,
    order: Mapping[str, Any],
    address: str,
    client_secret: str,
    shop_domain: str,
    api_version: str,
    event_id: str,
    triggered_at: str,
    webhook_id: str | None = None,
) -> Delivery:
    """A signed delivery of ``order`` for ``topic`` to ``address`` (not sent yet)."""
    body = json.dumps(order, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    webhook_id = webhook_id or str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Shopify-Captain-Hook",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(client_secret, body),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": triggered_at,
    }
    return Delivery(
        webhook_id=webhook_id,
        event_id=event_id,
        topic=topic,
        object_id=str(order["id"]),
        address=address,
        body=body,
        headers=headers,
        triggered_at=triggered_at,
    )
