"""Inbound webhooks verified and read as the definition says (``InboundWebhooks``).

The signature is an HMAC (sha256, sha1 or sha512) of the raw body — or of a payload such as
``{timestamp}.{body}`` — under a connection secret, sent hex or base64 in one header, perhaps
behind a prefix (``sha256=``). With a timestamp header, deliveries older or newer than
``tolerance_seconds`` are refused (replay window). Comparison is constant-time. The event id,
type, object id and ordering key are JMESPath expressions on the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tradewire.connectors.base.spec import NO_QUERY, Connection, InboundEvent, SingleDelivery
from tradewire.connectors.http.definition import Definition, Signature, WebhookSpec
from tradewire.connectors.http.mapping import parse_time, search
from tradewire.connectors.http.poller import microseconds
from tradewire.connectors.http.settings import connection_parts, require_secrets
from tradewire.errors import ConfigError, WebhookIgnored, WebhookRejected

_DIGESTS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "sha512": hashlib.sha512}


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def signed_payload(signature: Signature, body: bytes, timestamp: str | None) -> bytes:
    """The bytes the vendor signs: the body, or the ``signed_payload`` template around it."""
    if signature.signed_payload == "{body}":
        return body
    before, _, after = signature.signed_payload.partition("{body}")
    stamp = timestamp or ""
    return before.replace("{timestamp}", stamp).encode() + body + after.replace("{timestamp}", stamp).encode()


def sign(signature: Signature, secret: str, body: bytes, timestamp: str | None = None) -> str:
    """The header value the vendor would send for ``body`` (used by the sandbox and tests)."""
    digest = hmac.new(secret.encode("utf-8"), signed_payload(signature, body, timestamp), _DIGESTS[signature.algorithm])
    raw = digest.digest()
    text = raw.hex() if signature.encoding == "hex" else base64.b64encode(raw).decode("ascii")
    return signature.prefix + text


def _decode(signature: Signature, text: str) -> bytes:
    value = text.strip()
    if signature.prefix:
        if not value.startswith(signature.prefix):
            raise WebhookRejected(f"{signature.header} lacks the prefix {signature.prefix!r}", status=401)
        value = value[len(signature.prefix) :]
    try:
        if signature.encoding == "hex":
            return bytes.fromhex(value)
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise WebhookRejected(f"{signature.header} is not {signature.encoding}", status=401) from None


def _candidates(text: str) -> list[str]:
    """Signature header values may list several (``v1=…,v1=…`` during a rotation, or space-separated)."""
    return [part for part in text.replace(",", " ").split() if part] or [text]


def verify_signature(spec: WebhookSpec, secret: str, body: bytes, headers: Mapping[str, str], *, now: datetime) -> None:
    """Check one delivery's signature and age against the definition.

    Raises:
        WebhookRejected: status 401 when the signature or timestamp is missing, malformed, wrong or stale;
            413 when the body is larger than ``max_body_bytes``.
    """
    signature = spec.signature
    if len(body) > spec.max_body_bytes:
        raise WebhookRejected(f"body larger than {spec.max_body_bytes} bytes", status=413)
    lowered = _lower(headers)
    given = lowered.get(signature.header.lower(), "").strip()
    if not given:
        raise WebhookRejected(f"missing {signature.header} header", status=401)
    timestamp: str | None = None
    if signature.timestamp_header is not None:
        timestamp = lowered.get(signature.timestamp_header.lower(), "").strip()
        if not timestamp:
            raise WebhookRejected(f"missing {signature.timestamp_header} header", status=401)
        moment = parse_time(timestamp)
        if moment is None:
            raise WebhookRejected(f"{signature.timestamp_header} is not a time", status=401)
        if abs((now - moment).total_seconds()) > signature.tolerance_seconds:
            raise WebhookRejected(
                f"{signature.timestamp_header} is outside the {signature.tolerance_seconds:.0f} s window (replay?)",
                status=401,
            )
    payload = signed_payload(signature, body, timestamp)
    expected = hmac.new(secret.encode("utf-8"), payload, _DIGESTS[signature.algorithm]).digest()
    matched = False
    for candidate in _candidates(given):
        raw = _decode(signature, candidate)
        matched |= hmac.compare_digest(raw, expected)
    if not matched:
        raise WebhookRejected(f"{signature.header} does not match the body (tampered or wrong secret)", status=401)


def _definition(connection: Connection) -> tuple[Definition, WebhookSpec, str]:
    _, secrets, definition = connection_parts(connection)
    if definition.webhooks is None:
        raise ConfigError(f"{definition.name} declares no webhooks (connection {connection.id})")
    require_secrets(connection, secrets, {definition.webhooks.signature.secret})
    return definition, definition.webhooks, secrets.get(definition.webhooks.signature.secret)


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list) or value == "":
        return None
    return str(value)


class HttpWebhooks(SingleDelivery):
    """``InboundWebhooks`` for every declarative system: the definition of the connection says how."""

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> None:
        """Check the signature (and timestamp) as the connection's definition describes.

        Raises:
            WebhookRejected: 401 unsigned, tampered, wrong secret or stale; 413 oversized.
            ConfigError: the definition declares no webhooks or the secret is missing.
        """
        _, spec, secret = _definition(connection)
        verify_signature(spec, secret, body, headers, now=now)

    def parse(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> InboundEvent:
        """Read the event by the definition's expressions.

        Raises:
            WebhookRejected: 400 when the body is not a JSON object or lacks the event id or object id.
            WebhookIgnored: an event type the definition does not route.
        """
        definition, spec, _ = _definition(connection)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("the body is not JSON", status=400) from None
        if not isinstance(payload, dict):
            raise WebhookRejected("the body is not a JSON object", status=400)
        event_type = _scalar(search(spec.event_type, payload))
        if event_type is None:
            raise WebhookRejected(f"no event type at {spec.event_type!r}", status=400)
        route = spec.events.get(event_type)
        if route is None:
            raise WebhookIgnored(f"{definition.name} event {event_type!r} is not routed by the definition")
        if spec.event_id_header is not None:
            event_id = _lower(headers).get(spec.event_id_header.lower(), "").strip() or None
        else:
            assert spec.event_id is not None
            event_id = _scalar(search(spec.event_id, payload))
        if not event_id:
            raise WebhookRejected("the delivery carries no event id", status=400)
        object_id = _scalar(search(spec.object_id, payload))
        if object_id is None:
            raise WebhookRejected(f"no object id at {spec.object_id!r}", status=400)
        key = _scalar(search(spec.ordering_key, payload)) if spec.ordering_key else object_id
        occurred = parse_time(search(spec.occurred_at, payload)) if spec.occurred_at else None
        canonical = definition.objects[route.object].canonical
        return InboundEvent(
            event_type=route.event,
            idempotency_key=f"{definition.name}:{event_id}",
            object_type=canonical,
            external_id=object_id,
            ordering_key=f"http:{definition.name}:{route.object}:{key or object_id}",
            ordering_seq=microseconds(occurred or now.astimezone(UTC)),
            triggered_at=occurred,
        )
