"""The Business Central sandbox's records and business rules (one company), plus OData querying.

Plain Python guarded by one lock, so tests and the demo can drive it from any thread. Every
entity carries an ``@odata.etag`` that changes on each write; writes that name a stale etag
fail with ``Request_EntityChanged``. Amounts are computed as BC does for a simple tax setup:
line amount = quantity × unit price − line discount; tax = ``tax_rate`` × amount.
"""

from __future__ import annotations

import base64
import copy
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
LINE_SETS = {
    "salesOrders": "salesOrderLines",
    "salesInvoices": "salesInvoiceLines",
    "salesShipments": "salesShipmentLines",
    "salesCreditMemos": "salesCreditMemoLines",
}
ENTITY_SETS = ("customers", "items", *LINE_SETS, "itemLedgerEntries")
GL_ACCOUNTS = ("8110", "6410", "40100")  # accounts Account lines may use (8110: freight/shipping)


class SandboxError(Exception):
    """A request BC would refuse: becomes ``{"error": {"code", "message"}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def iso_now(now: float) -> str:
    """BC's ``lastModifiedDateTime`` form (milliseconds, ``Z``)."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _etag(version: int, key: str) -> str:
    raw = f"{version};{key};".encode()
    return 'W/"' + base64.b64encode(b"JzQ0O" + raw).decode() + '"'


def _num(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SandboxError(
            400, "BadRequest", f"Cannot convert the literal '{value}' to the expected type 'Edm.Decimal' ({field})."
        )
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise SandboxError(
            400, "BadRequest", f"Cannot convert the literal '{value}' to 'Edm.Decimal' ({field})."
        ) from None


def _round(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


@dataclass(frozen=True)
class SalesOrderRow:
    """A sales order as the ledger shows it (kept after delete or posting, for exactly-once checks)."""

    id: str
    number: str
    external_document_number: str
    customer_id: str
    status: str  # Draft | Open | Deleted | Posted
    created_at: float
    line_count: int
    total: float

    @property
    def external_id(self) -> str:
        """Alias of ``external_document_number`` (the NetSuite ledger's field name)."""
        return self.external_document_number

    @property
    def canonical_order_id(self) -> str | None:
        """The Tradewire order id this number was made from (32 hex digits → UUID), else None."""
        try:
            return (
                str(uuid.UUID(hex=self.external_document_number)) if len(self.external_document_number) == 32 else None
            )
        except ValueError:
            return None

    def to_json(self) -> dict[str, Any]:
        """camelCase JSON for the admin endpoints."""
        return {"id": self.id, "number": self.number, "externalDocumentNumber": self.external_document_number,
                "customerId": self.customer_id, "status": self.status, "createdAt": self.created_at,
                "lineCount": self.line_count, "total": self.total}  # fmt: skip


class Company:
    """One company's entities."""

    def __init__(self, company_id: str, *, tax_rate: Decimal, clock: Callable[[], float] = time.time) -> None:
        self.id = company_id
        self.tax_rate = tax_rate
        self.clock = clock
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every record."""
        with self.lock:
            self.sets: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in ENTITY_SETS}
            self.versions: dict[str, int] = {}
            self.counters: dict[str, int] = {"customers": 10000, "salesOrders": 101000, "salesInvoices": 103000,
                                             "salesShipments": 102000, "salesCreditMemos": 104000, "entry": 0}  # fmt: skip
            self.ledger: dict[str, dict[str, Any]] = {}

    # --- snapshots (atomic $batch) ---

    def snapshot(self) -> tuple[Any, ...]:
        """A deep copy to roll back to."""
        with self.lock:
            return copy.deepcopy((self.sets, self.versions, self.counters, self.ledger))

    def restore(self, snap: tuple[Any, ...]) -> None:
        """Roll back to ``snap``."""
        with self.lock:
            self.sets, self.versions, self.counters, self.ledger = snap

    # --- generic ---

    def _touch(self, record: dict[str, Any], now: float) -> None:
        key = record["id"]
        self.versions[key] = self.versions.get(key, 0) + 1
        record["@odata.etag"] = _etag(self.versions[key], key)
        record["lastModifiedDateTime"] = iso_now(now)

    def get(self, entity_set: str, key: str) -> dict[str, Any]:
        """One record (a copy).

        Raises:
            SandboxError: 404 ``BadRequest_NotFound`` / ``Internal_RecordNotFound``.
        """
        with self.lock:
            record = self.sets.get(entity_set, {}).get(key)
            if record is None:
                raise SandboxError(
                    404, "BadRequest_NotFound", f"The entity with key '{key}' was not found in {entity_set}."
                )
            return copy.deepcopy(record)

    def rows(self, entity_set: str) -> list[dict[str, Any]]:
        """Every record of a set (copies), in insertion order."""
        with self.lock:
            if entity_set not in self.sets:
                raise SandboxError(404, "BadRequest_NotFound", f"Resource not found for the segment '{entity_set}'.")
            return copy.deepcopy(list(self.sets[entity_set].values()))

    def check_etag(self, record: dict[str, Any], if_match: str | None, *, changed_status: int) -> None:
        """``If-Match`` must be ``*`` or the current etag.

        Raises:
            SandboxError: 400 ``BadRequest_InvalidToken`` without it, ``changed_status`` when stale.
        """
        if not if_match:
            raise SandboxError(400, "BadRequest_InvalidToken",
                               "Could not validate the client concurrency token required by the service. "
                               "Please provide a valid token in the client request.")  # fmt: skip
        if if_match != "*" and if_match != record["@odata.etag"]:
            raise SandboxError(changed_status, "Request_EntityChanged", "Another user has already changed the record.")

    # --- customers and items ---

    def seed_items(
        self, items: Iterable[tuple[str, str, Decimal | float | str]], *, inventory: int = 100
    ) -> dict[str, str]:
        """Add inventory items; return number → id (existing numbers keep their id)."""
        now, out = self.clock(), {}
        with self.lock:
            by_number = {r["number"]: r for r in self.sets["items"].values()}
            for sku, title, price in items:
                number = sku.upper()
                record = by_number.get(number)
                if record is None:
                    record = {"id": str(uuid.uuid4()), "number": number, "displayName": title, "type": "Inventory",
                              "blocked": False, "gtin": "", "inventory": inventory, "unitPrice": float(price),
                              "priceIncludesTax": False, "unitCost": 0, "baseUnitOfMeasureCode": "PCS"}  # fmt: skip
                    self.sets["items"][record["id"]] = record
                    by_number[number] = record
                else:
                    record.update(displayName=title, unitPrice=float(price))
                self._touch(record, now)
                out[sku] = record["id"]
        return out

    def create_customer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST customers. Raises SandboxError for a number that exists or a missing name."""
        with self.lock:
            if not body.get("displayName"):
                raise SandboxError(400, "Application_FieldValidationException", "displayName must have a value.")
            number = str(body.get("number") or "").upper()
            if len(number) > 20:
                raise SandboxError(400, "Application_StringExceededLength",
                                   f"The length of the string is {len(number)}, but it must be less than or equal to 20 characters.")  # fmt: skip
            if number and any(r["number"] == number for r in self.sets["customers"].values()):
                raise SandboxError(400, "Internal_EntityWithSameKeyExists",
                                   f"The record in table Customer already exists. Identification fields and values: No.='{number}'")  # fmt: skip
            if not number:
                self.counters["customers"] += 10
                number = str(self.counters["customers"])
            allowed = ("displayName", "type", "addressLine1", "addressLine2", "city", "state", "country", "postalCode",
                       "phoneNumber", "email", "website", "taxLiable", "currencyCode", "blocked")  # fmt: skip
            record = {"id": str(uuid.uuid4()), "number": number, "type": "Company", "email": "", "phoneNumber": "",
                      "currencyCode": "", "blocked": " ", **{k: body[k] for k in allowed if k in body}}  # fmt: skip
            self.sets["customers"][record["id"]] = record
            self._touch(record, self.clock())
            return copy.deepcopy(record)

    # --- sales documents ---

    def _customer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        customer_id, number = body.get("customerId"), body.get("customerNumber")
        for record in self.sets["customers"].values():
            if (customer_id and record["id"] == customer_id) or (number and record["number"] == str(number).upper()):
                return record
        shown = f"No.='{number}'" if number else f"Id='{customer_id}'"
        raise SandboxError(
            400, "Internal_RecordNotFound", f"The Customer does not exist. Identification fields and values: {shown}"
        )

    def _line(self, document_id: str, body: Mapping[str, Any], sequence: int) -> dict[str, Any]:
        line_type = body.get("lineType", "Item")
        line: dict[str, Any] = {"id": str(uuid.uuid4()), "documentId": document_id, "sequence": int(body.get("sequence") or sequence),
                                "lineType": line_type, "itemId": ZERO_GUID, "accountId": ZERO_GUID}  # fmt: skip
        if line_type == "Item":
            item = None
            for record in self.sets["items"].values():
                if (
                    record["id"] == body.get("itemId")
                    or record["number"] == str(body.get("lineObjectNumber", "")).upper()
                ):
                    item = record
            if item is None:
                raise SandboxError(400, "Internal_RecordNotFound",
                                   f"The Item does not exist. Identification fields and values: No.='{body.get('lineObjectNumber') or body.get('itemId')}'")  # fmt: skip
            line.update(itemId=item["id"], lineObjectNumber=item["number"], description=body.get("description") or item["displayName"],
                        unitPrice=float(body.get("unitPrice", item["unitPrice"])), unitOfMeasureCode="PCS")  # fmt: skip
        elif line_type == "Account":
            if str(body.get("lineObjectNumber")) not in GL_ACCOUNTS:
                raise SandboxError(400, "Internal_RecordNotFound",
                                   f"The G/L Account does not exist. Identification fields and values: No.='{body.get('lineObjectNumber')}'")  # fmt: skip
            line.update(lineObjectNumber=str(body["lineObjectNumber"]), description=body.get("description", ""),
                        unitPrice=float(body.get("unitPrice", 0)))  # fmt: skip
        else:
            raise SandboxError(400, "BadRequest", f"lineType '{line_type}' is not supported by this sandbox.")
        line.update(quantity=float(_num(body.get("quantity", 0), "quantity")), discountAmount=float(_num(body.get("discountAmount", 0), "discountAmount")),
                    shippedQuantity=0, invoicedQuantity=0, shipQuantity=0, invoiceQuantity=0)  # fmt: skip
        self._amounts(line)
        return line

    def _amounts(self, line: dict[str, Any]) -> None:
        net = _num(line["quantity"], "quantity") * _num(line["unitPrice"], "unitPrice") - _num(
            line["discountAmount"], "discountAmount"
        )
        tax = (net * self.tax_rate).quantize(Decimal("0.01"))
        line.update(amountExcludingTax=_round(net), taxPercent=float(self.tax_rate * 100), totalTaxAmount=_round(tax),
                    amountIncludingTax=_round(net + tax), netAmount=_round(net))  # fmt: skip
        remaining = line["quantity"] - line.get("shippedQuantity", 0)
        line.update(shipQuantity=remaining, invoiceQuantity=line["quantity"] - line.get("invoicedQuantity", 0))

    def _totals(self, header: dict[str, Any]) -> None:
        lines = header["_lines"]
        net = sum((Decimal(str(line.get("amountExcludingTax", 0))) for line in lines), Decimal(0))
        tax = sum((Decimal(str(line.get("totalTaxAmount", 0))) for line in lines), Decimal(0))
        discount = Decimal(str(header.get("discountAmount", 0)))
        header.update(totalAmountExcludingTax=_round(net - discount), totalTaxAmount=_round(tax),
                      totalAmountIncludingTax=_round(net - discount + tax))  # fmt: skip
        if "fullyShipped" in header:
            header["fullyShipped"] = bool(lines) and all(l["shippedQuantity"] >= l["quantity"] for l in lines)  # noqa: E741

    HEADER_FIELDS = ("externalDocumentNumber", "orderDate", "postingDate", "currencyCode", "pricesIncludeTax", "discountAmount",
                     "email", "phoneNumber", "shipToName", "shipToContact", "shipToAddressLine1", "shipToAddressLine2",
                     "shipToCity", "shipToState", "shipToCountry", "shipToPostCode", "sellToAddressLine1", "sellToAddressLine2",
                     "sellToCity", "sellToState", "sellToCountry", "sellToPostCode", "requestedDeliveryDate", "partialShipping",
                     "creditMemoDate", "invoiceId", "invoiceNumber")  # fmt: skip

    def create_document(self, entity_set: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST salesOrders / salesCreditMemos, with deep-inserted lines."""
        now = self.clock()
        with self.lock:
            customer = self._customer(body)
            if len(str(body.get("externalDocumentNumber", ""))) > 35:
                raise SandboxError(
                    400, "Application_StringExceededLength", "externalDocumentNumber exceeds 35 characters."
                )
            currency = str(body.get("currencyCode", ""))
            if currency not in ("", "EUR", "GBP", "CAD"):
                raise SandboxError(400, "Internal_RecordNotFound",
                                   f"The Currency does not exist. Identification fields and values: Code='{currency}'")  # fmt: skip
            self.counters[entity_set] += 1
            header: dict[str, Any] = {"id": str(uuid.uuid4()), "number": f"S-{entity_set[5:7].upper()}{self.counters[entity_set]}",
                                      "externalDocumentNumber": "", "customerId": customer["id"], "customerNumber": customer["number"],
                                      "customerName": customer["displayName"], "status": "Draft", "currencyCode": "",
                                      "pricesIncludeTax": False, "discountAmount": 0, "email": customer.get("email", ""),
                                      "phoneNumber": "", "orderDate": datetime.fromtimestamp(now, UTC).date().isoformat()}  # fmt: skip
            if entity_set == "salesOrders":
                header["fullyShipped"] = False
            header.update({k: body[k] for k in self.HEADER_FIELDS if k in body})
            line_set = LINE_SETS[entity_set]
            header["_lines"] = [
                self._line(header["id"], raw, 10000 * n) for n, raw in enumerate(body.get(line_set) or [], 1)
            ]
            self._totals(header)
            self.sets[entity_set][header["id"]] = header
            for line in header["_lines"]:
                self._touch(line, now)
            self._touch(header, now)
            if entity_set == "salesOrders":
                self.ledger[header["id"]] = {"created_at": now, "status": "Draft", "header": header}
            return self.present(header)

    def present(self, record: dict[str, Any], expand: str | None = None) -> dict[str, Any]:
        """The record as the API shows it: lines only under ``$expand``."""
        shown = {k: copy.deepcopy(v) for k, v in record.items() if k != "_lines"}
        if expand and "_lines" in record:
            shown[expand] = copy.deepcopy(record["_lines"])
        return shown

    def document(self, entity_set: str, key: str) -> dict[str, Any]:
        """The stored header (not a copy: callers hold the lock)."""
        record = self.sets.get(entity_set, {}).get(key)
        if record is None:
            raise SandboxError(404, "BadRequest_NotFound", f"The {entity_set} entity with id '{key}' was not found.")
        return record

    def patch_document(
        self, entity_set: str, key: str, body: Mapping[str, Any], if_match: str | None, changed: int
    ) -> dict[str, Any]:
        """PATCH a header's own fields."""
        with self.lock:
            header = self.document(entity_set, key)
            self.check_etag(header, if_match, changed_status=changed)
            if "customerId" in body and body["customerId"] != header["customerId"]:
                customer = self._customer({"customerId": body["customerId"]})
                header.update(
                    customerId=customer["id"], customerNumber=customer["number"], customerName=customer["displayName"]
                )
            header.update({k: body[k] for k in self.HEADER_FIELDS if k in body})
            self._totals(header)
            self._touch(header, self.clock())
            return self.present(header)

    def delete_document(self, entity_set: str, key: str, if_match: str | None, changed: int) -> None:
        """DELETE an open document (refused once anything is shipped)."""
        with self.lock:
            header = self.document(entity_set, key)
            self.check_etag(header, if_match, changed_status=changed)
            if any(line.get("shippedQuantity", 0) for line in header["_lines"]):
                raise SandboxError(400, "Application_DialogException",
                                   f"You cannot delete order {header['number']} because it has been partially shipped.")  # fmt: skip
            del self.sets[entity_set][key]
            if key in self.ledger:
                self.ledger[key].update(status="Deleted", deleted_at=self.clock())

    def line_op(self, entity_set: str, key: str, line_key: str | None, method: str, body: Mapping[str, Any],
                if_match: str | None, changed: int) -> dict[str, Any] | None:  # fmt: skip
        """GET/POST/PATCH/DELETE a document line."""
        with self.lock:
            header = self.document(entity_set, key)
            lines = header["_lines"]
            if line_key is None:
                if method != "POST":
                    raise SandboxError(
                        405, "BadRequest_MethodNotAllowed", f"{method} is not allowed on the line collection."
                    )
                line: dict[str, Any] = self._line(key, body, max((l["sequence"] for l in lines), default=0) + 10000)  # noqa: E741
                lines.append(line)
                self._touch(line, self.clock())
                self._totals(header)
                self._touch(header, self.clock())
                return copy.deepcopy(line)
            found = [ln for ln in lines if ln["id"] == line_key]
            if not found:
                raise SandboxError(404, "BadRequest_NotFound", f"The line with id '{line_key}' was not found.")
            line = found[0]
            if method == "GET":
                return copy.deepcopy(line)
            self.check_etag(line, if_match, changed_status=changed)
            if line.get("shippedQuantity", 0):
                raise SandboxError(400, "Application_DialogException",
                                   f"You cannot change line {line['sequence']} because it has been shipped.")  # fmt: skip
            if method == "DELETE":
                lines.remove(line)
            else:
                for field in ("quantity", "unitPrice", "discountAmount"):
                    if field in body:
                        line[field] = float(_num(body[field], field))
                if "itemId" in body or "lineObjectNumber" in body:
                    replacement = self._line(key, {**line, **body}, line["sequence"])
                    line.update({k: v for k, v in replacement.items() if k not in ("id", "sequence")})
                if "description" in body:
                    line["description"] = body["description"]
                self._amounts(line)
                self._touch(line, self.clock())
            self._totals(header)
            self._touch(header, self.clock())
            return None if method == "DELETE" else copy.deepcopy(line)

    def adjust_inventory(
        self, number: str, *, delta: float | None = None, count: float | None = None
    ) -> dict[str, Any]:
        """Post an item journal line as a warehouse would: ``delta`` units, or a physical ``count``.

        Writes a positive or negative adjustment item ledger entry and moves the item's read-only
        ``inventory``; returns the item.

        Raises:
            SandboxError: 404 unknown item number; 400 neither or both of ``delta`` / ``count``.
        """
        if (delta is None) == (count is None):
            raise SandboxError(400, "BadRequest", "Give exactly one of 'delta' or 'count'.")
        now = self.clock()
        with self.lock:
            item = next((r for r in self.sets["items"].values() if r["number"] == number.upper()), None)
            if item is None:
                raise SandboxError(404, "BadRequest_NotFound", f"The item '{number}' was not found.")
            change = float(delta) if delta is not None else float(count or 0) - float(item["inventory"])
            if change == 0:
                return copy.deepcopy(item)
            item["inventory"] = float(item["inventory"]) + change
            self._touch(item, now)
            self.counters["entry"] += 1
            kind = "Positive_x0020_Adjmt_x002E_" if change > 0 else "Negative_x0020_Adjmt_x002E_"
            entry = {"id": str(uuid.uuid4()), "entryNumber": self.counters["entry"], "itemNumber": item["number"],
                     "postingDate": datetime.fromtimestamp(now, UTC).date().isoformat(), "entryType": kind,
                     "documentNumber": f"ADJ{self.counters['entry']}", "documentType": "", "description": "",
                     "quantity": change, "salesAmountActual": 0, "costAmountActual": 0}  # fmt: skip
            self.sets["itemLedgerEntries"][entry["id"]] = entry
            self._touch(entry, now)
            return copy.deepcopy(item)

    def ship_and_invoice(self, key: str) -> tuple[str, str]:
        """Post the order: a shipment and an invoice of what is left, item ledger entries, inventory down.

        A fully shipped and invoiced order is deleted from ``salesOrders`` (as BC does). Returns the ids
        of the shipment and the invoice.
        """
        now = self.clock()
        with self.lock:
            header = self.document("salesOrders", key)
            todo = [line for line in header["_lines"] if line["quantity"] - line["shippedQuantity"] > 0]
            if not todo:
                raise SandboxError(400, "Application_DialogException", "There is nothing to post.")
            shipment_id, invoice_id = str(uuid.uuid4()), str(uuid.uuid4())
            common: dict[str, Any] = {k: header.get(k) for k in ("externalDocumentNumber", "customerId", "customerNumber", "customerName",
                                                  "currencyCode", "shipToName", "shipToAddressLine1", "shipToCity",
                                                  "shipToState", "shipToCountry", "shipToPostCode") if k in header}  # fmt: skip
            today = datetime.fromtimestamp(now, UTC).date().isoformat()
            self.counters["salesShipments"] += 1
            self.counters["salesInvoices"] += 1
            shipment: dict[str, Any] = {"id": shipment_id, "number": f"S-SHPT{self.counters['salesShipments']}", "orderNumber": header["number"],
                        "orderId": key, "shipmentDate": today, "postingDate": today, **common, "_lines": []}  # fmt: skip
            invoice: dict[str, Any] = {"id": invoice_id, "number": f"S-INV{self.counters['salesInvoices']}", "orderNumber": header["number"],
                       "orderId": key, "invoiceDate": today, "postingDate": today, "status": "Open", **common, "_lines": [],
                       "discountAmount": header.get("discountAmount", 0)}  # fmt: skip
            for line in todo:
                qty = line["quantity"] - line["shippedQuantity"]
                posted = {"id": str(uuid.uuid4()), "documentId": shipment_id, "sequence": line["sequence"], "lineType": line["lineType"],
                          "lineObjectNumber": line["lineObjectNumber"], "description": line.get("description", ""),
                          "quantity": qty, "unitPrice": line["unitPrice"]}  # fmt: skip
                shipment["_lines"].append(posted)
                invoice["_lines"].append({**posted, "id": str(uuid.uuid4()), "documentId": invoice_id,
                                          "discountAmount": line["discountAmount"], "amountExcludingTax": line["amountExcludingTax"],
                                          "totalTaxAmount": line["totalTaxAmount"], "amountIncludingTax": line["amountIncludingTax"]})  # fmt: skip
                line.update(shippedQuantity=line["quantity"], invoicedQuantity=line["quantity"])
                self._amounts(line)
                if line["lineType"] == "Item":
                    item = self.sets["items"][line["itemId"]]
                    item["inventory"] = item["inventory"] - qty
                    self._touch(item, now)
                    self.counters["entry"] += 1
                    entry = {"id": str(uuid.uuid4()), "entryNumber": self.counters["entry"], "itemNumber": item["number"],
                             "postingDate": today, "entryType": "Sale", "sourceNumber": header["customerNumber"],
                             "sourceType": "Customer", "documentNumber": shipment["number"], "documentType": "Sales_x0020_Shipment",
                             "description": line.get("description", ""), "quantity": -qty,
                             "salesAmountActual": line["amountExcludingTax"], "costAmountActual": 0}  # fmt: skip
                    self.sets["itemLedgerEntries"][entry["id"]] = entry
                    self._touch(entry, now)
            for doc, name in ((shipment, "salesShipments"), (invoice, "salesInvoices")):
                self._totals(doc)
                for line in doc["_lines"]:
                    self._touch(line, now)
                self._touch(doc, now)
                self.sets[name][doc["id"]] = doc
            self._totals(header)
            del self.sets["salesOrders"][key]  # fully shipped and invoiced orders are deleted by posting
            if key in self.ledger:
                self.ledger[key].update(status="Posted", posted_at=now)
            return shipment_id, invoice_id

    # --- ledger views ---

    def sales_order_rows(self) -> list[SalesOrderRow]:
        """Every sales order ever created (deleted and posted ones too), oldest first."""
        with self.lock:
            rows = []
            for key, entry in self.ledger.items():
                header = entry["header"]
                status = header["status"] if entry["status"] == "Draft" else entry["status"]
                rows.append(SalesOrderRow(
                    id=key, number=header["number"], external_document_number=header.get("externalDocumentNumber", ""),
                    customer_id=header["customerId"], status=status, created_at=entry["created_at"],
                    line_count=len(header["_lines"]), total=header.get("totalAmountIncludingTax", 0),
                ))  # fmt: skip
        return sorted(rows, key=lambda row: (row.created_at, row.number))
