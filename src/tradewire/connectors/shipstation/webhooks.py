"""Verifying and reading ShipStation V1 webhook notifications (``InboundWebhooks``).

ShipStation does not sign webhooks, and the body only says where to look:
``{"resource_url": "...", "resource_type": "SHIP_NOTIFY"}``. So:

* the target URL carries a per-connection secret, ``?token=…``, checked in constant time in
  ``verify`` (missing or wrong → 401);
* nothing in the body is trusted: ``parse`` only accepts a ``resource_url`` at the connection's
  own API origin (the client checks again before sending credentials there), the event's
  idempotency key is a hash of that URL (a redelivery names the same URL), and the shipments
  themselves are re-read from ShipStation by the flow (``ShipStationClient.fetch_ship_notify``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import ValidationError

from tradewire.connectors.base.connection import parse_secrets, parse_settings
from tradewire.connectors.base.spec import NO_QUERY, Connection, InboundEvent, SingleDelivery
from tradewire.connectors.shipstation.schemas import SsNotification
from tradewire.connectors.shipstation.settings import ShipStationSecrets, ShipStationSettings, resource_url_problem
from tradewire.errors import WebhookIgnored, WebhookRejected

TOKEN_PARAM = "token"  # noqa: S105 - the query parameter's name, not a secret
MAX_BODY_BYTES = 16 * 1024
# A notification is not a shipment: it names a batch to read. The flow expands it with
# ``poller.ship_notify_records`` into the same per-shipment records the poller makes, so a
# shipment seen by both the webhook and the poll is one message (key ``shipment:<id>``).
BATCH_EVENT = "shipment_batch.notified"
SHIP_EVENTS: dict[str, str] = {"SHIP_NOTIFY": BATCH_EVENT, "ITEM_SHIP_NOTIFY": BATCH_EVENT}
_BATCH_PARAMS = ("batchid", "importbatch")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _settings(connection: Connection) -> ShipStationSettings:
    return parse_settings(ShipStationSettings, connection, "ShipStation")


def _secrets(connection: Connection) -> ShipStationSecrets:
    return parse_secrets(ShipStationSecrets, connection, "ShipStation")


def token_matches(given: str, tokens: list[str]) -> bool:
    """True when ``given`` equals one of ``tokens`` (constant-time per token, over UTF-8 bytes)."""
    raw = given.encode("utf-8", errors="replace")
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(raw, token.encode("utf-8"))
    return matched


def notification_key(resource_type: str, resource_url: str) -> str:
    """The idempotency key of a notification: its type and a SHA-256 of its ``resource_url``."""
    digest = hashlib.sha256(resource_url.strip().encode("utf-8")).hexdigest()
    return f"{resource_type}:{digest[:40]}"


def read_notification(body: bytes) -> SsNotification:
    """The notification in ``body``.

    Raises:
        WebhookRejected: status 400 when the body is too big, not JSON, or lacks resource_url/resource_type.
    """
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(f"body of {len(body)} bytes is far larger than a ShipStation notification", status=400)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(f"body is not JSON: {exc}", status=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected(f"body must be a JSON object, got {type(payload).__name__}", status=400)
    try:
        return SsNotification.model_validate(payload)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise WebhookRejected(f"not a ShipStation notification: {where}: {error['msg']}", status=400) from None


class ShipStationWebhooks(SingleDelivery):
    """ShipStation's ``InboundWebhooks``: the URL token in ``verify``, the thin body in ``parse``."""

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> None:
        """Check the ``token`` query parameter of the delivery against the connection's webhook token.

        Raises:
            WebhookRejected: status 401 when the token is missing or wrong.
            ConfigError: the connection has no webhook token.
        """
        given = query.get(TOKEN_PARAM, "")
        if not given:
            raise WebhookRejected("missing ?token= in the webhook URL (ShipStation does not sign webhooks)", status=401)
        if not token_matches(given, _secrets(connection).webhook_tokens()):
            raise WebhookRejected("the webhook URL's token is wrong for this connection", status=401)

    def parse(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> InboundEvent:
        """Read what a verified notification is about.

        Raises:
            WebhookIgnored: a type Tradewire does not act on (ORDER_NOTIFY and the like).
            WebhookRejected: status 400 for a malformed body or a resource_url outside the connection's API.
        """
        notification = read_notification(body)
        resource_type = notification.resource_type.strip().upper()
        event_type = SHIP_EVENTS.get(resource_type)
        if event_type is None:
            raise WebhookIgnored(f"ShipStation {resource_type} notifications are not handled")
        url = notification.resource_url.strip()
        problem = resource_url_problem(_settings(connection), url, path="/shipments")
        if problem is not None:
            raise WebhookRejected(f"refusing the notification: {problem}", status=400)
        key = notification_key(resource_type, url)
        batch = _batch_id(url) or key.rsplit(":", 1)[1]
        return InboundEvent(
            event_type=event_type,
            idempotency_key=key,
            object_type="shipment_batch",
            external_id=batch,
            ordering_key=f"shipstation:{connection.id}:batch:{batch}",
            # The body has no time: order by receipt.
            ordering_seq=(now - _EPOCH) // _MICROSECOND,
            triggered_at=None,
        )


def _batch_id(url: str) -> str | None:
    for name, value in httpx.URL(url).params.multi_items():
        if name.lower() in _BATCH_PARAMS and value and len(value) <= 64:
            return value
    return None
