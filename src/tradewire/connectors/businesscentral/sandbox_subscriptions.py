"""Webhook subscriptions of the Business Central sandbox: handshake, expiry, debounced notifications.

Create and renew call ``notificationUrl?validationToken=…`` (POST) and need the token back as
the body with 200. Changes are collected per subscription and sent ``debounce_seconds`` after
the first one, all notifications for one URL in one ``{"value": […]}`` body; more than
``collection_threshold`` changes of one subscription in a window become one ``collection``
notification whose resource carries ``$filter=lastModifiedDateTime gt …``. Deliveries go
through the kit's ``WebhookSender`` (retries, duplicate and out-of-order knobs).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tradewire.connectors.base.sandbox import FaultDice
from tradewire.connectors.base.sandbox_webhooks import Delivery, WebhookSender
from tradewire.connectors.businesscentral.sandbox_store import SandboxError, _etag, iso_now

MAX_SUBSCRIPTIONS = 200
Handshake = Callable[[str, str], Awaitable[bool]]


@dataclass
class _Pending:
    first_at: float
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)  # entity id → (changeType, lastModified)
    count: int = 0


class Subscriptions:
    """Subscriptions of one environment and their pending notifications (thread-safe)."""

    def __init__(
        self,
        *,
        company_id: str,
        sender: WebhookSender,
        dice: Callable[[], FaultDice],
        lifetime_seconds: float,
        debounce_seconds: float,
        collection_threshold: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.company_id = company_id
        self.sender = sender
        self.dice = dice
        self.lifetime_seconds = lifetime_seconds
        self.debounce_seconds = debounce_seconds
        self.collection_threshold = collection_threshold
        self.clock = clock
        self._lock = threading.Lock()
        self._subs: dict[str, dict[str, Any]] = {}
        self._versions: dict[str, int] = {}
        self._pending: dict[str, _Pending] = {}

    def reset(self) -> None:
        """Forget every subscription and pending change."""
        with self._lock:
            self._subs.clear()
            self._pending.clear()

    def _touch(self, sub: dict[str, Any], now: float) -> None:
        key = sub["subscriptionId"]
        self._versions[key] = self._versions.get(key, 0) + 1
        sub["@odata.etag"] = _etag(self._versions[key], key)
        sub["lastModifiedDateTime"] = iso_now(now)
        sub["expirationDateTime"] = datetime.fromtimestamp(now + self.lifetime_seconds, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )

    def _entity_set(self, resource: str) -> str:
        path = resource.strip().lstrip("/")
        prefix = f"api/v2.0/companies({self.company_id})/"
        if not path.startswith(prefix) or "/" in path[len(prefix) :] or "(" in path[len(prefix) :]:
            raise SandboxError(400, "BadRequest_ResourceNotFound",
                               f"The resource '{resource}' cannot be subscribed to: use /api/v2.0/companies({{id}})/entitySet.")  # fmt: skip
        entity_set = path[len(prefix) :]
        if entity_set not in (
            "customers",
            "items",
            "salesOrders",
            "salesInvoices",
            "salesCreditMemos",
            "salesShipments",
        ):
            raise SandboxError(400, "BadRequest_ResourceNotFound", f"Webhooks are not supported for '{entity_set}'.")
        return entity_set

    async def create(self, body: dict[str, Any], handshake: Handshake) -> dict[str, Any]:
        """POST subscriptions: validate, handshake, store."""
        url, resource = body.get("notificationUrl"), body.get("resource")
        client_state = body.get("clientState", "")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or not isinstance(resource, str):
            raise SandboxError(400, "BadRequest", "notificationUrl (http/https) and resource are required.")
        if not isinstance(client_state, str) or len(client_state) > 2048:
            raise SandboxError(400, "BadRequest", "clientState must be a string of at most 2048 characters.")
        self._entity_set(resource)
        with self._lock:
            if len(self._subs) >= MAX_SUBSCRIPTIONS:
                raise SandboxError(400, "BadRequest", f"The maximum of {MAX_SUBSCRIPTIONS} subscriptions is reached.")
        if not await handshake(url, uuid.uuid4().hex):
            raise SandboxError(400, "Application_DialogException",
                               "The subscription cannot be created: the notification URL did not return the validation token.")  # fmt: skip
        sub = {"subscriptionId": uuid.uuid4().hex, "notificationUrl": url, "resource": resource,
               "userId": "00000000-0000-0000-0000-000000000001", "clientState": client_state}  # fmt: skip
        with self._lock:
            self._touch(sub, self.clock())
            self._subs[sub["subscriptionId"]] = sub
            return dict(sub)

    def get(self, key: str) -> dict[str, Any]:
        """One subscription."""
        with self._lock:
            self._expire(self.clock())
            sub = self._subs.get(key)
            if sub is None:
                raise SandboxError(404, "BadRequest_NotFound", f"The subscription '{key}' was not found.")
            return dict(sub)

    def all(self) -> list[dict[str, Any]]:
        """Every live subscription."""
        with self._lock:
            self._expire(self.clock())
            return [dict(sub) for sub in self._subs.values()]

    async def renew(
        self, key: str, body: dict[str, Any], if_match: str | None, changed: int, handshake: Handshake
    ) -> dict[str, Any]:
        """PATCH: If-Match, handshake again, expiry moves ``lifetime`` on."""
        current = self.get(key)
        if not if_match:
            raise SandboxError(400, "BadRequest_InvalidToken", "Could not validate the client concurrency token.")
        if if_match not in ("*", current["@odata.etag"]):
            raise SandboxError(changed, "Request_EntityChanged", "Another user has already changed the record.")
        url = body.get("notificationUrl", current["notificationUrl"])
        if not await handshake(str(url), uuid.uuid4().hex):
            raise SandboxError(
                400, "Application_DialogException", "The notification URL did not return the validation token."
            )
        with self._lock:
            sub = self._subs.get(key)
            if sub is None:
                raise SandboxError(404, "BadRequest_NotFound", f"The subscription '{key}' was not found.")
            sub.update({k: body[k] for k in ("notificationUrl", "clientState") if k in body})
            self._touch(sub, self.clock())
            return dict(sub)

    def delete(self, key: str) -> None:
        """DELETE a subscription."""
        with self._lock:
            if self._subs.pop(key, None) is None:
                raise SandboxError(404, "BadRequest_NotFound", f"The subscription '{key}' was not found.")
            self._pending.pop(key, None)

    def _expire(self, now: float) -> None:
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for key in [k for k, s in self._subs.items() if s["expirationDateTime"] <= stamp]:
            del self._subs[key]
            self._pending.pop(key, None)

    # --- notifications ---

    def changed(self, entity_set: str, entity_id: str, change_type: str, last_modified: str) -> None:
        """Note a change for every subscription of ``entity_set``."""
        now = self.clock()
        with self._lock:
            for key, sub in self._subs.items():
                if self._entity_set(sub["resource"]) != entity_set:
                    continue
                pending = self._pending.setdefault(key, _Pending(first_at=now))
                previous = pending.changes.get(entity_id, (None, ""))[0]
                kind = "created" if previous == "created" and change_type == "updated" else change_type
                pending.changes[entity_id] = (kind, last_modified)
                pending.count += 1

    def flush(self, *, force: bool = False) -> int:
        """Send notifications whose debounce window has passed (all with ``force``); the number of deliveries."""
        now = self.clock()
        by_url: dict[str, list[dict[str, Any]]] = {}
        with self._lock:
            self._expire(now)
            for key in list(self._pending):
                pending = self._pending[key]
                if not force and now - pending.first_at < self.debounce_seconds:
                    continue
                del self._pending[key]
                sub = self._subs[key]
                base = sub["resource"].strip().lstrip("/")
                common = {"subscriptionId": key, "clientState": sub["clientState"],
                          "expirationDateTime": sub["expirationDateTime"]}  # fmt: skip
                if pending.count > self.collection_threshold:
                    since = datetime.fromtimestamp(pending.first_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    notes = [{**common, "resource": f"{base}?$filter=lastModifiedDateTime%20gt%20{since}",
                              "changeType": "collection", "lastModifiedDateTime": iso_now(now)}]  # fmt: skip
                else:
                    notes = [{**common, "resource": f"{base}({entity_id})", "changeType": kind, "lastModifiedDateTime": modified}
                             for entity_id, (kind, modified) in pending.changes.items()]  # fmt: skip
                by_url.setdefault(sub["notificationUrl"], []).extend(notes)
        dice = self.dice()
        for url, notes in by_url.items():
            body = json.dumps({"value": notes}, separators=(",", ":")).encode()
            self.sender.enqueue(Delivery(
                webhook_id=",".join(sorted({n["subscriptionId"] for n in notes})), event_id=uuid.uuid4().hex,
                topic="notification", object_id=",".join(n["resource"] for n in notes)[:500], address=url, body=body,
                headers={"Content-Type": "application/json"}, triggered_at=iso_now(now),
                duplicate=dice.roll(dice.knobs.duplicate_webhook_rate), out_of_order=dice.roll(dice.knobs.out_of_order_rate),
            ))  # fmt: skip
        return len(by_url)
