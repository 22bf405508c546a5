"""Verifying and reading Loop webhook deliveries (``InboundWebhooks``).

Loop signs the exact raw body: ``X-Loop-Signature = base64(HMAC-SHA256(webhook secret, body))``.
Loop sends no delivery id and no trigger-time header, so a delivery is identified by what it
says: return id + trigger + the return's change time (``edited_at``, else ``updated_at``; a
label's ``label_updated_at``). A redelivery of the same change has the same key. Events of one
return share an ordering key and are ordered by that change time.

Trigger → canonical event type (``object_type`` is always ``return``, ``external_id`` Loop's
return id):

=========================  ==============================  =====================================
Loop trigger               event_type                      note
=========================  ==============================  =====================================
return.created             return.created                  customer submitted the return
return.updated             return.updated                  any edit (state, line items, notes)
return.closed              return.closed                   processed or closed by the merchant
label.created              return.label_created            label issued (carrier, tracking)
label.updated              return.label_updated            tracking status moved (EasyPost)
label.requested            return.label_requested
label.closed               return.label_closed
restock.requested          return.restock_requested        items arrived; restock asked for
return.processing.failed   return.processing_failed        async processing failed (body: return_id, message)
giftcard.requested,        (ignored: answered 200,         no flow acts on them
shipment.processed         nothing stored)
=========================  ==============================  =====================================

A body without ``trigger`` (Loop adds it only when a topic has several triggers subscribed) gets
one from its topic: ``return`` by its state (closed → ``return.closed``; never edited →
``return.created``; else ``return.updated``), ``label`` → ``label.updated``, ``restock`` →
``restock.requested``. A bare trigger (``created``) is read as ``<topic>.created``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tradewire.connectors.base.auth import verify_hmac_base64
from tradewire.connectors.base.connection import parse_secrets
from tradewire.connectors.base.spec import NO_QUERY, Connection, InboundEvent, SingleDelivery
from tradewire.connectors.loop.schemas import parse_loop_time
from tradewire.connectors.loop.settings import LoopSecrets
from tradewire.errors import WebhookIgnored, WebhookRejected

SIGNATURE_HEADER = "x-loop-signature"
MAX_BODY_BYTES = 5 * 1024 * 1024

EVENT_TYPES: dict[str, str] = {
    "return.created": "return.created",
    "return.updated": "return.updated",
    "return.closed": "return.closed",
    "label.created": "return.label_created",
    "label.updated": "return.label_updated",
    "label.requested": "return.label_requested",
    "label.closed": "return.label_closed",
    "restock.requested": "return.restock_requested",
    "return.processing.failed": "return.processing_failed",
}
IGNORED_TRIGGERS = frozenset({"giftcard.requested", "shipment.processed"})
_DEFAULT_TRIGGER = {
    "label": "label.updated",
    "restock": "restock.requested",
    "return.processing": "return.processing.failed",
}

# Loop stamps times in whole seconds, so a return's creation and its label often share a second;
# these microseconds order such events (created, label, update, restock, failure, closed) and are
# far too small to reorder events of different seconds.
TRIGGER_RANK = {
    "return.created": 0,
    "label.requested": 1,
    "label.created": 2,
    "label.updated": 3,
    "label.closed": 4,
    "return.updated": 5,
    "restock.requested": 6,
    "return.processing.failed": 7,
    "return.closed": 8,
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_microseconds(moment: datetime) -> int:
    """Whole microseconds since the Unix epoch, exactly."""
    return (moment - _EPOCH) // _MICROSECOND


def _secrets(connection: Connection) -> LoopSecrets:
    return parse_secrets(LoopSecrets, connection, "Loop")


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object.

    Raises:
        WebhookRejected: status 400 when it is not one JSON object.
    """
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(f"body is not JSON: {str(exc)[:120]}", status=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected(f"body must be a JSON object, got {type(payload).__name__}", status=400)
    return payload


def _id_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value) if value > 0 else None
    if isinstance(value, str):
        text = value.strip()
        if text and len(text) <= 64 and all(c.isalnum() or c in "-_" for c in text):
            return text
    return None


def trigger_of(payload: Mapping[str, Any]) -> str:
    """The payload's trigger, completed from its topic when Loop left it out or sent it bare."""
    topic = str(payload.get("topic") or "").strip().lower()
    trigger = str(payload.get("trigger") or "").strip().lower()
    if trigger and "." not in trigger and topic:
        trigger = f"{topic}.{trigger}"
    if trigger:
        return trigger
    if topic == "return" or (not topic and "line_items" in payload):
        state = str(payload.get("state") or "").strip().lower()
        if state == "closed":
            return "return.closed"
        created, edited = payload.get("created_at"), payload.get("edited_at") or payload.get("updated_at")
        return "return.created" if created and created == edited else "return.updated"
    return _DEFAULT_TRIGGER.get(topic, "")


def return_id_of(payload: Mapping[str, Any]) -> str | None:
    """Loop's return id: ``return_id`` where a body names one (label, processing), else ``id``."""
    return _id_text(payload.get("return_id")) or _id_text(payload.get("id"))


def changed_at(payload: Mapping[str, Any], trigger: str) -> datetime | None:
    """When the subject last changed: a label's ``label_updated_at``, a return's ``edited_at``/``updated_at``."""
    keys = ("label_updated_at", "updated_at", "edited_at") if trigger.startswith("label.") else ()
    for key in (*keys, "edited_at", "updated_at", "created_at"):
        value = payload.get(key)
        if isinstance(value, str):
            parsed = parse_loop_time(value)
            if parsed is not None:
                return parsed
    return None


def return_event(
    payload: Mapping[str, Any], body: bytes, connection: Connection, *, trigger: str, now: datetime
) -> InboundEvent:
    """The event a Loop payload means (shared by webhooks and the polling backstop).

    Raises:
        WebhookRejected: status 400 when the body names no return id.
        WebhookIgnored: a trigger no flow acts on.
    """
    if trigger in IGNORED_TRIGGERS:
        raise WebhookIgnored(f"Loop trigger {trigger!r} is not handled")
    event_type = EVENT_TYPES.get(trigger)
    if event_type is None:
        raise WebhookIgnored(f"Loop trigger {trigger or '(none)'!r} is not handled")
    return_id = return_id_of(payload)
    if return_id is None:
        shown = payload.get("return_id", payload.get("id"))
        raise WebhookRejected(f"{trigger} body names no return id (got {shown!r:.40})", status=400)
    changed = changed_at(payload, trigger)
    if changed is not None:
        version = str(epoch_microseconds(changed))
    else:
        # Nothing in the body says when (return.processing.failed): the body itself is the version.
        version = "sha256-" + hashlib.sha256(body).hexdigest()[:32]
    return InboundEvent(
        event_type=event_type,
        idempotency_key=f"return:{return_id}:{trigger}:{version}",
        object_type="return",
        external_id=return_id,
        ordering_key=f"return:{connection.id}:{return_id}",
        ordering_seq=epoch_microseconds(changed or now) + TRIGGER_RANK.get(trigger, 0),
        triggered_at=None,
    )


class LoopWebhooks(SingleDelivery):
    """Loop's ``InboundWebhooks``: the HMAC in ``verify``, the event in ``parse``."""

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> None:
        """Check ``X-Loop-Signature`` over the exact bytes received (constant-time compare).

        Loop sends no timestamp, so there is no freshness check: replays are caught by the
        idempotency key instead.

        Raises:
            WebhookRejected: 413 for an oversized body; 401 when the signature is missing, not
                base64 of 32 bytes, or matches neither the current nor the previous secret.
            ConfigError: the connection has no webhook secret.
        """
        if len(body) > MAX_BODY_BYTES:
            raise WebhookRejected(f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES} bytes", status=413)
        signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), "").strip()
        if not signature:
            raise WebhookRejected("missing X-Loop-Signature header", status=401)
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise WebhookRejected("X-Loop-Signature is not base64", status=401) from None
        if len(raw) != 32:
            raise WebhookRejected("X-Loop-Signature is not a SHA-256 HMAC (wrong length)", status=401)
        secrets = _secrets(connection)
        if not any(verify_hmac_base64(secret, body, signature) for secret in secrets.webhook_secrets()):
            raise WebhookRejected("X-Loop-Signature does not match the body (tampered or wrong secret)", status=401)

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
            WebhookIgnored: a trigger no flow acts on (answer 200, store nothing).
            WebhookRejected: status 400 when the body is not a JSON object or names no return.
        """
        payload = json_object(body)
        return return_event(payload, body, connection, trigger=trigger_of(payload), now=now)
