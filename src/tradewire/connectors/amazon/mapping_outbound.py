"""Pure canonical → Amazon mappings: confirmShipment bodies, listings patches, JSON_LISTINGS_FEED documents."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from tradewire.canonical import InventoryLevel, Shipment
from tradewire.errors import MappingError

# Amazon CarrierCode values for the carriers most sellers use; others go as 'Other' + carrierName.
_CARRIER_CODES = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "dhl express": "DHL",
    "ontrac": "OnTrac",
    "amazon shipping": "Amazon Shipping",
    "royal mail": "Royal Mail",
    "canada post": "Canada Post",
    "japan post": "Japan Post",
    "yamato transport": "Yamato Transport",
}


def package_reference_id(shipment_id: str) -> str:
    """A positive number derived from the canonical shipment id: the same package always gets the same one.

    Amazon dedupes confirmShipment per (order, packageReferenceId) and documents only positive
    numeric values, so the canonical UUID is hashed into one (32 bits; unique within one order).
    """
    digest = hashlib.sha256(shipment_id.encode("utf-8")).digest()
    return str(int.from_bytes(digest[:4], "big") + 1)


def carrier_code(carrier: str | None) -> str:
    """Amazon's CarrierCode for a carrier name ('Other' when it has none)."""
    if not carrier:
        return "Other"
    return _CARRIER_CODES.get(carrier.strip().lower(), "Other")


def shipment_to_confirm_shipment(
    shipment: Shipment,
    *,
    marketplace_id: str = "<marketplaceId>",
    order_item_ids: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The confirmShipment body for one package.

    ``order_item_ids`` maps SKU → OrderItemId for lines that do not name their order line; lines
    neither names keep a ``<orderItemId SKU>`` placeholder (resolved from getOrderItems at run time).

    Raises:
        MappingError: a line has neither an order line id nor a SKU.
    """
    items: list[dict[str, Any]] = []
    for index, line in enumerate(shipment.lines):
        item_id = line.order_line_id or (order_item_ids or {}).get(line.sku or "")
        if item_id is None:
            if not line.sku:
                raise MappingError(f"shipment line {index} names neither its order line nor a SKU")
            item_id = f"<orderItemId {line.sku}>"
        items.append({"orderItemId": item_id, "quantity": line.quantity})
    code = carrier_code(shipment.carrier)
    detail: dict[str, Any] = {
        "packageReferenceId": package_reference_id(shipment.id),
        "carrierCode": code,
        "shipDate": shipment.shipped_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "orderItems": items,
    }
    if shipment.carrier:
        detail["carrierName"] = shipment.carrier
    if shipment.service:
        detail["shippingMethod"] = shipment.service
    if shipment.tracking_number:
        detail["trackingNumber"] = shipment.tracking_number
    return {"marketplaceId": marketplace_id, "packageDetail": detail}


def fulfillment_availability(level: InventoryLevel, *, channel_code: str = "DEFAULT") -> list[dict[str, Any]]:
    """The ``fulfillment_availability`` attribute value for one SKU's sellable quantity."""
    value: dict[str, Any] = {"fulfillment_channel_code": channel_code, "quantity": level.available}
    if level.fulfillment_latency_days is not None:
        value["lead_time_to_ship_max_days"] = level.fulfillment_latency_days
    return [value]


def inventory_to_listings_patch(
    level: InventoryLevel, *, product_type: str = "PRODUCT", channel_code: str = "DEFAULT"
) -> dict[str, Any]:
    """The patchListingsItem body setting the MFN quantity of ``level.sku``."""
    return {
        "productType": product_type,
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": fulfillment_availability(level, channel_code=channel_code),
            }
        ],
    }


def inventory_feed(
    levels: Sequence[InventoryLevel],
    *,
    seller_id: str,
    product_type: str = "PRODUCT",
    channel_code: str = "DEFAULT",
    issue_locale: str = "en_US",
) -> dict[str, Any]:
    """A JSON_LISTINGS_FEED document with one PATCH message per level (messageId = position + 1).

    Raises:
        MappingError: no levels, or a SKU appears twice (Amazon would apply both, in any order).
    """
    if not levels:
        raise MappingError("an inventory feed needs at least one level")
    skus = [level.sku for level in levels]
    if len(set(skus)) != len(skus):
        raise MappingError("an inventory feed must name each SKU once (latest quantity per SKU)")
    messages = [
        {
            "messageId": index + 1,
            "sku": level.sku,
            "operationType": "PATCH",
            **inventory_to_listings_patch(level, product_type=product_type, channel_code=channel_code),
        }
        for index, level in enumerate(levels)
    ]
    return {"header": {"sellerId": seller_id, "version": "2.0", "issueLocale": issue_locale}, "messages": messages}
