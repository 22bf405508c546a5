"""Shopify GraphQL Admin API client: speaks HTTP, returns vendor models, classifies errors once.

Shopify answers HTTP 200 for throttling and most failures; :func:`classify_graphql` turns those
bodies into Tradewire errors. HTTP-level errors (401, 429 with ``Retry-After``, 5xx) are
classified by ``connectors.base.http``. Every call declares its requested query cost to the
connection's rate budget (scope ``graphql``) and reports ``throttleStatus`` back.

Query costs below follow Shopify's published rules as the sandbox implements them: an object
costs 1, scalars and enums 0, a connection 2 + ``first`` × the cost of one node, a mutation 10.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import ValidationError

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.http import VendorHttp
from tradewire.connectors.base.pagination import Cursor, Page, next_cursor, paginate
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.shopify.schemas import (
    GqlOrder,
    GraphQLResponse,
    OrderPage,
    OrderSummary,
    PageInfo,
    UserError,
    WebhookSubscription,
)
from tradewire.connectors.shopify.settings import ShopifySecrets, ShopifySettings
from tradewire.errors import VendorAuthError, VendorRateLimited, VendorRejected, VendorRetryable

SYSTEM = "shopify"
SCOPE = "graphql"
LINE_PAGE = 50
SHIPPING_PAGE = 10

_MONEY = "{ shopMoney { amount currencyCode } }"
_ADDRESS = (
    "{ name firstName lastName company address1 address2 city province provinceCode zip country countryCodeV2 phone }"
)
LINE_FIELDS = (
    f"id sku title name variantTitle quantity originalUnitPriceSet {_MONEY} "
    f"taxLines {{ title rate priceSet {_MONEY} }} discountAllocations {{ allocatedAmountSet {_MONEY} }}"
)
ORDER_FIELDS = (
    "id legacyResourceId name email phone note tags test taxesIncluded createdAt processedAt updatedAt "
    "cancelledAt cancelReason closedAt currencyCode displayFinancialStatus displayFulfillmentStatus "
    f"totalPriceSet {_MONEY} totalTaxSet {_MONEY} totalDiscountsSet {_MONEY} "
    "customer { id email firstName lastName phone } "
    f"billingAddress {_ADDRESS} shippingAddress {_ADDRESS} "
    f"lineItems(first: {LINE_PAGE}) {{ nodes {{ {LINE_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} "
    f"shippingLines(first: {SHIPPING_PAGE}) {{ nodes {{ id title code originalPriceSet {_MONEY} "
    f"taxLines {{ title rate priceSet {_MONEY} }} discountAllocations {{ allocatedAmountSet {_MONEY} }} }} }}"
)
ORDER_QUERY = f"query Order($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"
ORDER_LINES_QUERY = (
    "query OrderLines($id: ID!, $after: String) { order(id: $id) { "
    f"lineItems(first: {LINE_PAGE}, after: $after) {{ nodes {{ {LINE_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }} }}"
)
ORDERS_QUERY = (
    "query Orders($first: Int!, $after: String, $query: String) { "
    "orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) { "
    "edges { cursor node { id legacyResourceId name createdAt updatedAt cancelledAt } } "
    "pageInfo { hasNextPage endCursor } } }"
)
ORDER_CANCEL_MUTATION = (
    "mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!, "
    "$notifyCustomer: Boolean) { orderCancel(orderId: $orderId, reason: $reason, refund: $refund, restock: $restock, "
    "notifyCustomer: $notifyCustomer) { job { id done } orderCancelUserErrors { field message code } "
    "userErrors { field message } } }"
)
WEBHOOK_CREATE_MUTATION = (
    "mutation WebhookCreate($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) { "
    "webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { "
    "webhookSubscription { id topic uri format } userErrors { field message } } }"
)

# Requested costs of the documents above (object 1; MoneyBag 1 + MoneyV2 1; line node 9).
_LINE_NODE_COST = 1 + 2 + (1 + 2) + (1 + 2)
_SHIPPING_NODE_COST = 1 + 2 + (1 + 2) + (1 + 2)
ORDER_QUERY_COST = 1 + 3 * 2 + 3 + (2 + LINE_PAGE * _LINE_NODE_COST) + (2 + SHIPPING_PAGE * _SHIPPING_NODE_COST)
ORDER_LINES_QUERY_COST = 1 + 2 + LINE_PAGE * _LINE_NODE_COST
MUTATION_COST = 10


def orders_query_cost(page_size: int) -> int:
    """Requested cost of one change-feed page of ``page_size`` orders."""
    return 2 + page_size


def order_gid(order_id: int | str) -> str:
    """``gid://shopify/Order/<id>`` from a numeric id (a GID is returned as is)."""
    text = str(order_id).strip()
    if text.startswith("gid://"):
        return text
    if not text.isdigit():
        raise ValueError(f"not a Shopify order id: {order_id!r}")
    return f"gid://shopify/Order/{text}"


def throttle_retry_after(body: GraphQLResponse) -> float | None:
    """Seconds until the bucket holds the requested cost: (requested − available) / restoreRate."""
    cost = body.extensions.cost if body.extensions else None
    if cost is None or cost.throttle_status is None or cost.requested_query_cost is None:
        return None
    status = cost.throttle_status
    if status.restore_rate <= 0:
        return None
    return max(cost.requested_query_cost - status.currently_available, 0.0) / status.restore_rate


def classify_graphql(body: GraphQLResponse, *, operation: str) -> None:
    """Raise the Tradewire error hidden in a 200 GraphQL answer; return when it succeeded.

    Raises:
        VendorRateLimited: ``THROTTLED`` (retry_after from the throttle status).
        VendorAuthError: ``ACCESS_DENIED`` (missing scope or revoked app).
        VendorRetryable: ``INTERNAL_SERVER_ERROR`` / ``SERVICE_UNAVAILABLE``.
        VendorRejected: any other top-level error (syntax, ``MAX_COST_EXCEEDED``, bad arguments).
    """
    if not body.errors:
        if body.data is None:
            raise VendorRejected(f"shopify {operation}: answer has neither data nor errors", system=SYSTEM)
        return
    codes = {error.code for error in body.errors}
    text = "; ".join(error.message for error in body.errors)[:500]
    detail: dict[str, object] = {"errors": [e.model_dump() for e in body.errors], "operation": operation}
    if "THROTTLED" in codes:
        raise VendorRateLimited(
            f"shopify throttled {operation}: {text}",
            status=200,
            system=SYSTEM,
            retry_after=throttle_retry_after(body),
            detail=detail,
        )
    if "ACCESS_DENIED" in codes:
        raise VendorAuthError(f"shopify denied {operation}: {text}", status=403, system=SYSTEM, detail=detail)
    if codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"}:
        raise VendorRetryable(f"shopify failed {operation}: {text}", status=200, system=SYSTEM, detail=detail)
    raise VendorRejected(f"shopify rejected {operation}: {text}", status=200, system=SYSTEM, detail=detail)


def raise_user_errors(
    payload: Mapping[str, Any] | None, *, operation: str, keys: tuple[str, ...] = ("userErrors",)
) -> None:
    """Raise ``VendorRejected`` listing every ``field: message`` of a mutation's user errors.

    Raises:
        VendorRejected: at least one user error, or the mutation returned no payload.
    """
    if payload is None:
        raise VendorRejected(f"shopify {operation} returned no payload", system=SYSTEM)
    problems: list[str] = []
    for key in keys:
        for raw in payload.get(key) or []:
            error = UserError.model_validate(raw)
            field = ".".join(error.field or [])
            problems.append(f"{field}: {error.message}" if field else error.message)
    if problems:
        raise VendorRejected(
            f"shopify {operation} refused: {'; '.join(problems)}",
            status=200,
            system=SYSTEM,
            detail={"user_errors": problems},
        )


class ShopifyAdminClient:
    """The GraphQL Admin API of one store.

    Args:
        settings: the connection's settings.
        secrets: its secrets (the access token is sent as ``X-Shopify-Access-Token``).
        budget: the connection's shared rate budget (scope ``graphql``).
        transport: an httpx transport (``httpx.ASGITransport(sandbox)`` in unit tests).
    """

    def __init__(
        self,
        settings: ShopifySettings,
        secrets: ShopifySecrets,
        *,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._http = VendorHttp(
            system=SYSTEM,
            base_url=settings.admin_base_url,
            budget=budget,
            headers={
                "X-Shopify-Access-Token": secrets.access_token.get_secret_value(),
                "Accept": "application/json",
            },
            timeout=settings.timeout_seconds,
            transport=transport,
        )

    @classmethod
    def from_connection(
        cls,
        connection: Connection,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> ShopifyAdminClient:
        """A client for ``connection`` (settings and decrypted secrets validated here).

        Raises:
            pydantic.ValidationError: the connection's settings or secrets are incomplete.
        """
        return cls(
            ShopifySettings.model_validate(dict(connection.settings)),
            ShopifySecrets.model_validate(dict(connection.secrets)),
            budget=budget,
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    async def create(self, mutation: str, variables: Mapping[str, Any], *, operation: str, created: str) -> str:
        """Run a create mutation (``fulfillmentCreate``…) and return the id of what it made (``created``).

        Raises:
            VendorRejected: user errors, no payload, or no id in the answer; and see :meth:`execute`.
        """
        answer = await self.execute(mutation, variables, cost=MUTATION_COST, operation=operation)
        payload = answer.get(operation)
        raise_user_errors(payload, operation=operation)
        assert payload is not None
        made = payload.get(created) or {}
        if not made.get("id"):
            raise VendorRejected(f"shopify {operation} returned no {created}", system=SYSTEM)
        return str(made["id"])

    async def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, *, cost: float, operation: str
    ) -> dict[str, Any]:
        """Send one GraphQL document and return its ``data``.

        Raises:
            VendorRateLimited: HTTP 429 or ``THROTTLED``.
            VendorRetryable: 5xx, timeouts, unreadable answers.
            VendorAuthError: 401/403 or ``ACCESS_DENIED``.
            VendorRejected: any other error.
        """
        response = await self._http.request(
            "POST",
            self.settings.graphql_path,
            scope=SCOPE,
            cost=cost,
            json={"query": query, "variables": dict(variables or {})},
        )
        try:
            body = GraphQLResponse.model_validate(json.loads(response.content))
        except (ValueError, ValidationError) as exc:
            raise VendorRetryable(
                f"shopify {operation}: unreadable answer ({exc.__class__.__name__})",
                status=response.status_code,
                system=SYSTEM,
            ) from None
        cost_info = body.extensions.cost if body.extensions else None
        if cost_info is not None and cost_info.throttle_status is not None:
            status = cost_info.throttle_status
            self._http.budget.observe(
                SCOPE,
                remaining=status.currently_available,
                capacity=status.maximum_available,
                refill=status.restore_rate,
            )
        classify_graphql(body, operation=operation)
        assert body.data is not None  # classify_graphql refuses answers without data
        return body.data

    async def get_order(self, order_id: int | str) -> GqlOrder | None:
        """The full order (every line, following the line-item cursor), or None when it does not exist.

        Raises:
            VendorError: see :meth:`execute`.
        """
        gid = order_gid(order_id)
        data = await self.execute(ORDER_QUERY, {"id": gid}, cost=ORDER_QUERY_COST, operation="order")
        node = data.get("order")
        if node is None:
            return None
        lines = node.get("lineItems") or {}
        page = PageInfo.model_validate(lines.get("pageInfo") or {"hasNextPage": False})
        nodes = list(lines.get("nodes") or [])
        while page.has_next_page and page.end_cursor:
            more = await self.execute(
                ORDER_LINES_QUERY,
                {"id": gid, "after": page.end_cursor},
                cost=ORDER_LINES_QUERY_COST,
                operation="order lines",
            )
            extra = ((more.get("order") or {}).get("lineItems")) or {}
            nodes.extend(extra.get("nodes") or [])
            page = PageInfo.model_validate(extra.get("pageInfo") or {"hasNextPage": False})
        node["lineItems"] = {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": page.end_cursor}}
        return GqlOrder.model_validate(node)

    async def list_orders(
        self, updated_at_min: datetime | None = None, page_size: int | None = None, *, after: str | None = None
    ) -> AsyncIterator[OrderPage]:
        """Pages of orders changed at or after ``updated_at_min``, oldest change first.

        Each page holds summaries (id, name, times); fetch details with :meth:`get_order`.
        Ties on ``updatedAt`` are possible: keep the cursor ``>=`` and dedupe by id. ``after``
        resumes the same query after a page's ``end_cursor``.

        Raises:
            VendorError: see :meth:`execute`.
        """
        size = page_size or self.settings.page_size
        if not 1 <= size <= 250:
            raise ValueError(f"page_size must be 1..250, got {size}")
        search = None
        if updated_at_min is not None:
            moment = updated_at_min.astimezone(UTC).isoformat().replace("+00:00", "Z")
            search = f"updated_at:>='{moment}'"

        async def fetch(at: Cursor) -> Page[OrderPage, Cursor]:
            data = await self.execute(
                ORDERS_QUERY,
                {"first": at.first, "after": at.after, "query": search},
                cost=orders_query_cost(at.first),
                operation="orders",
            )
            connection = data.get("orders") or {}
            page = OrderPage(
                orders=[OrderSummary.model_validate(edge["node"]) for edge in connection.get("edges") or []],
                page_info=PageInfo.model_validate(connection.get("pageInfo") or {"hasNextPage": False}),
            )
            info = page.page_info
            return Page([page], next_cursor(at, has_next_page=info.has_next_page, end_cursor=info.end_cursor))

        async for pages in paginate(fetch, Cursor(after, size), system="shopify"):
            for page in pages.items:
                yield page

    async def cancel_order(
        self,
        order_id: int | str,
        *,
        reason: str = "OTHER",
        refund: bool = False,
        restock: bool = True,
        notify_customer: bool = False,
    ) -> str | None:
        """Cancel an order (Shopify runs it as a job); returns the job id.

        Raises:
            VendorRejected: Shopify refused (already cancelled, unknown order …), with its messages.
            VendorError: see :meth:`execute`.
        """
        data = await self.execute(
            ORDER_CANCEL_MUTATION,
            {
                "orderId": order_gid(order_id),
                "reason": reason.upper(),
                "refund": refund,
                "restock": restock,
                "notifyCustomer": notify_customer,
            },
            cost=MUTATION_COST,
            operation="orderCancel",
        )
        payload = data.get("orderCancel")
        raise_user_errors(payload, operation="orderCancel", keys=("orderCancelUserErrors", "userErrors"))
        assert payload is not None
        job = payload.get("job") or {}
        return str(job["id"]) if job.get("id") else None

    async def create_webhook_subscription(self, topic: str, uri: str) -> WebhookSubscription:
        """Subscribe ``uri`` to ``topic`` (``orders/create`` or ``ORDERS_CREATE``).

        Raises:
            VendorRejected: Shopify refused (bad address, unknown topic …), with its messages.
            VendorError: see :meth:`execute`.
        """
        enum = topic.strip().upper().replace("/", "_")
        data = await self.execute(
            WEBHOOK_CREATE_MUTATION,
            {"topic": enum, "sub": {"uri": uri, "format": "JSON"}},
            cost=MUTATION_COST,
            operation="webhookSubscriptionCreate",
        )
        payload = data.get("webhookSubscriptionCreate")
        raise_user_errors(payload, operation="webhookSubscriptionCreate")
        assert payload is not None
        return WebhookSubscription.model_validate(payload["webhookSubscription"])
