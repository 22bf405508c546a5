"""Pure mapping of a NetSuite item fulfilment to the canonical shipment (no I/O, no clock).

An item fulfilment is created from a sales order (``createdFrom``); its ``item`` sublist lists
what shipped (the item's ``refName`` is its name, the SKU) and its ``package`` sublist the
tracking numbers. One fulfilment is one canonical shipment; when a fulfilment has several
packages, the first package's tracking number is the shipment's and the others are listed in
the log of the run (warehouses that ship boxes separately create one fulfilment per box).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from tradewire.canonical import ExternalRef, Shipment, ShipmentLine, canonical_id
from tradewire.errors import MappingError

SYSTEM = "netsuite"
SHIPPED = "C"
_ORDER_PREFIX = "Sales Order #"


def _sublist(payload: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    value = payload.get(name)
    items = value.get("items") if isinstance(value, dict) else None
    return [x for x in items if isinstance(x, dict)] if isinstance(items, list) else []


def _ref(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _shipped_at(payload: Mapping[str, Any], record: str) -> datetime:
    for key in ("createdDate", "tranDate"):
        text = payload.get(key)
        if isinstance(text, str) and text:
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise MappingError(f"{record}: {key} {text[:40]!r} is not a date") from None
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise MappingError(f"{record} has neither createdDate nor tranDate")


def is_shipped(payload: Mapping[str, Any]) -> bool:
    """True when the fulfilment's ``shipStatus`` is Shipped (picked and packed ones are not confirmed)."""
    return str(_ref(payload.get("shipStatus")).get("id", SHIPPED)) == SHIPPED


def item_fulfillment_to_canonical(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Shipment:
    """Map one item fulfilment read with ``expandSubResources=true``.

    Raises:
        MappingError: no id, no ``createdFrom`` sales order, no line with a quantity, or a bad date.
    """
    record_id = payload.get("id")
    if not isinstance(record_id, str | int) or not str(record_id):
        raise MappingError("not a NetSuite itemFulfillment: no id")
    record = f"itemFulfillment {record_id}"
    created_from = _ref(payload.get("createdFrom"))
    if not created_from.get("id"):
        raise MappingError(f"{record} has no createdFrom sales order; cannot tell which order it ships")
    name = str(created_from.get("refName") or "")
    lines = []
    for index, line in enumerate(_sublist(payload, "item")):
        if line.get("itemReceive") is False:
            continue
        try:
            quantity = int(float(line.get("quantity") or 0))
        except (TypeError, ValueError):
            raise MappingError(
                f"{record} line {index + 1}: quantity {line.get('quantity')!r} is not a number"
            ) from None
        if quantity > 0:
            sku = _ref(line.get("item")).get("refName")
            lines.append(ShipmentLine(sku=str(sku) if sku else None, quantity=quantity, title=str(sku or "")))
    if not lines:
        raise MappingError(f"{record} ships no line with a positive quantity")
    packages = _sublist(payload, "package")
    tracking = next((str(p["packageTrackingNumber"]) for p in packages if p.get("packageTrackingNumber")), None)
    method = _ref(payload.get("shipMethod")).get("refName")
    try:
        return Shipment(
            id=canonical_id(client_id, "shipment", f"{SYSTEM}:{connection_id}:{record_id}"),
            client_id=client_id,
            source=ExternalRef(system=SYSTEM, connection_id=connection_id, object="itemFulfillment",
                               external_id=str(record_id)),
            order_number=name.removeprefix(_ORDER_PREFIX) or str(created_from["id"]),
            order_external_id=str(created_from["id"]),
            shipped_at=_shipped_at(payload, record),
            carrier=str(method).split(" ", 1)[0] if method else None,
            service=str(method) if method else None,
            tracking_number=tracking,
            lines=lines,
        )  # fmt: skip
    except ValidationError as exc:
        raise MappingError(f"{record}: {exc.errors()[0]['msg']}") from None
