"""ORDER_CHANGE notifications received over HTTP (``InboundWebhooks``).

Amazon does not sign notifications: it delivers them to an SQS queue or an EventBridge partner
event bus, and trust comes from AWS IAM on that queue or bus. To reach Tradewire over HTTP the
partner adds a relay on their AWS account: an EventBridge rule with an *API destination* (its
connection uses API-key authorisation: header ``relay_header``, value the connection's
``relay_secret``), or a small SQS consumer that POSTs each message body with that header. The
receiver checks the header in constant time against the current and previous relay secret.

The header authenticates the relay, not the body (EventBridge cannot sign a body); TLS protects
the body in transit. The body is either the SP-API notification itself (SQS relay, or an
EventBridge input transformer ``<$.detail>``) or the whole EventBridge event with the
notification in ``detail``; both are accepted.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tradewire.connectors.amazon.mapping import ORDER_CHANGE, unwrap_notification
from tradewire.connectors.amazon.settings import AmazonSecrets, AmazonSettings
from tradewire.connectors.base.connection import parse_secrets, parse_settings
from tradewire.connectors.base.spec import NO_QUERY, Connection, InboundEvent, SingleDelivery
from tradewire.errors import ConfigError, WebhookIgnored, WebhookRejected

MAX_BODY_BYTES = 256 * 1024  # SQS and EventBridge both cap a message at 256 KiB

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _settings(connection: Connection) -> AmazonSettings:
    return parse_settings(AmazonSettings, connection, "Amazon")


def _relay_secrets(connection: Connection) -> list[str]:
    secrets = parse_secrets(AmazonSecrets, connection, "Amazon")
    found = secrets.relay_secrets()
    if not found:
        raise ConfigError(f"Amazon connection {connection.id} has no relay_secret: notifications cannot be checked")
    return found


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def epoch_microseconds(moment: datetime) -> int:
    """Whole microseconds since the Unix epoch, exactly."""
    return (moment - _EPOCH) // _MICROSECOND


def relay_secret_matches(given: str, secrets: list[str]) -> bool:
    """True when ``given`` equals one of ``secrets``; every comparison runs in constant time."""
    given_bytes = given.strip().encode("utf-8", errors="replace")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(given_bytes, secret.encode("utf-8"))
    return matched


def _json_object(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(
            f"body of {len(body)} bytes exceeds the 256 KiB an SQS/EventBridge message can be", status=413
        )
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(f"body is not JSON: {str(exc)[:120]}", status=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected(f"body must be a JSON object, got {type(payload).__name__}", status=400)
    return payload


class AmazonNotifications(SingleDelivery):
    """ORDER_CHANGE over an authenticated relay: secret header in ``verify``, the event in ``parse``."""

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> None:
        """Check the relay's shared-secret header.

        Raises:
            WebhookRejected: 401 when the header is missing or holds the wrong secret.
            ConfigError: the connection has no relay secret.
        """
        header = _settings(connection).relay_header
        given = next((v for k, v in headers.items() if k.lower() == header), "")
        if not given.strip():
            raise WebhookRejected(f"missing {header} header (the relay's shared secret)", status=401)
        if not relay_secret_matches(given, _relay_secrets(connection)):
            raise WebhookRejected(f"{header} does not match the connection's relay secret", status=401)

    def split(self, body: bytes) -> list[bytes]:
        """The notification itself (unwrapped from an EventBridge event when it came in one).

        Raises:
            WebhookRejected: not a JSON object (400) or too large (413).
        """
        payload = _json_object(body)
        inner = unwrap_notification(payload)
        if inner is payload:
            return [body]
        return [json.dumps(inner, separators=(",", ":"), ensure_ascii=False).encode("utf-8")]

    def parse(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> InboundEvent:
        """Read what one notification is about.

        Raises:
            WebhookIgnored: a notification type other than ORDER_CHANGE.
            WebhookRejected: 400 when the NotificationId or AmazonOrderId is missing.
        """
        notification = unwrap_notification(_json_object(body))
        kind = notification.get("NotificationType")
        if kind != ORDER_CHANGE:
            if isinstance(kind, str) and kind:
                raise WebhookIgnored(f"Amazon notification type {kind!r} is not handled")
            raise WebhookRejected("body is not an SP-API notification (no NotificationType)", status=400)
        metadata = notification.get("NotificationMetadata")
        notification_id = metadata.get("NotificationId") if isinstance(metadata, Mapping) else None
        if not isinstance(notification_id, str) or not notification_id.strip():
            raise WebhookRejected("notification has no NotificationMetadata.NotificationId", status=400)
        payload = notification.get("Payload")
        change = payload.get("OrderChangeNotification") if isinstance(payload, Mapping) else None
        if not isinstance(change, Mapping):
            raise WebhookRejected("ORDER_CHANGE has no Payload.OrderChangeNotification", status=400)
        order_id = change.get("AmazonOrderId")
        if not isinstance(order_id, str) or not order_id.strip():
            raise WebhookRejected("ORDER_CHANGE names no AmazonOrderId", status=400)
        trigger = change.get("OrderChangeTrigger")
        changed = (
            _parse_time(trigger.get("TimeOfOrderChange") if isinstance(trigger, Mapping) else None)
            or _parse_time(notification.get("EventTime"))
            or now
        )
        summary = change.get("Summary")
        status = summary.get("OrderStatus") if isinstance(summary, Mapping) else None
        event_type = "order.cancelled" if status == "Canceled" else "order.updated"
        published = metadata.get("PublishTime") if isinstance(metadata, Mapping) else None
        return InboundEvent(
            event_type=event_type,
            idempotency_key=notification_id.strip(),
            object_type="order",
            external_id=order_id.strip(),
            ordering_key=f"order:{connection.id}:{order_id.strip()}",
            ordering_seq=epoch_microseconds(changed),
            triggered_at=_parse_time(published) or _parse_time(notification.get("EventTime")),
        )
