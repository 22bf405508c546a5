"""The NetSuite sandbox's records: REST bodies in memory, projected into sqlite3 tables for SuiteQL.

Validation follows NetSuite's: a sales order needs an ``entity`` and at least one line, every
reference must point at an existing record, ``externalId`` is unique per record type, and a
sublist sent on update is appended to unless ``replace`` names it. Thread-safe, because a
sandbox served on loopback runs in uvicorn's thread while a test reads it from another.
"""

from __future__ import annotations

import copy
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradewire.connectors.netsuite import sandbox_suiteql
from tradewire.connectors.netsuite.sandbox_inventory import InventoryBook

RECORD_TABLES = {"customer": "customer", "salesOrder": "transaction", "inventoryItem": "item"}
STATUS_NAMES = {
    "A": "Pending Approval",
    "B": "Pending Fulfillment",
    "C": "Cancelled",
    "D": "Partially Fulfilled",
    "E": "Pending Billing/Partially Fulfilled",
    "F": "Pending Billing",
    "G": "Billed",
    "H": "Closed",
}
_CANCELLABLE = {"A", "B", "C"}
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_READ_ONLY = {"id", "links", "tranId", "createdDate", "lastModifiedDate", "subtotal", "total", "discountTotal"}
_SCHEMA = """
CREATE TABLE customer (
  id INTEGER PRIMARY KEY, externalid TEXT UNIQUE, entityid TEXT, isperson TEXT, firstname TEXT, lastname TEXT,
  companyname TEXT, email TEXT, phone TEXT, subsidiary INTEGER, datecreated TEXT, lastmodifieddate TEXT);
CREATE TABLE item (
  id INTEGER PRIMARY KEY, externalid TEXT UNIQUE, itemid TEXT UNIQUE, displayname TEXT, itemtype TEXT,
  baseprice REAL, isinactive TEXT);
CREATE TABLE "transaction" (
  id INTEGER PRIMARY KEY, type TEXT, tranid TEXT, externalid TEXT, otherrefnum TEXT, entity INTEGER, status TEXT,
  trandate TEXT, memo TEXT, currency INTEGER, foreigntotal REAL, createddate TEXT, lastmodifieddate TEXT,
  UNIQUE (type, externalid));
CREATE TABLE transactionline (
  id INTEGER, "transaction" INTEGER, linesequencenumber INTEGER, item INTEGER, quantity REAL, rate REAL,
  netamount REAL, memo TEXT, mainline TEXT, PRIMARY KEY ("transaction", id));
"""
_Q_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
_Q_OPERATORS = {
    "IS": "= ?",
    "IS_NOT": "<> ?",
    "EQUAL": "= ?",
    "NOT_EQUAL": "<> ?",
    "GREATER": "> ?",
    "GREATER_OR_EQUAL": ">= ?",
    "LESS": "< ?",
    "LESS_OR_EQUAL": "<= ?",
    "AFTER": "> ?",
    "BEFORE": "< ?",
    "ON": "= ?",
    "START_WITH": "LIKE ? ESCAPE '\\'",
    "START_WITH_NOT": "NOT LIKE ? ESCAPE '\\'",
    "CONTAIN": "LIKE ? ESCAPE '\\'",
    "CONTAIN_NOT": "NOT LIKE ? ESCAPE '\\'",
    "END_WITH": "LIKE ? ESCAPE '\\'",
}


class SandboxError(Exception):
    """A request NetSuite would refuse: becomes a NetSuite-shaped error body."""

    def __init__(self, status: int, code: str, detail: str, path: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.path = path


@dataclass(frozen=True)
class SalesOrderRow:
    """A sales order as the sandbox's Python API and admin endpoints show it."""

    id: str
    external_id: str | None
    other_ref_num: str | None
    tran_id: str
    status: str
    entity: str
    created_at: float
    line_count: int
    total: float

    def to_json(self) -> dict[str, Any]:
        """camelCase JSON for the admin endpoints."""
        return {
            "id": self.id,
            "externalId": self.external_id,
            "otherRefNum": self.other_ref_num,
            "tranId": self.tran_id,
            "status": self.status,
            "entity": self.entity,
            "createdAt": self.created_at,
            "lineCount": self.line_count,
            "total": self.total,
        }


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SandboxError(400, "INVALID_FLD_VALUE", f"Invalid value for field {path}: {value!r}", path)
    try:
        return float(value)
    except ValueError:
        raise SandboxError(400, "INVALID_FLD_VALUE", f"Invalid value for field {path}: {value!r}", path) from None


def _ref_id(value: Any, path: str) -> str | None:
    if not isinstance(value, dict):
        raise SandboxError(400, "INVALID_CONTENT", f'{path} must be an object like {{"id": "…"}}', path)
    ref = value.get("id")
    return None if ref is None else str(ref)


def required(path: str, label: str | None = None) -> SandboxError:
    """NetSuite's ``FIELD_PARAM_REQD``."""
    return SandboxError(400, "FIELD_PARAM_REQD", f"Please enter a value for [{label or path}]", path)


def invalid_ref(value: Any, path: str) -> SandboxError:
    """NetSuite's answer to a reference that points nowhere."""
    return SandboxError(400, "INVALID_KEY_OR_REF", f"Invalid Field Value {value} for the following field: {path}", path)


class SandboxStore:
    """Records of one sandbox account."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        sandbox_suiteql.install_functions(self._db)
        self.inventory = InventoryBook(self._db, self._lock, time.time)
        self._records: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in RECORD_TABLES}
        self._eids: dict[str, dict[str, str]] = {t: {} for t in RECORD_TABLES}
        self._created: dict[tuple[str, str], float] = {}
        self._next_id = {"customer": 100, "transaction": 1000, "item": 500}
        self._next_tran = 1

    # --- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every record (items included)."""
        with self._lock:
            for table in ("customer", "item", '"transaction"', "transactionline"):
                self._db.execute(f"DELETE FROM {table}")
            for record_type in RECORD_TABLES:
                self._records[record_type].clear()
                self._eids[record_type].clear()
            self._created.clear()
            self._next_id = {"customer": 100, "transaction": 1000, "item": 500}
            self._next_tran = 1
            self.inventory.reset()

    def seed_items(self, items: Iterable[tuple[str, str, Decimal | float | str]], *, now: float) -> dict[str, str]:
        """Create inventory items ``(sku, title, price)``; return SKU → internal id (existing SKUs kept)."""
        ids: dict[str, str] = {}
        with self._lock:
            known = {r["itemId"]: i for i, r in self._records["inventoryItem"].items()}
            for sku, title, price in items:
                if sku in known:
                    ids[sku] = known[sku]
                    continue
                body = {"itemId": sku, "displayName": title, "basePrice": float(price)}
                ids[sku] = self._write("inventoryItem", None, body, eid=None, replace=set(), now=now)[0]
                known[sku] = ids[sku]
        return ids

    # --- REST operations ---------------------------------------------------------------------------

    def resolve(self, record_type: str, ref: str) -> str | None:
        """Internal id for ``ref`` (an id or ``eid:…``), or None."""
        self._check_type(record_type)
        with self._lock:
            if ref.startswith("eid:"):
                return self._eids[record_type].get(ref[4:])
            return ref if ref in self._records[record_type] else None

    def get(self, record_type: str, ref: str) -> dict[str, Any]:
        """A deep copy of the stored record.

        Raises:
            SandboxError: 404 ``NONEXISTENT_ID`` when there is no such record.
        """
        with self._lock:
            internal_id = self.resolve(record_type, ref)
            if internal_id is None:
                raise self._missing(record_type, ref)
            return copy.deepcopy(self._records[record_type][internal_id])

    def create(self, record_type: str, body: Mapping[str, Any], *, now: float) -> str:
        """POST: a new record (its ``externalId``, if any, must be new).

        Raises:
            SandboxError: validation failures, duplicate externalId.
        """
        self._check_type(record_type)
        eid = body.get("externalId")
        with self._lock:
            if eid is not None and str(eid) in self._eids[record_type]:
                raise SandboxError(
                    400, "DUP_RCRD", f"A {record_type} record with external ID {eid} already exists.", "externalId"
                )
            return self._write(record_type, None, body, eid=None, replace=set(), now=now)[0]

    def upsert(
        self, record_type: str, external_id: str, body: Mapping[str, Any], *, replace: set[str], now: float
    ) -> tuple[str, bool]:
        """PUT ``eid:``: create the record or update it; return (internal id, created).

        Raises:
            SandboxError: validation failures, a body externalId that differs from the path.
        """
        self._check_type(record_type)
        if "externalId" in body and str(body["externalId"]) != external_id:
            raise SandboxError(
                400, "INVALID_CONTENT", "The externalId in the body does not match the one in the URL.", "externalId"
            )
        with self._lock:
            existing = self._eids[record_type].get(external_id)
            return self._write(record_type, existing, body, eid=external_id, replace=replace, now=now)

    def patch(self, record_type: str, ref: str, body: Mapping[str, Any], *, replace: set[str], now: float) -> str:
        """PATCH: update an existing record.

        Raises:
            SandboxError: 404 when missing, validation failures.
        """
        with self._lock:
            internal_id = self.resolve(record_type, ref)
            if internal_id is None:
                raise self._missing(record_type, ref)
            return self._write(record_type, internal_id, body, eid=None, replace=replace, now=now)[0]

    def list_ids(self, record_type: str, q: str | None) -> list[str]:
        """Internal ids of every record of the type matching the collection filter ``q``, by id.

        Raises:
            SandboxError: 400 ``INVALID_PARAMETER`` for a filter the sandbox cannot read.
        """
        self._check_type(record_type)
        table = RECORD_TABLES[record_type]
        where, params = _q_to_sql(q, table, self._columns(table)) if q else ("1 = 1", [])
        if record_type == "salesOrder":
            where = f"type = 'SalesOrd' AND ({where})"
        with self._lock:
            rows = self._db.execute(f'SELECT id FROM "{table}" WHERE {where} ORDER BY id', params).fetchall()
        return [str(row[0]) for row in rows]

    def suiteql(self, query: str) -> list[dict[str, str]]:
        """Run SuiteQL against the tables. Raises SuiteQLError when it cannot."""
        with self._lock:
            return sandbox_suiteql.run(self._db, query)

    def add_transaction(self, tran_type: str, tran_id: str, external_id: str | None, entity: str, *, now: float) -> str:
        """A new transaction id for a record kept elsewhere (item fulfilments, invoices), visible to SuiteQL."""
        with self._lock:
            internal_id = str(self._next_id["transaction"])
            self._next_id["transaction"] += 1
            self._db.execute(
                'INSERT INTO "transaction" (id, type, tranid, externalid, entity, status, createddate, lastmodifieddate)'
                " VALUES (?,?,?,?,?,?,?,?)",
                (int(internal_id), tran_type, tran_id, external_id, int(entity), "C", _iso(now), _iso(now)),
            )
            return internal_id

    def set_order_status(self, ref: str, status: str, *, now: float) -> None:
        """Move a sales order to ``status`` (fulfilment and billing do this in NetSuite)."""
        self.patch("salesOrder", ref, {"orderStatus": {"id": status}}, replace=set(), now=now)

    # --- views for tests and the demo ----------------------------------------------------------------

    def sales_orders(self) -> list[SalesOrderRow]:
        """Every sales order, oldest first."""
        with self._lock:
            rows = []
            for internal_id, record in self._records["salesOrder"].items():
                rows.append(
                    SalesOrderRow(
                        id=internal_id,
                        external_id=record.get("externalId"),
                        other_ref_num=record.get("otherRefNum"),
                        tran_id=record["tranId"],
                        status=record["orderStatus"]["id"],
                        entity=record["entity"]["id"],
                        created_at=self._created[("salesOrder", internal_id)],
                        line_count=len(record["item"]["items"]),
                        total=record["total"],
                    )
                )
        return sorted(rows, key=lambda row: (row.created_at, int(row.id)))

    def duplicates(self) -> dict[str, int]:
        """``otherRefNum`` → number of sales orders carrying it, only where there is more than one."""
        with self._lock:
            rows = self._db.execute(
                "SELECT otherrefnum, COUNT(*) FROM \"transaction\" WHERE type = 'SalesOrd' AND otherrefnum IS NOT NULL"
                " GROUP BY otherrefnum HAVING COUNT(*) > 1 ORDER BY otherrefnum"
            ).fetchall()
        return {str(number): int(count) for number, count in rows}

    def created_at(self, record_type: str, external_id: str) -> float | None:
        """``time.time()`` when the record with this externalId was first created, or None."""
        with self._lock:
            internal_id = self._eids.get(record_type, {}).get(external_id)
            return None if internal_id is None else self._created.get((record_type, internal_id))

    def count(self, record_type: str) -> int:
        """How many records of the type exist."""
        with self._lock:
            return len(self._records[record_type])

    # --- internals -----------------------------------------------------------------------------

    @staticmethod
    def _check_type(record_type: str) -> None:
        if record_type not in RECORD_TABLES:
            raise SandboxError(404, "INVALID_RCRD_TYPE", f"Record type '{record_type}' does not exist.")

    @staticmethod
    def _missing(record_type: str, ref: str) -> SandboxError:
        return SandboxError(404, "NONEXISTENT_ID", f"The record instance does not exist. ({record_type} {ref})")

    def _columns(self, table: str) -> set[str]:
        return {str(row[1]) for row in self._db.execute(f'PRAGMA table_info("{table}")')}

    def _write(
        self,
        record_type: str,
        internal_id: str | None,
        body: Mapping[str, Any],
        *,
        eid: str | None,
        replace: set[str],
        now: float,
    ) -> tuple[str, bool]:
        existing = self._records[record_type].get(internal_id) if internal_id else None
        record = copy.deepcopy(existing) if existing is not None else {}
        for key, value in body.items():
            if key in _READ_ONLY:
                continue
            if isinstance(value, dict) and "items" in value and isinstance(value["items"], list):
                lines = copy.deepcopy(value["items"])
                old = record.get(key, {}).get("items", []) if existing is not None and key not in replace else []
                record[key] = {"items": [*old, *lines]}
            else:
                record[key] = copy.deepcopy(value)
        if eid is not None:
            record["externalId"] = eid
        new_eid = record.get("externalId")
        if new_eid is not None:
            new_eid = str(new_eid)
            if not _EXTERNAL_ID.match(new_eid):
                raise SandboxError(400, "INVALID_FLD_VALUE", f"Invalid externalId {new_eid!r}", "externalId")
            owner = self._eids[record_type].get(new_eid)
            if owner is not None and owner != internal_id:
                raise SandboxError(
                    400, "DUP_RCRD", f"A record with external ID {new_eid} already exists.", "externalId"
                )
        validate = {"customer": self._check_customer, "salesOrder": self._check_sales_order}.get(record_type)
        if validate is not None:
            validate(record, existing)
        elif not record.get("itemId"):
            raise required("itemId", "Item Name/Number")
        created = internal_id is None
        if internal_id is None:
            family = "item" if record_type == "inventoryItem" else RECORD_TABLES[record_type]
            internal_id = str(self._next_id[family])
            self._next_id[family] += 1
            self._created[(record_type, internal_id)] = now
            record["createdDate"] = _iso(now)
            if record_type == "salesOrder":
                record["tranId"] = f"SO{self._next_tran}"
                self._next_tran += 1
        record["id"] = internal_id
        record["lastModifiedDate"] = _iso(now)
        if existing is not None and existing.get("externalId") not in (None, new_eid):
            self._eids[record_type].pop(str(existing["externalId"]), None)
        if new_eid is not None:
            self._eids[record_type][new_eid] = internal_id
        self._records[record_type][internal_id] = record
        self._project(record_type, record)
        return internal_id, created

    def _check_customer(self, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
        if "isPerson" not in record:
            record["isPerson"] = bool(record.get("firstName") or record.get("lastName"))
        if record["isPerson"]:
            if not (record.get("firstName") or record.get("lastName")):
                raise required("lastName", "Last Name")
        elif not (record.get("companyName") or record.get("entityId")):
            raise required("companyName", "Company Name")
        if not record.get("entityId"):
            name = " ".join(str(record[k]) for k in ("firstName", "lastName") if record.get(k))
            record["entityId"] = record.get("companyName") or name if not record["isPerson"] else name
        record.setdefault("subsidiary", {"id": "1"})
        email = record.get("email")
        if email is not None and (not isinstance(email, str) or "@" not in email):
            raise SandboxError(400, "INVALID_FLD_VALUE", f"Invalid email address {email!r}", "email")

    def _check_sales_order(self, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
        if "entity" not in record:
            raise required("entity")
        entity = record["entity"]
        entity_id = _ref_id(entity, "entity")
        if entity_id is None and isinstance(entity, dict) and entity.get("externalId"):
            entity_id = self._eids["customer"].get(str(entity["externalId"]))
        if entity_id is None or entity_id not in self._records["customer"]:
            raise invalid_ref(entity.get("id") or entity.get("externalId"), "entity")
        customer = self._records["customer"][entity_id]
        record["entity"] = {"id": entity_id, "refName": customer.get("entityId")}
        lines = record.get("item", {}).get("items", []) if isinstance(record.get("item"), dict) else []
        if not lines:
            raise SandboxError(
                400, "FIELD_PARAM_REQD", "You must enter at least one line item for this transaction.", "item"
            )
        subtotal = 0.0
        for number, line in enumerate(lines, start=1):
            path = f"item.items[{number - 1}]"
            if not isinstance(line, dict) or "item" not in line:
                raise required(f"{path}.item", "item")
            item_id = _ref_id(line["item"], f"{path}.item")
            item = self._records["inventoryItem"].get(item_id or "")
            if item is None:
                raise invalid_ref(item_id, "item")
            quantity = _number(line.get("quantity", 1), f"{path}.quantity")
            rate = _number(line.get("rate", item.get("basePrice", 0)), f"{path}.rate")
            amount = _number(line.get("amount", round(quantity * rate, 2)), f"{path}.amount")
            line.update(item={"id": item_id, "refName": item["itemId"]}, quantity=quantity, rate=rate, amount=amount)
            line["line"] = number
            subtotal += amount
        previous = (existing or {}).get("orderStatus", {}).get("id")
        status = record.get("orderStatus")
        status_id = _ref_id(status, "orderStatus") if status is not None else None
        status_id = status_id or previous or "B"
        if status_id not in STATUS_NAMES:
            raise invalid_ref(status_id, "orderStatus")
        if status_id == "C" and previous is not None and previous not in _CANCELLABLE:
            raise SandboxError(
                400, "USER_ERROR", f"You cannot cancel a sales order in status {STATUS_NAMES[previous]}.", "orderStatus"
            )
        record["orderStatus"] = {"id": status_id, "refName": STATUS_NAMES[status_id]}
        for field in ("discountItem", "shipMethod"):
            if record.get(field) is not None:
                ref = _ref_id(record[field], field)
                if ref not in self._records["inventoryItem"]:
                    raise invalid_ref(ref, field)
        discount = 0.0
        if record.get("discountItem") is not None:
            discount = _number(record.get("discountRate", 0), "discountRate")
        shipping = _number(record.get("shippingCost", 0), "shippingCost")
        record["subtotal"] = round(subtotal, 2)
        record["discountTotal"] = round(discount, 2)
        record["total"] = round(subtotal + discount + shipping, 2)

    def _project(self, record_type: str, r: dict[str, Any]) -> None:
        """Mirror one record into the SuiteQL tables."""
        rid = int(r["id"])
        if record_type == "customer":
            self._db.execute(
                "INSERT OR REPLACE INTO customer VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (rid, r.get("externalId"), r.get("entityId"), "T" if r.get("isPerson") else "F", r.get("firstName"),
                 r.get("lastName"), r.get("companyName"), r.get("email"), r.get("phone"),
                 int((r.get("subsidiary") or {}).get("id") or 1), r["createdDate"], r["lastModifiedDate"]),
            )  # fmt: skip
        elif record_type == "inventoryItem":
            self._db.execute(
                "INSERT OR REPLACE INTO item VALUES (?,?,?,?,?,?,?)",
                (rid, r.get("externalId"), r["itemId"], r.get("displayName"), "InvtPart", r.get("basePrice"), "F"),
            )
        else:
            currency = (r.get("currency") or {}).get("id") if isinstance(r.get("currency"), dict) else None
            self._db.execute(
                'INSERT OR REPLACE INTO "transaction" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)',
                (rid, "SalesOrd", r["tranId"], r.get("externalId"), r.get("otherRefNum"), int(r["entity"]["id"]),
                 r["orderStatus"]["id"], r.get("tranDate"), r.get("memo"), currency, r["total"], r["createdDate"],
                 r["lastModifiedDate"]),
            )  # fmt: skip
            self._db.execute('DELETE FROM transactionline WHERE "transaction" = ?', (rid,))
            self._db.executemany(
                "INSERT INTO transactionline VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (n, rid, n, int(line["item"]["id"]), line["quantity"], line["rate"], line["amount"],
                     line.get("description"), "F")
                    for n, line in enumerate(r["item"]["items"], start=1)
                ],
            )  # fmt: skip


def _q_to_sql(q: str, table: str, columns: set[str]) -> tuple[str, list[Any]]:
    """The collection filter (``email START_WITH "a" AND isPerson IS true``) as a WHERE clause.

    Raises:
        SandboxError: 400 ``INVALID_PARAMETER`` for an unknown field or operator.
    """
    tokens = [
        (m.group(1) is not None, m.group(1) if m.group(1) is not None else m.group(2)) for m in _Q_TOKEN.finditer(q)
    ]
    clauses: list[str] = []
    params: list[Any] = []
    position = 0

    def bad(reason: str) -> SandboxError:
        return SandboxError(400, "INVALID_PARAMETER", f"Invalid query parameter q: {reason}", "q")

    while position < len(tokens):
        if clauses:
            joiner = tokens[position][1].upper()
            if joiner not in ("AND", "OR"):
                raise bad(f"expected AND or OR, got {tokens[position][1]!r}")
            clauses.append(joiner)
            position += 1
        if position + 1 >= len(tokens):
            raise bad("a condition needs a field and an operator")
        field, operator = tokens[position][1], tokens[position + 1][1].upper()
        column = field.lower()
        if column not in columns:
            raise bad(f"unknown field {field!r} on {table}")
        position += 2
        if operator in ("EMPTY", "EMPTY_NOT"):
            clauses.append(f"({column} IS NULL OR {column} = '')" if operator == "EMPTY" else f"({column} <> '')")
            continue
        if operator not in _Q_OPERATORS or position >= len(tokens):
            raise bad(f"unsupported operator {operator!r} or missing value")
        quoted, value = tokens[position]
        position += 1
        value = value.replace('\\"', '"') if quoted else value
        if not quoted and value.lower() in ("true", "false"):
            value = "T" if value.lower() == "true" else "F"
        like = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        if operator.startswith("START_WITH"):
            value = like + "%"
        elif operator.startswith("CONTAIN"):
            value = "%" + like + "%"
        elif operator == "END_WITH":
            value = "%" + like
        clauses.append(f"({column} {_Q_OPERATORS[operator]})")
        params.append(value)
    return " ".join(clauses), params
