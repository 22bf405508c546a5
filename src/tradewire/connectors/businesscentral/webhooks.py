"""Business Central webhook subscriptions: the validation handshake and notification deliveries.

BC signs nothing. A subscription carries a ``clientState`` secret that BC echoes in every
notification; each one is checked against the connection's ``webhook_client_state`` with a
constant-time compare (a wrong or missing one → 401). A delivery ``{"value": […]}`` may batch
several notifications (of several subscriptions); each becomes its own stored message, keyed
by subscriptionId + resource + lastModifiedDateTime + changeType (BC sends no event id).

Notifications only name what changed: ``resource`` is the entity's URL (or, for a
``collection`` notification sent when > 1,000 records changed in one debounce window, the
entity set with a ``$filter`` to re-query). Flows read the record through the client.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from pydantic import ValidationError

from tradewire.connectors.base.spec import NO_QUERY, Connection, HandshakeReply, InboundEvent
from tradewire.connectors.businesscentral.schemas import BcNotification
from tradewire.errors import WebhookIgnored, WebhookRejected

MAX_NOTIFICATIONS = 1000
MAX_TOKEN_LENGTH = 2048
# Entity set → canonical object. Events are named "<object>.<changeType>"; none of them starts the
# channel order flows (a BC sales order is the ERP's copy, not a new channel order).
OBJECTS = {
    "salesOrders": "sales_order",
    "salesShipments": "shipment",
    "salesInvoices": "invoice",
    "salesCreditMemos": "credit_memo",
    "customers": "customer",
    "items": "item",
}
CHANGE_TYPES = ("created", "updated", "deleted", "collection")
_ENTITY = re.compile(r"companies\(([^)]*)\)/([A-Za-z]+)(?:\(([^)]*)\))?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(f"body is not JSON: {exc}", status=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected(f"body must be a JSON object, got {type(payload).__name__}", status=400)
    return payload


def notifications(body: bytes) -> list[dict[str, Any]]:
    """The ``value`` list of a delivery.

    Raises:
        WebhookRejected: not ``{"value": [objects]}``, empty, or more than 1,000 notifications (400).
    """
    value = _json(body).get("value")
    if not isinstance(value, list) or not value:
        raise WebhookRejected('body must be {"value": [notifications]} with at least one notification', status=400)
    if len(value) > MAX_NOTIFICATIONS:
        raise WebhookRejected(f"{len(value)} notifications in one delivery (at most {MAX_NOTIFICATIONS})", status=400)
    if not all(isinstance(item, dict) for item in value):
        raise WebhookRejected("every notification must be a JSON object", status=400)
    return value


def expected_client_state(connection: Connection) -> str:
    """The connection's clientState secret.

    Raises:
        WebhookRejected: none configured (401: nothing can be authenticated).
    """
    state = connection.secrets.get("webhook_client_state")
    if not state:
        raise WebhookRejected("connection has no webhook_client_state; set it before subscribing", status=401)
    return str(state)


def parse_resource(resource: str) -> tuple[str, str | None, str | None]:
    """``(entitySet, id, $filter)`` of a notification's ``resource``.

    Raises:
        WebhookRejected: the resource names no company entity set (400).
    """
    path, _, query = resource.partition("?")
    match = _ENTITY.search(path)
    if match is None:
        raise WebhookRejected(f"resource {resource[:120]!r} names no companies(…)/entitySet", status=400)
    entity_id = (match.group(3) or "").strip("'") or None
    filter_ = None
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == "$filter":
            filter_ = unquote(value)
    return match.group(2), entity_id, filter_


def _moment(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise WebhookRejected(f"lastModifiedDateTime {value[:40]!r} is not an ISO-8601 time", status=400) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def idempotency_key(note: BcNotification) -> str:
    """``bc:`` + SHA-256 of subscriptionId, resource, lastModifiedDateTime and changeType."""
    raw = "\x1f".join((note.subscription_id, note.resource.lstrip("/"), note.last_modified_date_time, note.change_type))
    return "bc:" + hashlib.sha256(raw.encode()).hexdigest()


class BusinessCentralWebhooks:
    """``SPEC.webhooks``: handshake, clientState check, one event per notification."""

    def handshake(
        self, body: bytes, headers: Mapping[str, str], connection: Connection, *, query: Mapping[str, str]
    ) -> HandshakeReply | None:
        """Answer ``?validationToken=…`` with the token as ``text/plain`` (subscription create and renew).

        Raises:
            WebhookRejected: an empty, over-long or non-printable token (400).
        """
        token = next((v for k, v in query.items() if k.lower() == "validationtoken"), None)
        if token is None:
            return None
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isprintable():
            raise WebhookRejected("validationToken is empty, too long or not printable", status=400)
        return HandshakeReply(body=token)

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> None:
        """Every notification must carry the connection's clientState (constant-time compare).

        Raises:
            WebhookRejected: 401 for a wrong or missing clientState, 400 for a body BC never sends.
        """
        expected = expected_client_state(connection).encode()
        for n, item in enumerate(notifications(body), 1):
            given = item.get("clientState")
            if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected):
                raise WebhookRejected(f"notification {n} carries a wrong or no clientState", status=401)

    def split(self, body: bytes) -> list[bytes]:
        """One ``{"value": [notification]}`` per notification, so each is stored (and deduplicated) alone."""
        return [json.dumps({"value": [item]}, separators=(",", ":")).encode() for item in notifications(body)]

    def parse(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> InboundEvent:
        """What one notification is about (``sales_order.updated``, ``shipment.collection`` …).

        Raises:
            WebhookRejected: a notification missing subscriptionId/resource/changeType/time (400).
            WebhookIgnored: an entity set no flow reads.
        """
        items = notifications(body)
        if len(items) != 1:
            raise WebhookRejected("parse takes one notification; split the delivery first", status=400)
        try:
            note = BcNotification.model_validate(items[0])
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors())
            raise WebhookRejected(f"notification lacks {fields}", status=400) from None
        if note.change_type not in CHANGE_TYPES:
            raise WebhookRejected(f"unknown changeType {note.change_type[:40]!r}", status=400)
        entity_set, entity_id, filter_ = parse_resource(note.resource)
        object_type = OBJECTS.get(entity_set)
        if object_type is None:
            raise WebhookIgnored(f"notifications about {entity_set} are not used")
        changed = _moment(note.last_modified_date_time)
        if note.change_type == "collection" or entity_id is None:
            external_id = f"{entity_set}?$filter={filter_ or ''}"
            ordering_key = f"{object_type}:{connection.id}:collection"
        else:
            external_id = entity_id
            ordering_key = f"{object_type}:{connection.id}:{entity_id}"
        return InboundEvent(
            event_type=f"{object_type}.{note.change_type}",
            idempotency_key=idempotency_key(note),
            object_type=object_type,
            external_id=external_id,
            ordering_key=ordering_key,
            ordering_seq=(changed - _EPOCH) // timedelta(microseconds=1),
            triggered_at=changed,
        )


WEBHOOKS = BusinessCentralWebhooks()
