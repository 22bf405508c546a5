"""The NetSuite sandbox's item fulfilments and invoices, made by transforming sales orders.

``POST /record/v1/salesOrder/{id}/!transform/itemFulfillment`` ships sales order lines (body
``item.items[{orderLine, quantity, itemReceive}]``; none: everything still open) with an
optional ``package`` sublist of tracking numbers; ``!transform/invoice`` bills what is shipped
and not billed yet. Both answer 204 with the new record's ``Location``, refuse more than is
open, and move the sales order's status (D partially fulfilled, F pending billing, G billed).
An ``externalId`` in the body is unique per record type (NetSuite's idempotency for creates).
Records are served by ``GET /record/v1/{itemFulfillment|invoice}/{id|eid:…}`` and appear in
SuiteQL's ``transaction`` table (types ``ItemShip`` and ``CustInvc``).

The Python API ``ship(sales_order, packages)`` (and ``POST /_sandbox/ship``) plays the warehouse:
one item fulfilment per package, each with its lines and tracking number.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tradewire.connectors.netsuite.sandbox_store import SandboxError, SandboxStore

TRANSACTION_TYPES = {"itemFulfillment": "ItemShip", "invoice": "CustInvc"}
_SHIPPED = {"id": "C", "refName": "Shipped"}


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _quantity(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or int(value) != value:
        raise SandboxError(400, "INVALID_FLD_VALUE", f"Invalid value for field {path}: {value!r}", path)
    return int(value)


class FulfilmentBook:
    """Item fulfilments and invoices of one sandbox account (thread-safe)."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        self._lock = threading.RLock()
        self.records: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in TRANSACTION_TYPES}
        self._eids: dict[str, dict[str, str]] = {t: {} for t in TRANSACTION_TYPES}
        self._shipped: dict[tuple[str, int], int] = {}
        self._billed: dict[tuple[str, int], int] = {}
        self._numbers = dict.fromkeys(TRANSACTION_TYPES, 0)

    def reset(self) -> None:
        """Forget every fulfilment and invoice."""
        with self._lock:
            for record_type in TRANSACTION_TYPES:
                self.records[record_type].clear()
                self._eids[record_type].clear()
            self._shipped.clear()
            self._billed.clear()
            self._numbers = dict.fromkeys(TRANSACTION_TYPES, 0)

    def get(self, record_type: str, ref: str) -> dict[str, Any]:
        """A copy of one record (by id or ``eid:…``).

        Raises:
            SandboxError: 404 when there is none.
        """
        with self._lock:
            internal_id = self._eids[record_type].get(ref[4:]) if ref.startswith("eid:") else ref
            record = self.records[record_type].get(internal_id or "")
            if record is None:
                raise SandboxError(404, "NONEXISTENT_ID", f"The record instance does not exist. ({record_type} {ref})")
            return copy.deepcopy(record)

    def transform(self, sales_order: str, target: str, body: Mapping[str, Any], *, now: float) -> str:
        """``!transform/{target}`` of one sales order; returns the new record's internal id.

        Raises:
            SandboxError: unknown target or order, a cancelled/closed order, more than is open, nothing
                to bill, a duplicate externalId.
        """
        if target not in TRANSACTION_TYPES:
            raise SandboxError(400, "INVALID_TRANSFORM", f"salesOrder cannot be transformed into {target}.")
        with self._lock:
            order = self.store.get("salesOrder", sales_order)
            eid = body.get("externalId")
            if eid is not None and str(eid) in self._eids[target]:
                raise SandboxError(400, "DUP_RCRD", f"A {target} record with external ID {eid} already exists.")
            if order["orderStatus"]["id"] in ("A", "C", "H"):
                raise SandboxError(
                    400,
                    "USER_ERROR",
                    f"You cannot transform a sales order in status {order['orderStatus']['refName']}.",
                )
            lines = self._fulfil_lines(order, body) if target == "itemFulfillment" else self._bill_lines(order)
            self._numbers[target] += 1
            prefix = "IF" if target == "itemFulfillment" else "INV"
            tran_id = f"{prefix}{self._numbers[target]}"
            entity = order["entity"]["id"]
            internal_id = self.store.add_transaction(
                TRANSACTION_TYPES[target], tran_id, None if eid is None else str(eid), entity, now=now
            )
            record: dict[str, Any] = {
                "id": internal_id, "tranId": tran_id, "entity": copy.deepcopy(order["entity"]),
                "createdFrom": {"id": order["id"], "refName": f"Sales Order #{order['tranId']}"},
                "tranDate": _iso(now)[:10], "createdDate": _iso(now), "lastModifiedDate": _iso(now),
                "item": {"items": lines},
            }  # fmt: skip
            if eid is not None:
                record["externalId"] = str(eid)
                self._eids[target][str(eid)] = internal_id
            if target == "itemFulfillment":
                record["shipStatus"] = dict(_SHIPPED)
                record["package"] = {"items": copy.deepcopy(list((body.get("package") or {}).get("items") or []))}
                for key in ("shipMethod", "memo"):
                    if key in body:
                        record[key] = copy.deepcopy(body[key])
            else:
                record["total"] = round(sum(line["amount"] for line in lines), 2)
            self.records[target][internal_id] = record
            self.store.set_order_status(order["id"], self._status(order), now=now)
            return internal_id

    def ship(self, sales_order: str, packages: Sequence[Mapping[str, Any]], *, now: float) -> list[str]:
        """The warehouse ships: one item fulfilment per package ``{tracking_number, carrier?, lines: [{sku, quantity}]}``.

        Raises:
            SandboxError: as :meth:`transform`, or a SKU that is not open on the order.
        """
        with self._lock:
            order = self.store.get("salesOrder", sales_order)
            ids = []
            for package in packages:
                items = []
                for wanted in package.get("lines") or []:
                    line = next((x for x in order["item"]["items"] if x["item"].get("refName") == wanted["sku"]), None)
                    if line is None:
                        raise SandboxError(400, "USER_ERROR", f"SKU {wanted['sku']} is not on {order['tranId']}.")
                    items.append({"orderLine": line["line"], "quantity": wanted["quantity"], "itemReceive": True})
                body: dict[str, Any] = {"package": {"items": [{"packageTrackingNumber": package["tracking_number"]}]}}
                if items:
                    body["item"] = {"items": items}
                if package.get("carrier"):
                    body["shipMethod"] = {"id": "1", "refName": str(package["carrier"])}
                ids.append(self.transform(order["id"], "itemFulfillment", body, now=now))
            return ids

    # --- internals -----------------------------------------------------------------------------

    def _fulfil_lines(self, order: Mapping[str, Any], body: Mapping[str, Any]) -> list[dict[str, Any]]:
        so_lines = {int(line["line"]): line for line in order["item"]["items"]}
        asked = (body.get("item") or {}).get("items")
        if asked is None:
            asked = [{"orderLine": n, "quantity": self._open(order["id"], line), "itemReceive": True}
                     for n, line in so_lines.items() if self._open(order["id"], line) > 0]  # fmt: skip
        lines: list[dict[str, Any]] = []
        for index, entry in enumerate(asked):
            path = f"item.items[{index}]"
            if not isinstance(entry, dict) or entry.get("itemReceive") is False:
                continue
            number = entry.get("orderLine")
            line = so_lines.get(number) if isinstance(number, int) else None
            if line is None or not isinstance(number, int):
                raise SandboxError(400, "INVALID_KEY_OR_REF", f"Invalid orderLine {number!r}", f"{path}.orderLine")
            quantity = _quantity(entry.get("quantity"), f"{path}.quantity")
            if quantity > self._open(order["id"], line):
                raise SandboxError(
                    400, "USER_ERROR",
                    f"You cannot fulfill more than the remaining quantity ({self._open(order['id'], line)}) "
                    f"of line {number}.", f"{path}.quantity",
                )  # fmt: skip
            self._shipped[(order["id"], number)] = self._shipped.get((order["id"], number), 0) + quantity
            lines.append({"orderLine": number, "line": len(lines) + 1, "item": copy.deepcopy(line["item"]),
                          "quantity": quantity, "itemReceive": True})  # fmt: skip
        if not lines:
            raise SandboxError(400, "USER_ERROR", "You must enter at least one line item for this transaction.")
        return lines

    def _bill_lines(self, order: Mapping[str, Any]) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        for line in order["item"]["items"]:
            key = (order["id"], int(line["line"]))
            quantity = self._shipped.get(key, 0) - self._billed.get(key, 0)
            if quantity <= 0:
                continue
            self._billed[key] = self._billed.get(key, 0) + quantity
            lines.append({"orderLine": line["line"], "line": len(lines) + 1, "item": copy.deepcopy(line["item"]),
                          "quantity": quantity, "rate": line["rate"], "amount": round(quantity * line["rate"], 2)})  # fmt: skip
        if not lines:
            raise SandboxError(400, "USER_ERROR", "You can not initialize invoice: there are no billable lines.")
        return lines

    def _open(self, order_id: str, line: Mapping[str, Any]) -> int:
        return int(line["quantity"]) - self._shipped.get((order_id, int(line["line"])), 0)

    def _status(self, order: Mapping[str, Any]) -> str:
        lines = order["item"]["items"]
        shipped = [self._shipped.get((order["id"], int(x["line"])), 0) for x in lines]
        billed = [self._billed.get((order["id"], int(x["line"])), 0) for x in lines]
        all_shipped = all(s >= int(x["quantity"]) for s, x in zip(shipped, lines, strict=True))
        if all_shipped and all(b >= int(x["quantity"]) for b, x in zip(billed, lines, strict=True)):
            return "G"
        if all_shipped:
            return "F"
        return "E" if any(billed) else ("D" if any(shipped) else "B")
