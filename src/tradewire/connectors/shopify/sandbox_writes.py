"""The sandbox's write mutations: ``fulfillmentCreate``, ``inventorySetQuantities``, ``refundCreate``.

Schema extensions (appended to ``sandbox_graphql.SDL``) and their resolvers. Shapes follow
Shopify's Admin API; the state lives in ``shop.fulfilment``, ``shop.stock`` and ``shop.refund_book``.

``@idempotent(key:)`` (FACTS §1.7): a mutation sent again with a key already seen returns the
first answer and changes nothing. Only successful answers are kept [unverified: whether Shopify
also replays user errors], so a request refused once can succeed later under the same key. From API version 2026-04 the directive is required on
``inventorySetQuantities`` and ``refundCreate``; without it the request fails with a top-level
error, as Shopify's runtime check does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema
from graphql.execution.values import get_directive_values

from tradewire.connectors.shopify.sandbox_shop import SandboxShop
from tradewire.connectors.shopify.sandbox_stock import item_gid, location_gid, parse_gid

SDL_EXTENSION = """
directive @idempotent(key: String!) on FIELD

extend type Query {
  locations(first: Int, after: String, last: Int, before: String, includeInactive: Boolean): LocationConnection!
  inventoryItems(first: Int, after: String, last: Int, before: String, query: String): InventoryItemConnection!
}

extend type Mutation {
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  refundCreate(input: RefundInput!): RefundCreatePayload
}

extend type Order {
  fulfillmentOrders(first: Int, after: String, last: Int, before: String): FulfillmentOrderConnection!
  fulfillments(first: Int): [Fulfillment!]!
  transactions(first: Int): [OrderTransaction!]!
  refunds(first: Int): [Refund!]!
}

type Location { id: ID! legacyResourceId: UnsignedInt64! name: String! isActive: Boolean! }
type LocationEdge { cursor: String! node: Location! }
type LocationConnection { edges: [LocationEdge!]! nodes: [Location!]! pageInfo: PageInfo! }

type InventoryQuantity { name: String! quantity: Int! updatedAt: DateTime }
type InventoryLevel { id: ID! location: Location! quantities(names: [String!]!): [InventoryQuantity!]! }
type InventoryItem { id: ID! legacyResourceId: UnsignedInt64! sku: String tracked: Boolean!
  inventoryLevel(locationId: ID!): InventoryLevel }
type InventoryItemEdge { cursor: String! node: InventoryItem! }
type InventoryItemConnection { edges: [InventoryItemEdge!]! nodes: [InventoryItem!]! pageInfo: PageInfo! }

input InventoryQuantityInput {
  inventoryItemId: ID! locationId: ID! quantity: Int! compareQuantity: Int changeFromQuantity: Int
}
input InventorySetQuantitiesInput {
  name: String! reason: String! referenceDocumentUri: String quantities: [InventoryQuantityInput!]!
  ignoreCompareQuantity: Boolean
}
type InventoryChange { name: String! delta: Int! quantityAfterChange: Int item: InventoryItem location: Location }
type InventoryAdjustmentGroup { id: ID! createdAt: DateTime! reason: String! referenceDocumentUri: String
  changes: [InventoryChange!]! }
type InventorySetQuantitiesUserError { field: [String!] message: String! code: String }
type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup userErrors: [InventorySetQuantitiesUserError!]!
}

type LineItemRef { id: ID! sku: String }
type FulfillmentOrderLineItem { id: ID! totalQuantity: Int! remainingQuantity: Int! lineItem: LineItemRef! }
type FulfillmentOrderLineItemEdge { cursor: String! node: FulfillmentOrderLineItem! }
type FulfillmentOrderLineItemConnection {
  edges: [FulfillmentOrderLineItemEdge!]! nodes: [FulfillmentOrderLineItem!]! pageInfo: PageInfo!
}
type FulfillmentOrderLocation { location: Location }
type FulfillmentOrder { id: ID! status: String! assignedLocation: FulfillmentOrderLocation!
  lineItems(first: Int, after: String, last: Int, before: String): FulfillmentOrderLineItemConnection! }
type FulfillmentOrderEdge { cursor: String! node: FulfillmentOrder! }
type FulfillmentOrderConnection { edges: [FulfillmentOrderEdge!]! nodes: [FulfillmentOrder!]! pageInfo: PageInfo! }

type FulfillmentTrackingInfo { company: String number: String url: String }
type FulfillmentLineItem { quantity: Int! lineItem: LineItemRef! }
type Fulfillment { id: ID! legacyResourceId: UnsignedInt64! name: String! status: String! createdAt: DateTime!
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]! fulfillmentLineItems: [FulfillmentLineItem!]! }
input FulfillmentOrderLineItemInput { id: ID! quantity: Int! }
input FulfillmentOrderLineItemsInput { fulfillmentOrderId: ID! fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!] }
input FulfillmentTrackingInput { company: String number: String numbers: [String!] url: String urls: [String!] }
input FulfillmentInput { lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
  notifyCustomer: Boolean trackingInfo: FulfillmentTrackingInput }
type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }

type OrderTransactionRef { id: ID! }
type OrderTransaction { id: ID! kind: String! status: String! gateway: String! amountSet: MoneyBag!
  parentTransaction: OrderTransactionRef createdAt: DateTime }
type RefundLineItem { quantity: Int! restockType: String! lineItem: LineItemRef! }
type Refund { id: ID! legacyResourceId: UnsignedInt64! note: String createdAt: DateTime! totalRefundedSet: MoneyBag!
  refundLineItems: [RefundLineItem!]! transactions: [OrderTransaction!]! }
enum RefundLineItemRestockType { NO_RESTOCK CANCEL RETURN LEGACY_RESTOCK }
enum OrderTransactionKind { SALE CAPTURE AUTHORIZATION VOID REFUND CHANGE EMV_AUTHORIZATION SUGGESTED_REFUND }
input RefundLineItemInput { lineItemId: ID! quantity: Int! restockType: RefundLineItemRestockType locationId: ID }
input OrderTransactionInput { amount: Decimal! gateway: String! kind: OrderTransactionKind! orderId: ID! parentId: ID }
input ShippingRefundInput { amount: Decimal fullRefund: Boolean }
input RefundInput { orderId: ID! note: String notify: Boolean currency: String shipping: ShippingRefundInput
  refundLineItems: [RefundLineItemInput!] transactions: [OrderTransactionInput!] }
type RefundCreatePayload { refund: Refund order: Order userErrors: [UserError!]! }
"""

REQUIRED_FROM = "2026-04"
_REQUIRES_KEY = ("inventorySetQuantities", "refundCreate")
_SKU_TERM = re.compile(r"sku:(?:'([^']*)'|\"([^\"]*)\"|(\S+))")
_Paginate = Callable[..., dict[str, Any]]


def _shop(info: GraphQLResolveInfo) -> SandboxShop:
    shop = info.context
    assert isinstance(shop, SandboxShop)
    return shop


def _idempotent(resolve: Callable[[SandboxShop, dict[str, Any]], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Replay the first answer for a key already seen; refuse a missing key where the version requires it."""

    def resolver(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        shop = _shop(info)
        directive = info.schema.get_directive("idempotent")
        assert directive is not None
        values = get_directive_values(directive, info.field_nodes[0], info.variable_values) or {}
        key = values.get("key")
        name = info.field_name
        if key is None:
            if name in _REQUIRES_KEY and shop.api_version >= REQUIRED_FROM:
                raise GraphQLError(
                    f"The @idempotent directive is required for {name} from API version {REQUIRED_FROM}."
                )
            return resolve(shop, args)
        with shop._lock:
            if (name, key) in shop.idempotent_results:
                replay: dict[str, Any] = shop.idempotent_results[(name, key)]
                return replay
            answer = resolve(shop, args)
            if not answer.get("userErrors"):
                shop.idempotent_results[(name, key)] = answer
            return answer

    return resolver


def _fulfillment_create(shop: SandboxShop, args: dict[str, Any]) -> dict[str, Any]:
    errors, fulfillment = shop.fulfilment.create(args["fulfillment"])
    return {"fulfillment": fulfillment, "userErrors": errors}


def _inventory_set(shop: SandboxShop, args: dict[str, Any]) -> dict[str, Any]:
    strict = shop.api_version >= REQUIRED_FROM
    errors, group = shop.stock.set_quantities(args["input"], strict_change_from=strict)
    return {"inventoryAdjustmentGroup": group, "userErrors": errors}


def _refund_create(shop: SandboxShop, args: dict[str, Any]) -> dict[str, Any]:
    errors, refund = shop.refund_book.create(args["input"])
    order = None
    if refund is not None:
        from tradewire.connectors.shopify.sandbox_graphql import order_node

        legacy = parse_gid(args["input"]["orderId"], "Order")
        stored = shop.get_order(legacy) if legacy is not None else None
        order = order_node(stored) if stored is not None else None
    return {"refund": refund, "order": order, "userErrors": errors}


def _location_node(location_id: int, name: str) -> dict[str, Any]:
    return {"id": location_gid(location_id), "legacyResourceId": str(location_id), "name": name, "isActive": True}


def _item_node(item_id: int, sku: str) -> dict[str, Any]:
    return {"id": item_gid(item_id), "legacyResourceId": str(item_id), "sku": sku, "tracked": True, "_id": item_id}


def _install_queries(schema: GraphQLSchema, paginate: _Paginate) -> None:
    query = schema.query_type
    assert query is not None

    def locations(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        stock = _shop(info).stock
        with stock.lock:
            nodes = [_location_node(i, n) for i, n in stock.locations.items()]
        return paginate(nodes, lambda node: [int(node["legacyResourceId"])], args)

    def inventory_items(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        stock = _shop(info).stock
        wanted = {next(g for g in match if g) for match in _SKU_TERM.findall(args.get("query") or "")}
        with stock.lock:
            nodes = [_item_node(i, s) for i, s in stock.items.items() if not wanted or s in wanted]
        return paginate(nodes, lambda node: [node["_id"]], args)

    query.fields["locations"].resolve = locations
    query.fields["inventoryItems"].resolve = inventory_items


def _install_objects(schema: GraphQLSchema, paginate: _Paginate) -> None:
    def object_type(name: str) -> GraphQLObjectType:
        found = schema.get_type(name)
        assert isinstance(found, GraphQLObjectType)
        return found

    def inventory_level(item: dict[str, Any], info: GraphQLResolveInfo, locationId: str) -> dict[str, Any] | None:  # noqa: N803
        stock = _shop(info).stock
        location = parse_gid(locationId, "Location")
        with stock.lock:
            level = stock.levels.get((item["_id"], location)) if location is not None else None
            if level is None or location is None:
                return None
            return {
                "id": f"gid://shopify/InventoryLevel/{item['_id']}?inventory_item_id={item['_id']}",
                "location": _location_node(location, stock.locations[location]),
                "_values": {"available": level.available, "on_hand": level.on_hand, "committed": level.committed},
                "_updated": level.updated_at,
            }

    def quantities(level: dict[str, Any], _info: GraphQLResolveInfo, names: list[str]) -> list[dict[str, Any]]:
        return [
            {"name": name, "quantity": level["_values"][name], "updatedAt": level["_updated"]}
            for name in names
            if name in level["_values"]
        ]

    def order_id(order: dict[str, Any]) -> int:
        return int(order["legacyResourceId"])

    def limited(items: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
        first = args.get("first")
        return items[:first] if isinstance(first, int) else items

    order = object_type("Order")
    order.fields["fulfillmentOrders"].resolve = lambda o, info, **args: paginate(
        _shop(info).fulfilment.fulfillment_orders(order_id(o)),
        lambda fo: [parse_gid(fo["id"], "FulfillmentOrder")],
        args,
    )
    order.fields["fulfillments"].resolve = lambda o, info, **a: limited(
        _shop(info).fulfilment.fulfillments(order_id(o)), a
    )
    order.fields["transactions"].resolve = lambda o, info, **a: limited(
        _shop(info).refund_book.order_transactions(order_id(o)), a
    )
    order.fields["refunds"].resolve = lambda o, info, **a: limited(
        _shop(info).refund_book.order_refunds(order_id(o)), a
    )
    fulfillment_order = object_type("FulfillmentOrder")
    fulfillment_order.fields["lineItems"].resolve = lambda fo, _info, **args: paginate(
        fo["_lineItems"], lambda line: [parse_gid(line["id"], "FulfillmentOrderLineItem")], args
    )
    fulfillment = object_type("Fulfillment")
    fulfillment.fields["trackingInfo"].resolve = lambda f, _info, **a: limited(f["trackingInfo"], a)
    fulfillment.fields["fulfillmentLineItems"].resolve = lambda f, _info: f["_lines"]
    object_type("Refund").fields["refundLineItems"].resolve = lambda r, _info: r["_lines"]
    object_type("InventoryItem").fields["inventoryLevel"].resolve = inventory_level
    object_type("InventoryLevel").fields["quantities"].resolve = quantities


def install_write_resolvers(schema: GraphQLSchema, paginate: _Paginate) -> None:
    """Attach the resolvers of :data:`SDL_EXTENSION` to ``schema`` (``paginate``: the sandbox's Relay pager)."""
    mutation = schema.mutation_type
    assert mutation is not None
    mutation.fields["fulfillmentCreate"].resolve = _idempotent(_fulfillment_create)
    mutation.fields["inventorySetQuantities"].resolve = _idempotent(_inventory_set)
    mutation.fields["refundCreate"].resolve = _idempotent(_refund_create)
    _install_queries(schema, paginate)
    _install_objects(schema, paginate)
