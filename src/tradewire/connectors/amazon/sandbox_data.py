"""Data of the Amazon sandbox: generated orders, ORDER_CHANGE messages, error bodies, listings checks."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DEFAULT_CATALOG: tuple[tuple[str, str, str], ...] = (
    ("TSHIRT-BLK-M", "Black T-shirt, M", "25.00"),
    ("SOCKS-3PK", "Socks, 3 pack", "12.00"),
    ("HOODIE-GRY-M", "Grey hoodie, M", "59.90"),
    ("CAP-NAVY", "Navy cap", "18.50"),
)
CENT = Decimal("0.01")
PII_ELEMENTS = {"buyerInfo", "shippingAddress", "buyerTaxInformation"}


def generate_order(
    n: int, order_id: str, chosen: list[tuple[str, str, Decimal]], *, stamp: str, marketplace_id: str, tax_rate: Decimal
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``n``-th generated order and its items: US prices before tax, ``tax_rate`` on goods,
    a 10 % promotion on every fourth line, 4.99 shipping on the first line."""
    items: list[dict[str, Any]] = []
    total = Decimal(0)
    currency = "USD"
    for index, (sku, title, price) in enumerate(chosen):
        quantity = 1 + (n + index) % 3
        item_price = price * quantity
        discount = (item_price * Decimal("0.10")).quantize(CENT, ROUND_HALF_UP) if (n + index) % 4 == 0 else Decimal(0)
        shipping = Decimal("4.99") if index == 0 else Decimal(0)
        tax = ((item_price - discount) * tax_rate).quantize(CENT, ROUND_HALF_UP)
        total += item_price - discount + shipping + tax
        item: dict[str, Any] = {
            "ASIN": f"B0{n:04d}{index:04d}",
            "OrderItemId": f"{n:08d}{index:06d}",
            "SellerSKU": sku,
            "Title": title,
            "QuantityOrdered": quantity,
            "QuantityShipped": 0,
            "ItemPrice": money(item_price, currency),
            "ItemTax": money(tax, currency),
            "ShippingPrice": money(shipping, currency),
            "ShippingTax": money(Decimal(0), currency),
            "PromotionDiscount": money(discount, currency),
            "PromotionDiscountTax": money(Decimal(0), currency),
            "IsGift": "false",
            "ConditionId": "New",
            "BuyerInfo": {"GiftMessageText": "", "GiftWrapLevel": ""},
        }
        if discount:
            item["PromotionIds"] = ["SANDBOX10"]
        items.append(item)
    order = {
        "AmazonOrderId": order_id,
        "PurchaseDate": stamp,
        "LastUpdateDate": stamp,
        "OrderStatus": "Unshipped",
        "FulfillmentChannel": "MFN",
        "SalesChannel": "Amazon.com",
        "ShipServiceLevel": "Std US D2D Dom",
        "OrderTotal": money(total, currency),
        "NumberOfItemsShipped": 0,
        "NumberOfItemsUnshipped": sum(i["QuantityOrdered"] for i in items),
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": marketplace_id,
        "ShipmentServiceLevelCategory": "Standard",
        "OrderType": "StandardOrder",
        "EarliestShipDate": stamp,
        "LatestShipDate": stamp,
        "IsBusinessOrder": False,
        "IsPrime": n % 2 == 0,
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
        "ShippingAddress": {
            "Name": f"Buyer {n}",
            "AddressLine1": f"{n} Market St",
            "City": "Seattle",
            "StateOrRegion": "WA",
            "PostalCode": "98101",
            "CountryCode": "US",
            "Phone": "+1 206-555-0100",
            "AddressType": "Residential",
        },
        "BuyerInfo": {"BuyerEmail": f"buyer{n}@marketplace.amazon.com", "BuyerName": f"Buyer {n}"},
    }
    return order, items


def build_order_change(
    order: dict[str, Any],
    items: list[dict[str, Any]],
    *,
    seller_id: str,
    change_type: str,
    reason: str,
    subscription_id: str,
    publish_time: str,
) -> dict[str, Any]:
    """The ORDER_CHANGE notification for ``order`` as it is now (NotificationId fresh each time)."""
    summary = {
        "MarketplaceId": order["MarketplaceId"],
        "OrderStatus": order["OrderStatus"],
        "PurchaseDate": order["PurchaseDate"],
        "DestinationPostalCode": order["ShippingAddress"]["PostalCode"],
        "FulfillmentType": order["FulfillmentChannel"],
        "OrderType": order["OrderType"],
        "NumberOfItemsShipped": order["NumberOfItemsShipped"],
        "NumberOfItemsUnshipped": order["NumberOfItemsUnshipped"],
        "EarliestShipDate": order["EarliestShipDate"],
        "LatestShipDate": order["LatestShipDate"],
        "OrderItems": [
            {
                "OrderItemId": i["OrderItemId"],
                "SellerSKU": i["SellerSKU"],
                "OrderItemStatus": "Shipped" if i["QuantityShipped"] >= i["QuantityOrdered"] else "Unshipped",
                "Quantity": i["QuantityOrdered"],
                "QuantityShipped": i["QuantityShipped"],
                "IsBuyerRequestedCancel": "BuyerRequestedCancel" in i,
            }
            for i in items
        ],
    }
    changed = order["LastUpdateDate"]
    return {
        "NotificationVersion": "1.0",
        "NotificationType": "ORDER_CHANGE",
        "PayloadVersion": "1.0",
        "EventTime": changed,
        "Payload": {
            "OrderChangeNotification": {
                "NotificationLevel": "OrderLevel",
                "SellerId": seller_id,
                "AmazonOrderId": order["AmazonOrderId"],
                "OrderChangeType": change_type,
                "OrderChangeTrigger": {"TimeOfOrderChange": changed, "ChangeReason": reason},
                "Summary": summary,
            }
        },
        "NotificationMetadata": {
            "ApplicationId": "amzn1.sp.solution.sandbox",
            "SubscriptionId": subscription_id,
            "PublishTime": publish_time,
            "NotificationId": str(uuid.uuid4()),
        },
    }


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": format(amount.quantize(CENT), "f")}


def error_body(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": details}]}


def issue(code: str, message: str, attributes: list[str]) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "attributeNames": attributes,
        "categories": ["INVALID_ATTRIBUTE"],
    }


def listing_patch_issues(body: Any) -> list[dict[str, Any]]:
    """ERROR issues of a fulfillment_availability patch request (empty when it is valid)."""
    if not isinstance(body, dict) or not isinstance(body.get("productType"), str) or not body["productType"]:
        return [issue("90000900", "productType is required.", ["productType"])]
    patches = body.get("patches")
    if not isinstance(patches, list) or not patches:
        return [issue("90000900", "At least one patch is required.", [])]
    issues: list[dict[str, Any]] = []
    for patch in patches:
        if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "merge", "delete"):
            issues.append(issue("90000900", "The patch operation is invalid.", []))
            continue
        if patch.get("path") != "/attributes/fulfillment_availability":
            name = str(patch.get("path", "")).rsplit("/", 1)[-1]
            issues.append(issue("90000900", "The attributes are invalid.", [name]))
            continue
        value = patch.get("value")
        if not isinstance(value, list) or not value:
            issues.append(issue("90000900", "fulfillment_availability needs a value.", ["fulfillment_availability"]))
            continue
        for entry in value:
            quantity = entry.get("quantity") if isinstance(entry, dict) else None
            channel = entry.get("fulfillment_channel_code") if isinstance(entry, dict) else None
            if (
                not isinstance(channel, str)
                or isinstance(quantity, bool)
                or not isinstance(quantity, int)
                or quantity < 0
            ):
                issues.append(
                    issue("90000900", "quantity must be a whole number of 0 or more.", ["fulfillment_availability"])
                )
    return issues
