"""The sandbox's GraphQL Admin API: a subset of Shopify's schema, resolvers and query cost.

Schema: ``order``, ``orders`` (real cursors, ``sortKey``, ``reverse``, ``query`` with
``updated_at``/``created_at`` comparisons), ``orderCancel``, ``webhookSubscriptionCreate``, and
the write mutations and inventory queries of ``sandbox_writes`` (appended to the SDL).
Field names and shapes follow Shopify's; enums that Shopify types as ``CurrencyCode`` or
``CountryCode`` are plain strings here.

Cost (an approximation of Shopify's published rules): a scalar or enum costs 0, an object 1,
a connection 2 + ``first``/``last`` × (1 + the cost of one node's selection) — ``edges``,
``node``, ``nodes`` and ``pageInfo`` wrappers are free — and each mutation field 10. The
requested cost is charged before execution; after it, the difference to the actual cost
(the same rules over what was returned) is refunded, as Shopify does.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    execute_sync,
    get_named_type,
    get_operation_ast,
    is_object_type,
    parse,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values

from tradewire.connectors.shopify.sandbox_shop import SandboxShop
from tradewire.connectors.shopify.sandbox_writes import SDL_EXTENSION, install_write_resolvers
from tradewire.connectors.shopify.webhooks import epoch_microseconds

SDL = """
scalar DateTime
scalar Decimal
scalar UnsignedInt64

type Query {
  order(id: ID!): Order
  orders(first: Int, after: String, last: Int, before: String, query: String,
         sortKey: OrderSortKeys = ID, reverse: Boolean = false): OrderConnection!
}

type Mutation {
  orderCancel(orderId: ID!, reason: OrderCancelReason!, refund: Boolean, restock: Boolean!,
              notifyCustomer: Boolean, staffNote: String): OrderCancelPayload
  webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!,
                            webhookSubscription: WebhookSubscriptionInput!): WebhookSubscriptionCreatePayload
}

enum OrderSortKeys { CREATED_AT UPDATED_AT PROCESSED_AT ID ORDER_NUMBER }
enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }
enum OrderDisplayFinancialStatus { PENDING AUTHORIZED PARTIALLY_PAID PAID PARTIALLY_REFUNDED REFUNDED VOIDED EXPIRED }
enum OrderDisplayFulfillmentStatus { UNFULFILLED PARTIALLY_FULFILLED FULFILLED RESTOCKED }
enum WebhookSubscriptionTopic {
  ORDERS_CREATE ORDERS_UPDATED ORDERS_CANCELLED REFUNDS_CREATE FULFILLMENTS_CREATE CUSTOMERS_CREATE CUSTOMERS_UPDATE
}
enum WebhookSubscriptionFormat { JSON XML }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
type MoneyV2 { amount: Decimal! currencyCode: String! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }

type Customer { id: ID! legacyResourceId: UnsignedInt64! email: String firstName: String lastName: String phone: String }

type MailingAddress {
  name: String firstName: String lastName: String company: String address1: String address2: String
  city: String province: String provinceCode: String zip: String country: String countryCodeV2: String phone: String
}

type TaxLine { title: String rate: Float priceSet: MoneyBag! }
type DiscountAllocation { allocatedAmountSet: MoneyBag! }

type LineItem {
  id: ID! sku: String title: String! name: String! variantTitle: String quantity: Int! currentQuantity: Int!
  originalUnitPriceSet: MoneyBag! taxLines: [TaxLine!]! discountAllocations: [DiscountAllocation!]!
}
type LineItemEdge { cursor: String! node: LineItem! }
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }

type ShippingLine {
  id: ID title: String! code: String originalPriceSet: MoneyBag! discountedPriceSet: MoneyBag!
  taxLines: [TaxLine!]! discountAllocations: [DiscountAllocation!]!
}
type ShippingLineEdge { cursor: String! node: ShippingLine! }
type ShippingLineConnection { edges: [ShippingLineEdge!]! nodes: [ShippingLine!]! pageInfo: PageInfo! }

type Order {
  id: ID! legacyResourceId: UnsignedInt64! name: String! email: String phone: String note: String tags: [String!]!
  test: Boolean! taxesIncluded: Boolean! createdAt: DateTime! processedAt: DateTime! updatedAt: DateTime!
  cancelledAt: DateTime cancelReason: OrderCancelReason closedAt: DateTime closed: Boolean! currencyCode: String!
  displayFinancialStatus: OrderDisplayFinancialStatus displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  subtotalPriceSet: MoneyBag totalPriceSet: MoneyBag! totalTaxSet: MoneyBag totalDiscountsSet: MoneyBag
  totalShippingPriceSet: MoneyBag!
  customer: Customer billingAddress: MailingAddress shippingAddress: MailingAddress
  lineItems(first: Int, after: String, last: Int, before: String): LineItemConnection!
  shippingLines(first: Int, after: String, last: Int, before: String): ShippingLineConnection!
}
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }

type Job { id: ID! done: Boolean! }
type UserError { field: [String!] message: String! }
type OrderCancelUserError { field: [String!] message: String! code: String }
type OrderCancelPayload { job: Job orderCancelUserErrors: [OrderCancelUserError!]! userErrors: [UserError!]! }

input WebhookSubscriptionInput {
  uri: String callbackUrl: String format: WebhookSubscriptionFormat includeFields: [String!] filter: String
}
type WebhookSubscription {
  id: ID! topic: WebhookSubscriptionTopic! uri: String! format: WebhookSubscriptionFormat! includeFields: [String!]!
  filter: String createdAt: DateTime!
}
type WebhookSubscriptionCreatePayload { webhookSubscription: WebhookSubscription userErrors: [UserError!]! }
"""

MAX_PAGE = 250
MUTATION_FIELD_COST = 10
_FREE_WRAPPERS = {"edges", "node", "nodes", "pageInfo"}
_SEARCH_TERM = re.compile(r"(\w+):(>=|<=|>|<)?\s*['\"]?([^'\"\s]+)['\"]?")


# --- REST → GraphQL node ------------------------------------------------------------------------


def utc_text(value: Any) -> str | None:
    """REST time text → GraphQL ``DateTime`` (UTC, ``Z``)."""
    if not value:
        return None
    return datetime.fromisoformat(str(value)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _bag(amount: Any, currency: str) -> dict[str, Any]:
    money = {"amount": str(amount if amount is not None else "0.00"), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


def _address(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    keys = ("name", "company", "address1", "address2", "city", "province", "zip", "country", "phone")
    node = {key: raw.get(key) for key in keys}
    node.update(firstName=raw.get("first_name"), lastName=raw.get("last_name"))
    node.update(provinceCode=raw.get("province_code"), countryCodeV2=raw.get("country_code"))
    return node


def _taxes(raw: Any, currency: str) -> list[dict[str, Any]]:
    return [
        {"title": t.get("title"), "rate": t.get("rate"), "priceSet": _bag(t.get("price"), currency)} for t in raw or []
    ]


def _allocations(raw: Any, currency: str) -> list[dict[str, Any]]:
    return [{"allocatedAmountSet": _bag(a.get("amount"), currency)} for a in raw or []]


def order_node(order: Mapping[str, Any]) -> dict[str, Any]:
    """A stored REST order as the GraphQL ``Order`` object (line lists kept for the resolvers)."""
    cur = str(order.get("currency") or "USD")
    customer = order.get("customer")
    shipping_net = sum(
        (float(s.get("price") or 0) - sum(float(a.get("amount") or 0) for a in s.get("discount_allocations") or []))
        for s in order.get("shipping_lines") or []
    )
    fulfillment = {"partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED", "restocked": "RESTOCKED"}
    return {
        "id": order.get("admin_graphql_api_id") or f"gid://shopify/Order/{order['id']}",
        "legacyResourceId": str(order["id"]),
        "name": order.get("name") or f"#{order['id']}",
        "email": order.get("email"),
        "phone": order.get("phone"),
        "note": order.get("note"),
        "tags": [t.strip() for t in str(order.get("tags") or "").split(",") if t.strip()],
        "test": bool(order.get("test")),
        "taxesIncluded": bool(order.get("taxes_included")),
        "createdAt": utc_text(order.get("created_at")),
        "processedAt": utc_text(order.get("processed_at") or order.get("created_at")),
        "updatedAt": utc_text(order.get("updated_at") or order.get("created_at")),
        "cancelledAt": utc_text(order.get("cancelled_at")),
        "cancelReason": str(order["cancel_reason"]).upper() if order.get("cancel_reason") else None,
        "closedAt": utc_text(order.get("closed_at")),
        "closed": bool(order.get("closed_at")),
        "currencyCode": cur,
        "displayFinancialStatus": str(order["financial_status"]).upper() if order.get("financial_status") else None,
        "displayFulfillmentStatus": fulfillment.get(str(order.get("fulfillment_status")), "UNFULFILLED"),
        "subtotalPriceSet": _bag(order.get("subtotal_price"), cur),
        "totalPriceSet": _bag(order.get("total_price"), cur),
        "totalTaxSet": _bag(order.get("total_tax"), cur),
        "totalDiscountsSet": _bag(order.get("total_discounts"), cur),
        "totalShippingPriceSet": _bag(f"{shipping_net:.2f}", cur),
        "customer": {
            "id": f"gid://shopify/Customer/{customer['id']}",
            "legacyResourceId": str(customer["id"]),
            "email": customer.get("email"),
            "firstName": customer.get("first_name"),
            "lastName": customer.get("last_name"),
            "phone": customer.get("phone"),
        }
        if isinstance(customer, Mapping) and customer.get("id")
        else None,
        "billingAddress": _address(order.get("billing_address")),
        "shippingAddress": _address(order.get("shipping_address")),
        "_lineItems": [
            {
                "id": f"gid://shopify/LineItem/{li['id']}",
                "sku": li.get("sku"),
                "title": li.get("title") or "",
                "name": li.get("name") or li.get("title") or "",
                "variantTitle": li.get("variant_title"),
                "quantity": li.get("quantity"),
                "currentQuantity": li.get("current_quantity", li.get("quantity")),
                "originalUnitPriceSet": _bag(li.get("price"), cur),
                "taxLines": _taxes(li.get("tax_lines"), cur),
                "discountAllocations": _allocations(li.get("discount_allocations"), cur),
            }
            for li in order.get("line_items") or []
        ],
        "_shippingLines": [
            {
                "id": f"gid://shopify/ShippingLine/{s['id']}" if s.get("id") else None,
                "title": s.get("title") or "",
                "code": s.get("code"),
                "originalPriceSet": _bag(s.get("price"), cur),
                "discountedPriceSet": _bag(s.get("discounted_price", s.get("price")), cur),
                "taxLines": _taxes(s.get("tax_lines"), cur),
                "discountAllocations": _allocations(s.get("discount_allocations"), cur),
            }
            for s in order.get("shipping_lines") or []
        ],
    }


# --- connections ----------------------------------------------------------------------------------


def _encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor[:40]!r}") from None
    if not isinstance(key, list):
        raise GraphQLError("Invalid cursor for current pagination sort.")
    return key


def paginate(items: Sequence[Any], key: Callable[[Any], list[Any]], args: Mapping[str, Any]) -> dict[str, Any]:
    """A Relay connection over ``items`` (already sorted by ``key``) honouring first/after/last/before."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for size in (first, last):
        if size is not None and not 0 <= size <= MAX_PAGE:
            raise GraphQLError(f"The maximum number of items per page is {MAX_PAGE} (got {size}).")
    keyed = [(key(item), item) for item in items]
    if args.get("after"):
        after = _decode_cursor(args["after"])
        keyed = [(k, i) for k, i in keyed if _after(k, after)]
    if args.get("before"):
        before = _decode_cursor(args["before"])
        keyed = [(k, i) for k, i in keyed if _after(before, k)]
    has_next = has_previous = False
    if first is not None:
        has_next = len(keyed) > first
        keyed = keyed[:first]
    if last is not None:
        has_previous = len(keyed) > last
        keyed = keyed[len(keyed) - last :] if last else []
    edges = [{"cursor": _encode_cursor(k), "node": item} for k, item in keyed]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _after(key: list[Any], cursor: list[Any]) -> bool:
    # Keys are [sort value, id] (or [position]); a descending sort adds a third item, "desc".
    try:
        if len(key) == 3 and key[2] == "desc":
            return bool(key[:2] < cursor[:2])
        return bool(key > cursor)
    except TypeError:
        raise GraphQLError("Invalid cursor for current pagination sort.") from None


# --- resolvers -------------------------------------------------------------------------------------


def _shop(info: GraphQLResolveInfo) -> SandboxShop:
    shop = info.context
    assert isinstance(shop, SandboxShop)
    return shop


def _legacy(gid: str, kind: str) -> int | None:
    match = re.fullmatch(rf"gid://shopify/{kind}/(\d+)", gid.strip())
    return int(match.group(1)) if match else None


def _search(query: str | None) -> Callable[[Mapping[str, Any]], bool]:
    checks: list[Callable[[Mapping[str, Any]], bool]] = []
    for field, op, raw in _SEARCH_TERM.findall(query or ""):
        if field not in ("updated_at", "created_at"):
            continue  # like Shopify, unknown terms do not filter
        try:
            bound = datetime.fromisoformat(raw)
        except ValueError:
            raise GraphQLError(f"Invalid search term value for {field}: {raw!r}") from None
        if bound.tzinfo is None:
            bound = bound.replace(tzinfo=UTC)
        compare = {
            ">=": lambda a, b: a >= b,
            ">": lambda a, b: a > b,
            "<=": lambda a, b: a <= b,
            "<": lambda a, b: a < b,
            "": lambda a, b: a == b,
        }[op]

        def check(
            order: Mapping[str, Any], field: str = field, bound: datetime = bound, compare: Any = compare
        ) -> bool:
            value = order.get(field) or order.get("created_at")
            return bool(value) and bool(compare(datetime.fromisoformat(str(value)), bound))

        checks.append(check)
    return lambda order: all(check(order) for check in checks)


_SORT_FIELDS = {
    "CREATED_AT": "created_at",
    "UPDATED_AT": "updated_at",
    "PROCESSED_AT": "processed_at",
}


def resolve_orders(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    """``orders``: filter by ``query``, sort by ``sortKey`` (id breaks ties), page with cursors."""
    matches = _search(args.get("query"))
    orders = [o for o in _shop(info).list_orders() if matches(o)]
    sort_key = args.get("sortKey") or "ID"
    reverse = bool(args.get("reverse"))
    field = _SORT_FIELDS.get(sort_key)

    def key(order: Mapping[str, Any]) -> list[Any]:
        if field is not None:
            moment = datetime.fromisoformat(str(order.get(field) or order.get("created_at")))
            base: list[Any] = [epoch_microseconds(moment), int(order["id"])]
        elif sort_key == "ORDER_NUMBER":
            base = [int(order.get("order_number") or 0), int(order["id"])]
        else:
            base = [int(order["id"]), int(order["id"])]
        return [*base, "desc"] if reverse else base

    orders.sort(key=lambda o: key(o)[:2], reverse=reverse)
    connection = paginate(orders, key, args)
    for edge in connection["edges"]:
        edge["node"] = order_node(edge["node"])
    connection["nodes"] = [edge["node"] for edge in connection["edges"]]
    return connection


def resolve_order(_root: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    """``order(id)``: the order, or null when it does not exist."""
    legacy = _legacy(id, "Order")
    if legacy is None:
        raise GraphQLError(f"Invalid global id '{id}'")
    order = _shop(info).get_order(legacy)
    return order_node(order) if order is not None else None


def _list_resolver(key: str) -> Callable[..., dict[str, Any]]:
    def resolve(parent: Mapping[str, Any], _info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        items = list(parent.get(key) or [])
        positions = {id(item): index for index, item in enumerate(items)}
        return paginate(items, lambda item: [positions[id(item)]], args)

    return resolve


def resolve_order_cancel(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    """``orderCancel``: cancels at once; the job comes back done."""
    shop = _shop(info)
    legacy = _legacy(str(args["orderId"]), "Order")
    errors: list[dict[str, Any]] = []
    if legacy is None or shop.get_order(legacy) is None:
        errors.append({"field": ["orderId"], "message": "Order does not exist", "code": "NOT_FOUND"})
    else:
        try:
            shop.cancel_order(legacy, reason=str(args["reason"]))
        except ValueError:
            errors.append({"field": ["orderId"], "message": "Order has already been cancelled", "code": "INVALID"})
    if errors:
        return {
            "job": None,
            "orderCancelUserErrors": errors,
            "userErrors": [{k: e[k] for k in ("field", "message")} for e in errors],
        }
    return {
        "job": {"id": f"gid://shopify/Job/{shop.next_id()}", "done": True},
        "orderCancelUserErrors": [],
        "userErrors": [],
    }


def resolve_webhook_create(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    """``webhookSubscriptionCreate``: validates the address like Shopify, then subscribes."""
    shop = _shop(info)
    sub = args["webhookSubscription"]
    uri = sub.get("uri") or sub.get("callbackUrl") or ""
    topic = str(args["topic"]).lower().replace("_", "/", 1)
    try:
        created = shop.subscribe(topic, uri)
    except ValueError as exc:
        return {
            "webhookSubscription": None,
            "userErrors": [{"field": ["webhookSubscription", "uri"], "message": str(exc)}],
        }
    return {
        "webhookSubscription": {
            "id": f"gid://shopify/WebhookSubscription/{created['id']}",
            "topic": args["topic"],
            "uri": uri,
            "format": sub.get("format") or "JSON",
            "includeFields": sub.get("includeFields") or [],
            "filter": sub.get("filter"),
            "createdAt": utc_text(created["created_at"]),
        },
        "userErrors": [],
    }


def build_sandbox_schema() -> GraphQLSchema:
    """The schema with the sandbox's resolvers attached."""
    schema = build_schema(SDL + SDL_EXTENSION)
    query, mutation, order = schema.query_type, schema.mutation_type, schema.get_type("Order")
    assert query is not None
    assert mutation is not None
    assert isinstance(order, GraphQLObjectType)
    query.fields["orders"].resolve = resolve_orders
    query.fields["order"].resolve = resolve_order
    mutation.fields["orderCancel"].resolve = resolve_order_cancel
    mutation.fields["webhookSubscriptionCreate"].resolve = resolve_webhook_create
    order.fields["lineItems"].resolve = _list_resolver("_lineItems")
    order.fields["shippingLines"].resolve = _list_resolver("_shippingLines")
    install_write_resolvers(schema, paginate)
    return schema


# --- cost ----------------------------------------------------------------------------------------


class _CostWalker:
    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: dict[str, Any]
    ):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def fields(self, selection_set: SelectionSetNode | None) -> list[FieldNode]:
        found: list[FieldNode] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self.fields(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    found.extend(self.fields(fragment.selection_set))
        return found

    def cost(self, parent: GraphQLObjectType, selection_set: SelectionSetNode | None, data: Any, actual: bool) -> int:
        total = 0
        for node in self.fields(selection_set):
            definition = parent.fields.get(node.name.value)
            if definition is None:
                continue
            named = get_named_type(definition.type)
            if not is_object_type(named):
                continue
            assert isinstance(named, GraphQLObjectType)
            value = data.get(node.alias.value if node.alias else node.name.value) if isinstance(data, Mapping) else None
            if actual and value is None:
                continue
            if named.name.endswith("Connection"):
                total += self.connection(definition, named, node, value, actual)
            else:
                if isinstance(value, list):
                    value = value[0] if value else None
                total += 1 + self.cost(named, node.selection_set, value, actual)
        return total

    def connection(
        self, field: GraphQLField, connection: GraphQLObjectType, node: FieldNode, value: Any, actual: bool
    ) -> int:
        args = get_argument_values(field, node, self.variables)
        total = 2
        for wrapper in self.fields(node.selection_set):
            name = wrapper.name.value
            if name == "pageInfo":
                continue
            wrapped = value.get(wrapper.alias.value if wrapper.alias else name) if isinstance(value, Mapping) else None
            node_type = get_named_type(connection.fields["nodes"].type)
            assert isinstance(node_type, GraphQLObjectType)
            selections: list[tuple[SelectionSetNode | None, list[Any]]] = []
            if name == "nodes":
                selections.append((wrapper.selection_set, list(wrapped or [])))
            elif name == "edges":
                for inner in self.fields(wrapper.selection_set):
                    if inner.name.value == "node":
                        key = inner.alias.value if inner.alias else "node"
                        selections.append(
                            (inner.selection_set, [e.get(key) for e in wrapped or [] if isinstance(e, Mapping)])
                        )
            for selection_set, items in selections:
                if actual:
                    total += sum(1 + self.cost(node_type, selection_set, item, actual) for item in items)
                else:
                    size = int(args.get("first") or args.get("last") or 0)
                    total += size * (1 + self.cost(node_type, selection_set, None, actual))
        return total


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    data: Any = None,
    *,
    actual: bool = False,
) -> int:
    """Requested (``actual=False``) or actual cost of ``operation``; see the module docstring."""
    if operation.operation.value == "mutation":
        return MUTATION_FIELD_COST * len(_CostWalker(schema, fragments, variables).fields(operation.selection_set))
    root = schema.query_type
    assert root is not None
    return _CostWalker(schema, fragments, variables).cost(root, operation.selection_set, data, actual)


def run_graphql(shop: SandboxShop, schema: GraphQLSchema, body: Any) -> dict[str, Any]:
    """Answer one GraphQL request body the way Shopify does (always an HTTP 200 body)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("query"), str):
        return {"errors": [{"message": "Parameter Missing or Invalid: query"}]}
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return {"errors": [{"message": "Parameter Invalid: variables must be an object"}]}
    try:
        document = parse(body["query"])
    except GraphQLError as exc:
        return {"errors": [exc.formatted]}
    problems = validate(schema, document)
    if problems:
        return {"errors": [p.formatted for p in problems]}
    operation = get_operation_ast(document, body.get("operationName"))
    if operation is None:
        return {"errors": [{"message": "An operation name is required (or send one operation)"}]}
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        return {"errors": [p.formatted for p in coerced]}
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    requested = query_cost(schema, operation, fragments, coerced)
    cost: dict[str, Any] = {"requestedQueryCost": requested, "actualQueryCost": None}
    limit = shop.options.max_query_cost
    if requested > limit:
        cost["throttleStatus"] = shop.bucket.status()
        message = f"Query cost is {requested}, which exceeds the single query max cost limit ({limit})."
        error = {"message": message, "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": limit}}
        return {"errors": [error], "extensions": {"cost": cost}}
    if not shop.bucket.take(requested):
        cost["throttleStatus"] = shop.bucket.status()
        error = {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
        return {"errors": [error], "extensions": {"cost": cost}}
    result = execute_sync(
        schema, document, context_value=shop, variable_values=variables, operation_name=body.get("operationName")
    )
    actual = requested
    if operation.operation.value == "query":
        actual = query_cost(schema, operation, fragments, coerced, result.data, actual=True)
    shop.bucket.refund(requested - actual)
    cost.update(actualQueryCost=actual, throttleStatus=shop.bucket.status())
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [e.formatted for e in result.errors]
    answer["extensions"] = {"cost": cost}
    return answer
