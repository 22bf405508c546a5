"""Verifying and reading Walmart event notifications (``InboundWebhooks``).

Walmart authenticates deliveries per subscription (``authDetails.authMethod``):

* ``BASIC_AUTH`` — ``Basic base64(userName:password)`` in the header ``authHeaderName``.
* ``OAUTH`` — Walmart first calls our ``authUrl`` with the clientId/clientSecret we gave it,
  takes ``{access_token, expires_in}``, then sends ``Bearer <token>`` in ``authHeaderName``.
  We issue *HMAC-derived* tokens (:func:`issue_oauth_token`): ``<expiry>.<b64url HMAC-SHA256(
  webhook_oauth_client_secret, "walmart-webhook:<connection id>:<expiry>")>``, so any process
  verifies them without shared state, and they die with the secret or at expiry.
* ``HMAC`` — [unverified] Walmart only says "HMACSHA256 and clientSecret in the authorization
  header". We implement the third-party description: ``WM_SEC.SIGNATURE = base64(HMAC-SHA256(
  secret, "POST\\n<path?query>\\n<WM_SEC.TIMESTAMP>\\n<sha256 hex of body>"))``; header names
  and the signed path are settings.

BASIC and OAUTH authenticate the sender, not the body (TLS protects it); only HMAC detects a
tampered body. Every comparison is constant-time. Dedupe key: ``source.eventId``.
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
from urllib.parse import parse_qs

from tradewire.connectors.base.connection import parse_secrets, parse_settings
from tradewire.connectors.base.spec import NO_QUERY, Connection, HandshakeReply, InboundEvent, SingleDelivery
from tradewire.connectors.walmart.settings import WalmartSecrets, WalmartSettings
from tradewire.errors import ConfigError, WebhookIgnored, WebhookRejected

SYSTEM = "walmart"
EVENT_TYPES = {
    "PO_CREATED": "order.created",
    "PO_LINE_AUTOCANCELLED": "order.updated",
    "INTENT_TO_CANCEL": "order.updated",
    "FRAUD_CANCEL": "order.cancelled",
}
UMBRELLA = "ORDER_UPDATES"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def settings_of(connection: Connection) -> WalmartSettings:
    """The connection's validated settings.

    Raises:
        ConfigError: invalid settings.
    """
    return parse_settings(WalmartSettings, connection, "Walmart")


def secrets_of(connection: Connection) -> WalmartSecrets:
    """The connection's validated secrets.

    Raises:
        ConfigError: client_id/client_secret missing.
    """
    return parse_secrets(WalmartSecrets, connection, "Walmart")


def _secret(value: Any, what: str, connection: Connection) -> str:
    text = value.get_secret_value() if value is not None else ""
    if not text:
        raise ConfigError(f"Walmart connection {connection.id} has no {what} for its webhook auth method")
    return str(text)


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def basic_header(username: str, password: str) -> str:
    """``Basic base64(username:password)``, as Walmart sends it."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _oauth_signature(secret: str, connection_id: str, expiry: int) -> str:
    digest = hmac.new(secret.encode(), f"walmart-webhook:{connection_id}:{expiry}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def issue_oauth_token(connection: Connection, client_id: str, client_secret: str, *, now: datetime) -> dict[str, Any]:
    """Our ``authUrl`` answer to Walmart: ``{access_token, token_type, expires_in}``.

    Raises:
        WebhookRejected: status 401 when the presented clientId/clientSecret are wrong.
        ConfigError: the connection has no webhook OAuth credentials.
    """
    secrets = secrets_of(connection)
    expected_id = _secret(secrets.webhook_oauth_client_id, "webhook_oauth_client_id", connection)
    expected_secret = _secret(secrets.webhook_oauth_client_secret, "webhook_oauth_client_secret", connection)
    ok_id, ok_secret = _eq(client_id, expected_id), _eq(client_secret, expected_secret)
    if not (ok_id and ok_secret):
        raise WebhookRejected("wrong clientId/clientSecret for the webhook authUrl", status=401)
    ttl = settings_of(connection).webhook_oauth_token_ttl_seconds
    expiry = int(now.timestamp()) + ttl
    token = f"{expiry}.{_oauth_signature(expected_secret, connection.id, expiry)}"
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


def hmac_signature(secret: str, *, method: str, path: str, timestamp: str, body: bytes) -> str:
    """[unverified] base64 HMAC-SHA256 over ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nsha256hex(body)``."""
    canonical = f"{method.upper()}\n{path}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}"
    return base64.b64encode(hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).digest()).decode("ascii")


def epoch_microseconds(moment: datetime) -> int:
    """Whole microseconds since the Unix epoch."""
    return (moment - _EPOCH) // (datetime.resolution)


def parse_time(value: Any) -> datetime | None:
    """A UTC datetime from epoch millis (int or digits) or ISO-8601 text; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        try:
            return datetime.fromtimestamp(float(value) / 1000.0, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo else None
    return None


OAUTH_QUERY = "oauth"
OAUTH_TOKEN_REQUEST = "token"  # noqa: S105 - a query value, not a secret


def oauth_credentials(body: bytes, headers: Mapping[str, str]) -> tuple[str, str]:
    """The clientId/clientSecret of a token request: HTTP Basic, a form or a JSON body.

    The format of Walmart's call to the authUrl is [unverified]; all three OAuth2 client
    authentication styles are accepted.
    """
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise WebhookRejected("the token request's Basic credentials are not base64", status=401) from None
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    text = body.decode("utf-8", errors="replace").strip()
    fields: dict[str, Any] = {}
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError:
            raise WebhookRejected("the token request's body is not JSON", status=400) from None
        fields = loaded if isinstance(loaded, dict) else {}
    elif text:
        fields = {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    client_id = fields.get("client_id", fields.get("clientId", ""))
    client_secret = fields.get("client_secret", fields.get("clientSecret", ""))
    return str(client_id), str(client_secret)


class WalmartWebhooks(SingleDelivery):
    """Walmart's ``InboundWebhooks``: the subscription's auth in ``verify``, the envelope in ``parse``.

    The OAUTH ``authUrl`` is the webhook URL with ``?oauth=token``: ``handshake`` answers Walmart's
    token request there (``issue_oauth_token``), so no other route is needed.
    """

    def handshake(
        self, body: bytes, headers: Mapping[str, str], connection: Connection, *, query: Mapping[str, str]
    ) -> HandshakeReply | None:
        """The token for Walmart when the request is a call to our authUrl, else None.

        Raises:
            WebhookRejected: wrong clientId/clientSecret (401).
        """
        if query.get(OAUTH_QUERY) != OAUTH_TOKEN_REQUEST:
            return None
        client_id, client_secret = oauth_credentials(body, headers)
        token = issue_oauth_token(connection, client_id, client_secret, now=datetime.now(UTC))
        return HandshakeReply(json.dumps(token), content_type="application/json")

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> None:
        """Check the delivery's credential as the subscription's ``authMethod`` says.

        Raises:
            WebhookRejected: status 401 when the credential is missing, malformed, wrong or expired.
            ConfigError: the connection lacks the secret its auth method needs.
        """
        lowered = {k.lower(): v for k, v in headers.items()}
        settings, secrets = settings_of(connection), secrets_of(connection)
        method = settings.webhook_auth_method
        if method == "HMAC":
            self._verify_hmac(body, lowered, connection, settings, secrets, now)
            return
        value = lowered.get(settings.webhook_auth_header_name.lower(), "").strip()
        if not value:
            raise WebhookRejected(f"missing {settings.webhook_auth_header_name} header", status=401)
        scheme, _, credential = value.partition(" ")
        if method == "BASIC_AUTH":
            user = _secret(secrets.webhook_username, "webhook_username", connection)
            password = _secret(secrets.webhook_password, "webhook_password", connection)
            if scheme.lower() != "basic":
                raise WebhookRejected("expected a Basic credential", status=401)
            if not _eq(credential.strip(), basic_header(user, password).partition(" ")[2]):
                raise WebhookRejected("wrong Basic credential", status=401)
            return
        secret = _secret(secrets.webhook_oauth_client_secret, "webhook_oauth_client_secret", connection)
        if scheme.lower() != "bearer":
            raise WebhookRejected("expected a Bearer token", status=401)
        expiry_text, _, signature = credential.strip().partition(".")
        if not expiry_text.isdigit() or not signature:
            raise WebhookRejected("the Bearer token is not one we issued", status=401)
        if not _eq(signature, _oauth_signature(secret, connection.id, int(expiry_text))):
            raise WebhookRejected("the Bearer token is not one we issued", status=401)
        if int(expiry_text) <= now.timestamp():
            raise WebhookRejected("the Bearer token expired", status=401)

    def _verify_hmac(
        self,
        body: bytes,
        lowered: Mapping[str, str],
        connection: Connection,
        settings: WalmartSettings,
        secrets: WalmartSecrets,
        now: datetime,
    ) -> None:
        secret = _secret(secrets.webhook_hmac_secret, "webhook_hmac_secret", connection)
        signature = lowered.get(settings.webhook_hmac_signature_header.lower(), "").strip()
        timestamp = lowered.get(settings.webhook_hmac_timestamp_header.lower(), "").strip()
        if not signature:
            raise WebhookRejected(f"missing {settings.webhook_hmac_signature_header} header", status=401)
        try:
            if len(base64.b64decode(signature, validate=True)) != 32:
                raise WebhookRejected("the signature is not a SHA-256 HMAC", status=401)
        except (binascii.Error, ValueError):
            raise WebhookRejected("the signature is not base64", status=401) from None
        signed_at = parse_time(timestamp)
        if signed_at is None:
            raise WebhookRejected(f"missing or unreadable {settings.webhook_hmac_timestamp_header}", status=401)
        age = (now - signed_at).total_seconds()
        if age > settings.webhook_max_age_seconds or age < -300:
            raise WebhookRejected(f"stale or future delivery (signed {age:.0f} s ago)", status=401)
        path = settings.webhook_hmac_path or f"/webhooks/walmart/{connection.id}"
        expected = hmac_signature(secret, method="POST", path=path, timestamp=timestamp, body=body)
        if not _eq(signature, expected):
            raise WebhookRejected("the signature does not match the body (tampered or wrong secret)", status=401)

    def parse(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> InboundEvent:
        """Read ``{source:{eventType,eventTime,eventId}, payload}``.

        Raises:
            WebhookRejected: status 400 for a body that is not the envelope or names no purchase order.
            WebhookIgnored: an event type no flow handles.
        """
        envelope = _json_object(body)
        source, payload = envelope.get("source"), envelope.get("payload")
        if not isinstance(source, dict) or not isinstance(payload, dict):
            raise WebhookRejected("body is not Walmart's {source, payload} envelope", status=400)
        event_type = str(source.get("eventType") or "").strip().upper()
        event_id = str(source.get("eventId") or "").strip()
        if not event_type or not event_id:
            raise WebhookRejected("source.eventType or source.eventId is missing", status=400)
        kind = str(payload.get("subEventType") or "").strip().upper() if event_type == UMBRELLA else event_type
        canonical = EVENT_TYPES.get(kind)
        if canonical is None:
            raise WebhookIgnored(f"Walmart event {event_type}{'/' + kind if kind != event_type else ''} is not handled")
        po = payload.get("purchaseOrderId")
        if not isinstance(po, str | int) or isinstance(po, bool) or not str(po).strip():
            raise WebhookRejected(f"{kind} payload has no purchaseOrderId", status=400)
        event_time = parse_time(source.get("eventTime"))
        changed = _latest_status_date(payload) or event_time or now
        return InboundEvent(
            event_type=canonical,
            idempotency_key=event_id,
            object_type="order",
            external_id=str(po).strip(),
            ordering_key=f"order:{connection.id}:{str(po).strip()}",
            ordering_seq=epoch_microseconds(changed),
            triggered_at=event_time,
        )


def _latest_status_date(payload: Mapping[str, Any]) -> datetime | None:
    lines = payload.get("orderLines")
    if not isinstance(lines, list):
        return None
    dates = [parse_time(line.get("statusDate")) for line in lines if isinstance(line, dict)]
    known = [d for d in dates if d is not None]
    return max(known) if known else None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(f"body is not JSON: {exc}", status=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected(f"body must be a JSON object, got {type(payload).__name__}", status=400)
    return payload
