"""State of the loyalty/CRM sandbox: members with points, transactions, tokens, subscriptions.

Plain methods, safe to call from another thread (the demo drives the sandbox while uvicorn
serves it): ``create_members``, ``add_member``, ``update_member``, ``add_points``,
``create_transactions``, ``void_transaction``, ``subscribe``, ``delivery_log``, ``set_knobs``,
``revoke_tokens``. Every write stamps ``updated_at`` strictly later than the previous write
(microsecond precision, UTC ``Z``) and notifies the subscribers with a signed webhook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets as stdlib_secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from tradewire.connectors.base.sandbox import FaultDice, FaultKnobs
from tradewire.connectors.base.sandbox_webhooks import Delivery, WebhookSender

EVENTS = ("member.created", "member.updated", "transaction.created", "transaction.voided")
_FIRST = ("Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Dennis", "Frances", "Ken", "Radia")
_LAST = ("Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Ritchie", "Allen", "Thompson", "Perlman")
_CITIES = (("Portland", "OR", "97201"), ("Austin", "TX", "73301"), ("Boston", "MA", "02108"), ("Denver", "CO", "80202"))
_CATALOG = (("TEE-BLK-M", "Black tee (M)", "25.00"), ("MUG-001", "Mug", "12.50"), ("CAP-RED", "Red cap", "19.99"))
_TIERS = ((0, "bronze"), (500, "silver"), (2000, "gold"))


@dataclass
class SandboxOptions:
    """How the sandbox behaves (everything a real loyalty API lets its customers configure)."""

    auth: Literal["api_key", "oauth2"] = "api_key"
    pagination: Literal["cursor", "page"] = "cursor"
    api_key: str = "sandbox-api-key"
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 (sandbox credential)
    token_ttl_seconds: float = 3600.0
    webhook_secret: str = "sandbox-webhook-secret"  # noqa: S105 (sandbox credential)
    requests_per_minute: int = 600
    max_page_size: int = 100
    default_page_size: int = 25
    garbage_rate: float = 0.0
    """Answer 200 with an HTML maintenance page or a truncated JSON body (edge proxy trouble)."""
    points_per_currency_unit: int = 1
    webhook_retry_delays: list[float] = field(default_factory=lambda: [1.0, 5.0, 30.0])
    webhook_timeout_seconds: float = 10.0


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LoyaltyStore:
    """The sandbox's data and behaviour; reachable as ``app.state.loyalty``."""

    def __init__(
        self, *, options: SandboxOptions | None = None, knobs: FaultKnobs | None = None, seed: int | None = None
    ) -> None:
        self.options = options or SandboxOptions()
        self.knobs = knobs or FaultKnobs(seed=seed)
        self.dice = FaultDice(self.knobs)
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self.members: dict[str, dict[str, Any]] = {}
        self.transactions: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, float] = {}
        self.subscriptions: list[dict[str, Any]] = []
        self.served = 0
        self.token_requests = 0
        self.window: tuple[int, int] = (0, 0)  # (minute, requests in it)
        self._last_stamp = 0.0
        self._next = {"member": 1000, "transaction": 5000, "event": 1}
        self.sender = WebhookSender(
            retry_delays=self.options.webhook_retry_delays,
            out_of_order_delay=0.5,
            duplicate_delay=0.05,
            concurrency=8,
        )

    # --- plumbing ------------------------------------------------------------------------------

    def _stamp(self) -> str:
        now = max(time.time(), self._last_stamp + 1e-6)
        self._last_stamp = now
        return _iso(datetime.fromtimestamp(now, tz=UTC))

    def _id(self, kind: str, prefix: str) -> str:
        self._next[kind] += 1
        return f"{prefix}_{self._next[kind]}"

    def set_knobs(self, **changes: Any) -> FaultKnobs:
        """Change fault knobs (validated); the dice keep their sequence."""
        with self._lock:
            self.knobs = FaultKnobs.model_validate({**self.knobs.model_dump(), **changes})
            self.dice.knobs = self.knobs
            return self.knobs

    def take_quota(self, now: float | None = None) -> tuple[bool, int, float]:
        """Count one request in the per-minute quota: (allowed, remaining, seconds until the window resets)."""
        moment = time.time() if now is None else now
        minute = int(moment // 60)
        with self._lock:
            current, used = self.window
            used = used if current == minute else 0
            allowed = used < self.options.requests_per_minute
            used += 1 if allowed else 0
            self.window = (minute, used)
        return allowed, max(self.options.requests_per_minute - used, 0), 60 - moment % 60

    # --- auth ----------------------------------------------------------------------------------

    def issue_token(self, now: float | None = None) -> tuple[str, float]:
        """A new bearer token and its lifetime in seconds."""
        token = "lyt_" + stdlib_secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = (time.time() if now is None else now) + self.options.token_ttl_seconds
        return token, self.options.token_ttl_seconds

    def token_valid(self, token: str, now: float | None = None) -> bool:
        """True for a token issued here and not expired or revoked."""
        with self._lock:
            expiry = self.tokens.get(token)
        return expiry is not None and expiry > (time.time() if now is None else now)

    def revoke_tokens(self) -> int:
        """Revoke every token (a rotated client secret, a revoked app): the next call answers 401."""
        with self._lock:
            count = len(self.tokens)
            self.tokens.clear()
            return count

    # --- members -------------------------------------------------------------------------------

    def _fake_member(self) -> dict[str, Any]:
        first, last = self._random.choice(_FIRST), self._random.choice(_LAST)
        city, state, postal = self._random.choice(_CITIES)
        number = self._next["member"] + 1
        return {
            "email": f"{first}.{last}.{number}@example.com".lower(),
            "first_name": first,
            "last_name": last,
            "phone": f"+1555{self._random.randint(1000000, 9999999)}",
            "address": {
                "street": f"{self._random.randint(1, 999)} Main St",
                "city": city,
                "state": state,
                "zip": postal,
                "country": "US",
            },
            "tags": ["sandbox"],
        }

    def add_member(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a member from API input.

        Raises:
            ValueError: the input breaks a rule (the API answers 422 with the message).
        """
        email = str(data.get("email") or "").strip().lower()
        if "@" not in email or "." not in email.partition("@")[2]:
            raise ValueError("email is not a valid e-mail address")
        with self._lock:
            if any(m["email"] == email for m in self.members.values()):
                raise ValueError(f"a member with email {email} already exists")
            stamp = self._stamp()
            points = int(data.get("points_balance") or 0)
            member: dict[str, Any] = {
                "id": self._id("member", "mbr"),
                "email": email,
                "first_name": data.get("first_name"),
                "last_name": data.get("last_name"),
                "phone": data.get("phone"),
                "address": data.get("address"),
                "tags": list(data.get("tags") or []),
                "points_balance": points,
                "tier": _tier(points),
                "status": "active",
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.members[member["id"]] = member
            self._notify("member.created", member)
            return dict(member)

    def create_members(self, count: int) -> list[dict[str, Any]]:
        """Create ``count`` generated members."""
        return [self.add_member(self._fake_member()) for _ in range(count)]

    def update_member(self, member_id: str, **changes: Any) -> dict[str, Any]:
        """Change a member's fields (``first_name``, ``phone``, ``address``, ``tags``, ``status``…).

        Raises:
            KeyError: no such member.
            ValueError: a field that cannot be changed.
        """
        allowed = {"first_name", "last_name", "phone", "address", "tags", "status", "email"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
        with self._lock:
            member = self.members[member_id]
            member.update(changes)
            member["updated_at"] = self._stamp()
            self._notify("member.updated", member)
            return dict(member)

    def add_points(self, member_id: str, delta: int, reason: str = "adjustment") -> dict[str, Any]:
        """Add (or remove) points; the tier follows the balance.

        Raises:
            KeyError: no such member.
            ValueError: the balance would go below zero.
        """
        with self._lock:
            member = self.members[member_id]
            balance = member["points_balance"] + delta
            if balance < 0:
                raise ValueError(f"member {member_id} has only {member['points_balance']} points")
            member["points_balance"] = balance
            member["tier"] = _tier(balance)
            member["last_points_reason"] = reason
            member["updated_at"] = self._stamp()
            self._notify("member.updated", member)
            return dict(member)

    # --- transactions --------------------------------------------------------------------------

    def add_transaction(
        self, member_id: str, items: list[dict[str, Any]], *, currency: str = "USD", tax: str = "0.00"
    ) -> dict[str, Any]:
        """Record a purchase: lines ``{sku, name, qty, unit_price}``; points are earned on the subtotal.

        Raises:
            KeyError: no such member.
            ValueError: no items or a bad quantity/price.
        """
        if not items:
            raise ValueError("a transaction needs at least one item")
        lines = []
        subtotal = Decimal(0)
        for index, item in enumerate(items, start=1):
            qty = int(item.get("qty", 1))
            price = Decimal(str(item.get("unit_price", "0")))
            if qty <= 0 or price < 0:
                raise ValueError(f"item {index}: qty must be > 0 and unit_price >= 0")
            subtotal += qty * price
            lines.append(
                {
                    "line": index,
                    "sku": item.get("sku"),
                    "name": item.get("name", ""),
                    "qty": qty,
                    "unit_price": f"{price:.2f}",
                }
            )
        with self._lock:
            member = self.members[member_id]
            stamp = self._stamp()
            number = self._next["transaction"] + 1
            points = int(subtotal) * self.options.points_per_currency_unit
            tx: dict[str, Any] = {
                "id": self._id("transaction", "txn"),
                "number": f"T-{number}",
                "member_id": member_id,
                "member": {k: member.get(k) for k in ("email", "first_name", "last_name", "phone")},
                "status": "completed",
                "currency": currency,
                "items": lines,
                "subtotal": f"{subtotal:.2f}",
                "tax": tax,
                "total": f"{subtotal + Decimal(tax):.2f}",
                "points_earned": points,
                "created_at": stamp,
                "updated_at": stamp,
                "voided_at": None,
            }
            self.transactions[tx["id"]] = tx
            self._notify("transaction.created", tx)
            self.add_points(member_id, points, reason=f"purchase {tx['number']}")
            return dict(tx)

    def create_transactions(self, count: int, member_id: str | None = None) -> list[dict[str, Any]]:
        """``count`` generated purchases (by ``member_id``, or by a new member each)."""
        out = []
        for _ in range(count):
            owner = member_id or self.create_members(1)[0]["id"]
            picks = self._random.sample(_CATALOG, k=self._random.randint(1, len(_CATALOG)))
            items = [{"sku": s, "name": n, "qty": self._random.randint(1, 3), "unit_price": p} for s, n, p in picks]
            out.append(self.add_transaction(owner, items))
        return out

    def void_transaction(self, transaction_id: str) -> dict[str, Any]:
        """Void a purchase (idempotent); its points are taken back as far as the balance allows.

        Raises:
            KeyError: no such transaction.
        """
        with self._lock:
            tx = self.transactions[transaction_id]
            if tx["status"] == "voided":
                return dict(tx)
            tx["status"] = "voided"
            tx["updated_at"] = tx["voided_at"] = self._stamp()
            self._notify("transaction.voided", tx)
            member = self.members[tx["member_id"]]
            self.add_points(
                member["id"], -min(tx["points_earned"], member["points_balance"]), reason=f"void {tx['number']}"
            )
            return dict(tx)

    # --- listing -------------------------------------------------------------------------------

    def changed_since(self, kind: str, since: str | None) -> list[dict[str, Any]]:
        """Records of ``kind`` (members, transactions) changed at or after ``since``, oldest change first."""
        table = self.members if kind == "members" else self.transactions
        with self._lock:
            rows = [dict(r) for r in table.values() if since is None or r["updated_at"] >= since]
        return sorted(rows, key=lambda r: (r["updated_at"], r["id"]))

    # --- webhooks ------------------------------------------------------------------------------

    def subscribe(self, url: str, events: list[str] | None = None) -> dict[str, Any]:
        """Send ``events`` (default: all) to ``url``.

        Raises:
            ValueError: not an http(s) URL, or an unknown event.
        """
        if not url.startswith(("http://", "https://")):
            raise ValueError("url must be http(s)")
        chosen = list(events or EVENTS)
        unknown = set(chosen) - set(EVENTS)
        if unknown:
            raise ValueError(f"unknown event(s) {', '.join(sorted(unknown))}; known: {', '.join(EVENTS)}")
        with self._lock:
            subscription = {"id": f"sub_{len(self.subscriptions) + 1}", "url": url, "events": chosen}
            self.subscriptions.append(subscription)
            return dict(subscription)

    def _notify(self, event_type: str, record: dict[str, Any]) -> None:
        for subscription in self.subscriptions:
            if event_type not in subscription["events"]:
                continue
            event_id = f"evt_{self._next['event']}"
            self._next["event"] += 1
            body = json.dumps(
                {"id": event_id, "type": event_type, "created_at": record["updated_at"], "data": record},
                separators=(",", ":"),
            ).encode("utf-8")
            timestamp = str(int(time.time()))
            digest = hmac.new(self.options.webhook_secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
            delivery = Delivery(
                webhook_id=subscription["id"],
                event_id=event_id,
                topic=event_type,
                object_id=str(record["id"]),
                address=subscription["url"],
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": "LoyaltyHooks/1.0",
                    "X-Loyalty-Event-Id": event_id,
                    "X-Loyalty-Timestamp": timestamp,
                    "X-Loyalty-Signature": "sha256=" + digest.hexdigest(),
                },
                triggered_at=record["updated_at"],
                duplicate=self.dice.roll(self.knobs.duplicate_webhook_rate),
                out_of_order=self.dice.roll(self.knobs.out_of_order_rate),
            )
            self.sender.enqueue(delivery)

    def delivery_log(self, object_id: str | None = None) -> list[dict[str, Any]]:
        """Every delivery so far (optionally about one record), with its attempts."""
        return [d.to_json() for d in list(self.sender.log) if object_id is None or d.object_id == object_id]


def _tier(points: int) -> str:
    tier = _TIERS[0][1]
    for floor, name in _TIERS:
        if points >= floor:
            tier = name
    return tier


def encode_cursor(updated_at: str, record_id: str, since: str | None) -> str:
    """An opaque cursor: the last row seen and the filter it belongs to."""
    raw = json.dumps([updated_at, record_id, since], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str, str | None]:
    """The parts of a cursor.

    Raises:
            ValueError: not a cursor this sandbox issued.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, record_id, since = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ValueError("invalid cursor") from exc
    if not isinstance(updated_at, str) or not isinstance(record_id, str):
        raise ValueError("invalid cursor")
    return updated_at, record_id, since
