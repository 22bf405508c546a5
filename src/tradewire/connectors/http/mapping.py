"""Pure mappings of a declarative system's records to canonical objects, by the definition's JMESPath fields.

No I/O and no clock: the same record and definition always give the same canonical object.
A record the mapping cannot read raises :class:`MappingError` naming the object, the field
and the expression, so a person can fix the definition or the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ValidationError

from tradewire.canonical import Customer, ExternalRef, Order, canonical_id, customer_key
from tradewire.connectors.http.definition import (
    NESTED,
    Definition,
    FieldExpr,
    FieldValue,
    ObjectSpec,
    compile_expression,
)
from tradewire.errors import MappingError

SYSTEM = "http"
_MONEY = {"unit_price", "discount", "tax", "total", "shipping_total", "discount_total", "tax_total", "subtotal"}
_TIMES = {"placed_at", "updated_at", "cancelled_at"}


def search(expression: str, data: Any) -> Any:
    """Evaluate a (compiled, cached) JMESPath expression on ``data``."""
    return compile_expression(expression).search(data)


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text or epoch seconds/milliseconds; None when empty or unreadable."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value) / (1000.0 if abs(value) > 1e11 else 1.0)
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.replace(".", "", 1).isdigit():
            return parse_time(float(text))
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    return None


class _Reader:
    """Reads one record's fields, with errors that say which field and expression failed."""

    def __init__(self, object_name: str, record: Any) -> None:
        self.object_name = object_name
        self.record = record

    def raw(self, where: str, value: FieldValue, data: Any = None) -> Any:
        spec = value if isinstance(value, FieldExpr) else FieldExpr(expr=value)
        try:
            found = search(spec.expr, self.record if data is None else data)
        except Exception as exc:  # jmespath raises plain errors on type mismatches in functions
            raise MappingError(f"{self.object_name}.{where}: expression {spec.expr!r} failed: {exc}") from None
        if spec.map and found is not None:
            key = str(found).lower() if isinstance(found, bool) else str(found)
            if key not in spec.map:
                raise MappingError(
                    f"{self.object_name}.{where}: value {found!r} has no entry in map "
                    f"(known: {', '.join(sorted(spec.map))})"
                )
            found = spec.map[key]
        if found is None or found == "":
            found = spec.default
        return found

    def text(self, where: str, value: FieldValue, data: Any = None) -> str | None:
        found = self.raw(where, value, data)
        if found is None:
            return None
        if isinstance(found, dict | list):
            raise MappingError(
                f"{self.object_name}.{where}: expected text, the expression selected {type(found).__name__}"
            )
        return str(found).strip() or None

    def money(self, where: str, value: FieldValue, data: Any = None) -> Decimal | None:
        found = self.raw(where, value, data)
        if found is None:
            return None
        try:
            if isinstance(found, bool):
                raise InvalidOperation
            amount = Decimal(str(found).strip())
        except InvalidOperation:
            raise MappingError(f"{self.object_name}.{where}: {found!r} is not an amount") from None
        if not amount.is_finite():
            raise MappingError(f"{self.object_name}.{where}: {found!r} is not an amount")
        return amount

    def time(self, where: str, value: FieldValue, data: Any = None) -> datetime | None:
        found = self.raw(where, value, data)
        if found is None:
            return None
        moment = parse_time(found)
        if moment is None:
            raise MappingError(
                f"{self.object_name}.{where}: {found!r} is not a time with a zone (ISO 8601 or epoch seconds)"
            )
        return moment

    def value(self, name: str, where: str, value: FieldValue, data: Any = None) -> Any:
        if name in _MONEY:
            return self.money(where, value, data)
        if name in _TIMES:
            return self.time(where, value, data)
        if name == "tags":
            found = self.raw(where, value, data)
            if found is None:
                return []
            if isinstance(found, str):
                return [t.strip() for t in found.split(",") if t.strip()]
            if isinstance(found, list):
                return [str(t) for t in found if t is not None and str(t).strip()]
            raise MappingError(f"{self.object_name}.{where}: tags must be a list or comma-separated text")
        if name == "quantity":
            found = self.raw(where, value, data)
            try:
                number = Decimal(str(found))
            except InvalidOperation:
                raise MappingError(f"{self.object_name}.{where}: {found!r} is not a quantity") from None
            if number != number.to_integral_value():
                raise MappingError(f"{self.object_name}.{where}: quantity {found!r} is not a whole number")
            return int(number)
        if name == "taxes_included":
            found = self.raw(where, value, data)
            return found if isinstance(found, bool) else str(found).lower() in {"true", "1", "yes"}
        return self.text(where, value, data)

    def group(self, prefix: str, fields: Mapping[str, FieldValue], data: Any = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in fields.items():
            found = self.value(name, f"{prefix}{name}", value, data)
            if found is not None:
                out[name] = found
        return out


def external_id(spec: ObjectSpec, object_name: str, record: Mapping[str, Any]) -> str:
    """The record's id by the object's ``id`` expression.

    Raises:
        MappingError: the id is missing or not a scalar.
    """
    found = search(spec.id, record)
    if found is None or found == "" or isinstance(found, dict | list | bool):
        raise MappingError(f"{object_name}: no id at {spec.id!r} (got {found!r}); every record needs one")
    return str(found)


def _object(definition: Definition, object_name: str) -> ObjectSpec:
    spec = definition.objects.get(object_name)
    if spec is None:
        known = ", ".join(sorted(definition.objects)) or "none"
        raise MappingError(f"{definition.name} defines no object {object_name!r}; objects: {known}")
    return spec


def _validated(model: type[BaseModel], data: dict[str, Any], what: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "record"
        raise MappingError(f"{what}: {where}: {error['msg']} ({exc.error_count()} problem(s) in all)") from None


def to_customer(
    definition: Definition, object_name: str, record: Mapping[str, Any], *, client_id: str, connection_id: str
) -> Customer:
    """The canonical Customer of one record.

    Raises:
        MappingError: the object is not a customer, or a field cannot be read.
    """
    spec = _object(definition, object_name)
    if spec.canonical != "customer":
        raise MappingError(f"{object_name} maps to {spec.canonical}, not customer")
    reader = _Reader(object_name, record)
    ext = external_id(spec, object_name, record)
    data = reader.group("fields.", spec.fields)
    if spec.default_address is not None:
        address = reader.group("default_address.", spec.default_address)
        if address:
            data["default_address"] = address
    if "updated_at" not in data and spec.updated_at is not None:
        moment = reader.time("updated_at", spec.updated_at)
        if moment is not None:
            data["updated_at"] = moment
    source_id = f"{definition.name}:{ext}"
    data["id"] = canonical_id(client_id, "customer", customer_key(data.get("email"), source_id, ext))
    data["client_id"] = client_id
    data["source"] = ExternalRef(system=SYSTEM, connection_id=connection_id, object=object_name[:40], external_id=ext)
    return _validated(Customer, data, f"{object_name} {ext}")  # type: ignore[no-any-return]


def to_order(
    definition: Definition, object_name: str, record: Mapping[str, Any], *, client_id: str, connection_id: str
) -> Order:
    """The canonical Order of one record; missing line or order totals are computed from the lines.

    Raises:
        MappingError: the object is not an order, a field cannot be read, or the totals do not add up.
    """
    spec = _object(definition, object_name)
    if spec.canonical != "order" or spec.lines is None:
        raise MappingError(f"{object_name} maps to {spec.canonical}, not order")
    reader = _Reader(object_name, record)
    ext = external_id(spec, object_name, record)
    data = reader.group("fields.", spec.fields)
    for name in ("billing_address", "shipping_address"):
        fields = getattr(spec, name)
        if fields is not None:
            address = reader.group(f"{name}.", fields)
            if address:
                data[name] = address
    if spec.customer is not None:
        data["customer"] = reader.group("customer.", spec.customer)
    items = reader.raw("lines.each", spec.lines.each)
    if not isinstance(items, list) or not items:
        raise MappingError(f"{object_name} {ext}: lines.each {spec.lines.each!r} selected no list of lines")
    lines: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        line = reader.group(f"lines[{index}].", spec.lines.fields, item)
        line.setdefault("line_id", str(index + 1))
        line.setdefault("discount", Decimal(0))
        if "total" not in line and "unit_price" in line and "quantity" in line:
            line["total"] = line["quantity"] * line["unit_price"] - line["discount"]
        lines.append(line)
    data["lines"] = lines
    if "subtotal" not in data:
        data["subtotal"] = sum((ln.get("quantity", 0) * ln.get("unit_price", Decimal(0)) for ln in lines), Decimal(0))
    if "discount_total" not in data:
        data["discount_total"] = sum((ln["discount"] for ln in lines), Decimal(0))
    if "total" not in data:
        tax = Decimal(0) if data.get("taxes_included") else data.get("tax_total", Decimal(0))
        data["total"] = data["subtotal"] - data["discount_total"] + data.get("shipping_total", Decimal(0)) + tax
    data.setdefault("number", ext)
    if data.get("status") == "cancelled" and "cancelled_at" not in data:
        data["cancelled_at"] = data.get("updated_at") or data.get("placed_at")
    data["id"] = canonical_id(client_id, "order", f"{SYSTEM}:{definition.name}:{connection_id}:{ext}")
    data["client_id"] = client_id
    data["source"] = ExternalRef(system=SYSTEM, connection_id=connection_id, object=object_name[:40], external_id=ext)
    return _validated(Order, data, f"{object_name} {ext}")  # type: ignore[no-any-return]


def to_canonical(
    definition: Definition, object_name: str, record: Any, *, client_id: str, connection_id: str
) -> Customer | Order:
    """The canonical object of one record of ``object_name`` (customer or order, as the definition says).

    Raises:
        MappingError: unknown object, a record that is not a JSON object, or a field that cannot be read.
    """
    if not isinstance(record, Mapping):
        raise MappingError(f"{object_name}: a record must be a JSON object, got {type(record).__name__}")
    spec = _object(definition, object_name)
    if spec.canonical == "customer":
        return to_customer(definition, object_name, record, client_id=client_id, connection_id=connection_id)
    return to_order(definition, object_name, record, client_id=client_id, connection_id=connection_id)


__all__ = ["NESTED", "external_id", "parse_time", "search", "to_canonical", "to_customer", "to_order"]
