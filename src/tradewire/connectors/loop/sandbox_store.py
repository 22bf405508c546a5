"""State of one sandbox Loop account, and its plain-Python API.

Tests and the demo drive a running sandbox without HTTP through ``app.state.loop`` (a
:class:`SandboxLoop`): ``create_returns(5)``, ``create_label(rid)``, ``update_label(rid,
"in_transit")``, ``request_restock(rid)``, ``process(rid)``, ``close(rid)``, ``cancel(rid)``,
``expire(rid)``, ``flag(rid)``, ``remove_line_item(rid, line_item_id)``, ``subscribe(topic,
address)``, ``set_knobs(...)``, ``delivery_log()``, ``wait_idle()``. Every method is thread-safe.

Lifecycle: ``open → closed | cancelled | expired``. Processing (``process``) closes an open return
and sends ``return.closed``; a flagged return is refused with Loop's ``UNPROCESSABLE_FLAGGED_RETURN``
body; ``fail_processing(rid)`` makes the next processing fail asynchronously
(``return.processing.failed``), as a Shopify refund error would.
"""

from __future__ import annotations

import copy
import itertools
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tradewire.connectors.base.sandbox import FaultDice, FaultKnobs
from tradewire.connectors.base.sandbox_webhooks import WebhookSender
from tradewire.connectors.loop.sandbox_data import DEFAULT_CATALOG, build_return, catalog_order, money
from tradewire.connectors.loop.sandbox_options import (
    FLAGGED,
    RETURNS_SCOPE,
    SandboxActionError,
    SandboxOptions,
    TokenBucket,
    iso_ms,
)
from tradewire.connectors.loop.sandbox_outbox import Outbox
from tradewire.connectors.loop.schemas import parse_loop_time


class SandboxLoop:
    """One fake Loop account: returns, webhook subscriptions, API keys, limits and fault dice."""

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        knobs: FaultKnobs | None = None,
        catalog: Sequence[tuple[str, str, str | Decimal | float]] | None = None,
        seed: int | None = None,
        options: SandboxOptions | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.options = options or SandboxOptions()
        self.keys: dict[str, frozenset[str]] = {api_key: frozenset({RETURNS_SCOPE})}
        self.knobs = knobs or FaultKnobs()
        self.dice = FaultDice(
            self.knobs if self.knobs.seed is not None else self.knobs.model_copy(update={"seed": seed})
        )
        self.served = 0
        self.catalog = list(catalog or DEFAULT_CATALOG)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._random = random.Random(seed)
        self._return_ids = itertools.count(self.options.first_return_id)
        self._line_ids = itertools.count(50_001)
        self._order_ids = itertools.count(5_550_000_001)
        self._loop_order_ids = itertools.count(70_001)
        self._numbers = itertools.count(1001)
        self.returns: dict[int, dict[str, Any]] = {}
        self.flagged: set[int] = set()
        self.failing: set[int] = set()
        self.processed: dict[int, dict[str, Any] | None] = {}
        self.buckets: dict[str, TokenBucket] = {}
        self.outbox = Outbox(webhook_secret, self.options)

    # --- keys and limits -------------------------------------------------------------------------

    def add_api_key(self, key: str, scopes: Iterable[str]) -> None:
        """Accept ``key`` with ``scopes`` (e.g. ``["orders"]`` to provoke a wrong-scope 401)."""
        with self._lock:
            self.keys[key] = frozenset(scopes)

    def bucket(self, key: str) -> TokenBucket:
        """The rate bucket of one API key."""
        with self._lock:
            if key not in self.buckets:
                self.buckets[key] = TokenBucket(self.options.rate_per_second, self.options.rate_burst)
            return self.buckets[key]

    # --- time ------------------------------------------------------------------------------------

    def _stamp(self, record: Mapping[str, Any] | None = None) -> str:
        """Now (milliseconds), strictly after the record's last edit so each edit has its own key."""
        now = self._clock().astimezone(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if record is not None:
            last = parse_loop_time(str(record.get("edited_at") or ""))
            if last is not None and now <= last:
                now = last + timedelta(milliseconds=1)
        return iso_ms(now)

    # --- returns ---------------------------------------------------------------------------------

    def create_returns(
        self,
        count: int,
        orders: Sequence[Mapping[str, Any]] | None = None,
        *,
        catalog: Sequence[tuple[str, str, str | Decimal | float]] | None = None,
        outcome: str | None = None,
    ) -> list[dict[str, Any]]:
        """Create ``count`` open returns (from ``orders`` in turn, else from ``catalog`` or the sandbox's
        catalog); each sends ``return.created``.

        Raises:
            ValueError: ``count`` < 0, or an order has nothing returnable.
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        created = []
        with self._lock:
            for index in range(count):
                if orders:
                    order = orders[index % len(orders)]
                else:
                    number = next(self._numbers)
                    order = catalog_order(
                        self._random, list(catalog or self.catalog), order_id=next(self._order_ids), number=number
                    )
                record = build_return(
                    self._random,
                    order,
                    return_id=next(self._return_ids),
                    loop_order_id=next(self._loop_order_ids),
                    next_line_id=lambda: next(self._line_ids),
                    shop_id=self.options.shop_id,
                    now=self._stamp(),
                    tax_rate=self.options.tax_rate,
                    outcome=outcome,
                )
                self.returns[record["id"]] = record
                created.append(copy.deepcopy(record))
                self._emit("return", "return.created", record)
        return created

    def add_return(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Store a given return as is (an ``id`` is assigned when missing) and send ``return.created``."""
        with self._lock:
            record = copy.deepcopy(dict(payload))
            record["id"] = int(record.get("id") or next(self._return_ids))
            now = self._stamp()
            for key in ("created_at", "updated_at", "edited_at"):
                record.setdefault(key, now)
            record.setdefault("state", "open")
            record.setdefault("line_items", [])
            record.setdefault("labels", [])
            self.returns[record["id"]] = record
            self._emit("return", "return.created", record)
            return copy.deepcopy(record)

    def get_return(self, return_id: int) -> dict[str, Any] | None:
        """A copy of the return, or None."""
        with self._lock:
            record = self.returns.get(return_id)
            return copy.deepcopy(record) if record is not None else None

    def all_returns(self) -> list[dict[str, Any]]:
        """Copies of every return, oldest first."""
        with self._lock:
            return [copy.deepcopy(r) for r in self.returns.values()]

    def _open(self, return_id: int, verb: str) -> dict[str, Any]:
        record = self.returns.get(return_id)
        if record is None:
            raise SandboxActionError(404, "Return not found.", "RETURN_NOT_FOUND")
        if record.get("state") != "open":
            raise SandboxActionError(
                422, f"Return is {record.get('state')} and therefore cannot be {verb}.", "UNPROCESSABLE_RETURN_STATE"
            )
        return record

    def _touch(self, record: dict[str, Any]) -> str:
        now = self._stamp(record)
        record["updated_at"] = now
        record["edited_at"] = now
        return now

    def update_return(self, return_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change top-level fields (a note, an address…); sends ``return.updated``.

        Raises:
            SandboxActionError: no such return.
        """
        with self._lock:
            record = self.returns.get(return_id)
            if record is None:
                raise SandboxActionError(404, "Return not found.", "RETURN_NOT_FOUND")
            record.update({k: copy.deepcopy(v) for k, v in changes.items() if k != "id"})
            self._touch(record)
            self._emit("return", "return.updated", record)
            return copy.deepcopy(record)

    def create_label(
        self, return_id: int, *, carrier: str = "USPS", tracking_number: str | None = None
    ) -> dict[str, Any]:
        """Issue a return label (status ``pre_transit``); sends ``label.created``.

        Raises:
            SandboxActionError: no such return, or it is not open.
        """
        with self._lock:
            record = self._open(return_id, "labelled")
            now = self._touch(record)
            label = {
                "id": f"lbl_{uuid.UUID(int=self._random.getrandbits(128)).hex[:16]}",
                "status": "pre_transit",
                "carrier": carrier,
                "tracking_number": tracking_number or f"9400{self._random.randrange(10**17, 10**18)}",
                "label_url": f"https://labels.example.com/{return_id}.pdf",
                "rate": "7.95",
                "created_at": now,
                "updated_at": now,
                "shipment_id": str(self._random.randrange(10**9, 10**10)),
            }
            record.setdefault("labels", []).append(label)
            self._emit("label", "label.created", record, label=label)
            return copy.deepcopy(label)

    def update_label(self, return_id: int, status: str) -> dict[str, Any]:
        """Move the latest label's tracking status (``in_transit``, ``delivered``…); sends ``label.updated``.

        Raises:
            SandboxActionError: no such return, or it has no label.
        """
        with self._lock:
            record = self.returns.get(return_id)
            if record is None:
                raise SandboxActionError(404, "Return not found.", "RETURN_NOT_FOUND")
            if not record.get("labels"):
                raise SandboxActionError(422, "Return has no label.", "NO_LABEL")
            label = record["labels"][-1]
            now = self._touch(record)
            label.update(status=status, updated_at=now)
            self._emit("label", "label.updated", record, label=label)
            return copy.deepcopy(label)

    def request_restock(self, return_id: int, line_item_ids: Sequence[int] | None = None) -> dict[str, Any]:
        """Mark line items received (``returned_at``) and ask for a restock; sends ``restock.requested``.

        Raises:
            SandboxActionError: no such return, or it is not open.
        """
        with self._lock:
            record = self._open(return_id, "restocked")
            now = self._touch(record)
            for item in record.get("line_items") or []:
                if line_item_ids is None or item.get("line_item_id") in line_item_ids:
                    item["returned_at"] = now
            self._emit("restock", "restock.requested", record)
            return copy.deepcopy(record)

    def flag(self, return_id: int) -> dict[str, Any]:
        """Flag the return for review (processing is refused until closed); sends ``return.updated``."""
        with self._lock:
            record = self._open(return_id, "flagged")
            self.flagged.add(return_id)
            self._touch(record)
            self._emit("return", "return.updated", record)
            return copy.deepcopy(record)

    def fail_processing(self, return_id: int) -> None:
        """Make the next processing of this return fail asynchronously (``return.processing.failed``)."""
        with self._lock:
            self.failing.add(return_id)

    def process(self, return_id: int, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Queue an open return for processing: refunds issued, state ``closed``, ``return.closed`` sent.

        Loop processes asynchronously and reports the result only by webhook; with
        ``processing_delay_seconds`` > 0 the sandbox does too (a timer), else it finishes within the
        call. A return marked with :meth:`fail_processing` stays open and sends
        ``return.processing.failed``.

        Raises:
            SandboxActionError: 404; 422 ``UNPROCESSABLE_FLAGGED_RETURN`` when flagged; 422 when not open.
        """
        with self._lock:
            if return_id in self.flagged and return_id in self.returns:
                raise SandboxActionError(422, FLAGGED["message"], FLAGGED["code"])
            self._open(return_id, "processed")
            self.processed[return_id] = copy.deepcopy(dict(details)) if details else None
        delay = self.options.processing_delay_seconds
        if delay > 0:
            timer = threading.Timer(delay, self._finish_processing, args=(return_id,))
            timer.daemon = True
            timer.start()
        else:
            self._finish_processing(return_id)
        return {"message": "Return queued for processing."}

    def _finish_processing(self, return_id: int) -> None:
        with self._lock:
            record = self.returns.get(return_id)
            if record is None or record.get("state") != "open":
                return  # closed or cancelled while queued: nothing to do, as Loop skips it
            if return_id in self.failing:
                self.failing.discard(return_id)
                self._emit_processing_failed(record)
                return
            refund = record.get("refund") or "0.00"
            if Decimal(str(refund)) > 0:
                record["refunds"] = [
                    {
                        "gateway": "shopify_payments",
                        "amount": refund,
                        "currency": record.get("currency"),
                        "provider_refund_id": str(self._random.randrange(10**11, 10**12)),
                    }
                ]
            record["state"] = "closed"
            self._touch(record)
            self._emit("return", "return.closed", record)

    def close(self, return_id: int) -> dict[str, Any]:
        """Close an open return without processing; sends ``return.closed``."""
        with self._lock:
            record = self._open(return_id, "closed")
            record["state"] = "closed"
            self.flagged.discard(return_id)
            self._touch(record)
            self._emit("return", "return.closed", record)
            return {"message": "Return closed."}

    def cancel(self, return_id: int) -> dict[str, Any]:
        """Cancel an open return; sends ``return.updated`` (Loop has no cancel trigger)."""
        return self._end(return_id, "cancelled")

    def expire(self, return_id: int) -> dict[str, Any]:
        """Expire an open return (the customer never shipped it); sends ``return.updated``."""
        return self._end(return_id, "expired")

    def _end(self, return_id: int, state: str) -> dict[str, Any]:
        with self._lock:
            record = self._open(return_id, state)
            record["state"] = state
            self.flagged.discard(return_id)
            self._touch(record)
            self._emit("return", "return.updated", record)
            return {"message": f"Return {state}."}

    def remove_line_item(self, return_id: int, line_item_id: int) -> dict[str, Any]:
        """Remove one line item from an open return (not the last one); sends ``return.updated``."""
        with self._lock:
            record = self._open(return_id, "changed")
            items = record.get("line_items") or []
            kept = [i for i in items if str(i.get("line_item_id")) != str(line_item_id)]
            if len(kept) == len(items):
                raise SandboxActionError(404, "Line item not found on this return.", "LINE_ITEM_NOT_FOUND")
            if not kept:
                raise SandboxActionError(422, "A return must keep at least one line item.", "LAST_LINE_ITEM")
            record["line_items"] = kept
            _recompute_totals(record)
            self._touch(record)
            self._emit("return", "return.updated", record)
            return copy.deepcopy(record)

    # --- reads as the API filters them ------------------------------------------------------------

    def list_returns(
        self, start: datetime, end: datetime, *, filter_on: str, states: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Returns whose ``filter_on`` time lies in [start, end] (end inclusive to its whole second),
        in ``states`` (``review`` matches ``needs review``), ordered by that time then id."""
        wanted = {"needs review" if s == "review" else s for s in states}
        until = end + timedelta(seconds=1)
        with self._lock:
            found = []
            for record in self.returns.values():
                moment = parse_loop_time(str(record.get(filter_on) or ""))
                if moment is None or not start <= moment < until or record.get("state") not in wanted:
                    continue
                found.append((moment, record["id"], copy.deepcopy(record)))
        found.sort(key=lambda entry: (entry[0], entry[1]))
        return [entry[2] for entry in found]

    # --- webhooks (see ``sandbox_outbox``) -----------------------------------------------------------

    @property
    def sender(self) -> WebhookSender:
        """The generic signed-delivery sender (started by the app's lifespan)."""
        return self.outbox.sender

    @property
    def subscriptions(self) -> list[dict[str, Any]]:
        """Webhook subscriptions, oldest first."""
        return self.outbox.subscriptions

    def subscribe(self, topic: str, address: str, triggers: Sequence[str] | None = None) -> dict[str, Any]:
        """Subscribe ``address`` to ``topic`` for some or all of its triggers. Raises as ``Outbox.subscribe``."""
        return self.outbox.subscribe(topic, address, triggers)

    def webhook_body(self, topic: str, trigger: str, return_id: int) -> bytes:
        """The exact bytes a delivery of ``trigger`` about the return would carry now.

        Raises:
            KeyError: no such return.
        """
        with self._lock:
            record = self.returns[return_id]
            labels = record.get("labels") or []
            return self.outbox.body(topic, trigger, record, labels[-1] if topic == "label" and labels else None)

    def _emit(
        self, topic: str, trigger: str, record: Mapping[str, Any], *, label: Mapping[str, Any] | None = None
    ) -> None:
        self.outbox.emit(
            topic, trigger, record, label=label, knobs=self.knobs, dice=self.dice, triggered_at=iso_ms(self._clock())
        )

    def _emit_processing_failed(self, record: Mapping[str, Any]) -> None:
        self._emit("return.processing", "return.processing.failed", record)

    def delivery_log(self, return_id: int | None = None) -> list[dict[str, Any]]:
        """Every delivery (optionally of one return): ids, trigger, first send time, each attempt's status."""
        return self.outbox.delivery_log(return_id)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is queued, in flight or waiting for a retry (or ``timeout``)."""
        return self.outbox.wait_idle(timeout)

    # --- faults ----------------------------------------------------------------------------------

    def set_knobs(self, **changes: Any) -> FaultKnobs:
        """Change some fault knobs (validated); the dice keep their random stream.

        Raises:
            pydantic.ValidationError: a knob is out of range.
        """
        with self._lock:
            knobs = FaultKnobs.model_validate({**self.knobs.model_dump(), **changes})
            self.knobs = knobs
            self.dice.knobs = knobs
            return knobs


def _recompute_totals(record: dict[str, Any]) -> None:
    items = record.get("line_items") or []
    product = sum((Decimal(str(i.get("price") or 0)) for i in items), Decimal(0))
    discount = sum((Decimal(str(i.get("discount") or 0)) for i in items), Decimal(0))
    tax = sum((Decimal(str(i.get("tax") or 0)) for i in items), Decimal(0))
    total = product - discount + tax
    record.update(
        return_product_total=money(product),
        return_discount_total=money(discount),
        return_tax_total=money(tax),
        return_total=money(total),
        total=money(total),
    )
    outcome = record.get("outcome")
    if outcome == "refund":
        record["refund"] = money(total)
    elif outcome == "credit":
        record["gift_card"] = money(total)
        record["return_credit_total"] = money(total)
