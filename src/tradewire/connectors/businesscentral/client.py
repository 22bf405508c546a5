"""HTTP client for Business Central API v2.0 (OData v4), authenticated with Entra ID.

Only speaks HTTP and returns vendor shapes; mapping and orchestration live elsewhere. Every
request goes through the connection's rate budget and a per-process semaphore (BC runs 5
requests per user at once and queues the rest). A 401 invalidates the token and retries once;
a stale ``If-Match`` (``Request_EntityChanged``) re-reads the record and retries once.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import ValidationError

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.http import VendorHttp, json_body
from tradewire.connectors.base.tokens import TokenCache
from tradewire.connectors.businesscentral.auth import SYSTEM, TOKEN_SOURCE, BearerAuth, EntraTokenSource
from tradewire.connectors.businesscentral.odata import (
    ENTITY_CHANGED,
    MAX_BATCH,
    THROTTLE_BACKOFF_SECONDS,
    BatchOperation,
    BatchResult,
    BusinessCentralAuthError,
    BusinessCentralEntityChanged,
    BusinessCentralError,
    BusinessCentralRateLimited,
    BusinessCentralRejected,
    BusinessCentralUnavailable,
    batch_error,
    describe_error,
    odata_in,
    odata_literal,
    translate,
)
from tradewire.connectors.businesscentral.schemas import (
    BcCollection,
    BcCustomer,
    BcItem,
    BcSalesOrder,
    BcSubscription,
)
from tradewire.connectors.businesscentral.settings import BusinessCentralSecrets, BusinessCentralSettings
from tradewire.errors import PermanentError, VendorError

RATE_SCOPE = "odata"
_SEMAPHORES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _semaphore(key: str, limit: int) -> asyncio.Semaphore:
    """One per (event loop, environment + app, limit): every client of that user in this process shares it."""
    per_loop = _SEMAPHORES.setdefault(asyncio.get_running_loop(), {})
    slot = (key, limit)
    if slot not in per_loop:
        per_loop[slot] = asyncio.Semaphore(limit)
    return per_loop[slot]


class BusinessCentralClient:
    """Talks to one Business Central company over API v2.0.

    Args:
        settings: the connection's settings.
        secrets: its Entra ID app credentials.
        budget: the connection's shared rate budget (scope ``odata``).
        transport: an httpx transport (``ASGITransport`` for the in-process sandbox).
    """

    def __init__(
        self,
        settings: BusinessCentralSettings,
        secrets: BusinessCentralSecrets,
        *,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._token_source = EntraTokenSource(settings, secrets, transport=transport)
        self.tokens = TokenCache(self._token_source.fetch)
        self._root = settings.api_root
        self._slot_key = f"{settings.tenant_id}/{settings.environment}/{hash(secrets.client_id.get_secret_value())}"
        self._http = VendorHttp(
            system=SYSTEM,
            base_url=self._root,
            budget=budget,
            auth=BearerAuth(self.tokens),
            headers={"Accept": "application/json"},
            timeout=settings.request_timeout_seconds,
            transport=transport,
            max_connections=settings.max_concurrency,
            describe_error=describe_error,
        )

    # --- plumbing ------------------------------------------------------------------------------

    def company(self, path: str) -> str:
        """``/companies({id})/{path}``."""
        return f"{self.settings.company_path}/{path.lstrip('/')}"

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except BusinessCentralError:
            raise
        except VendorError as exc:
            raise translate(exc, what, self.settings.entity_changed_statuses) from exc

    async def _send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request; a 401 gets one fresh token and one more try."""
        for attempt in (1, 2):
            try:
                with self._errors(what):
                    async with _semaphore(self._slot_key, self.settings.max_concurrency):
                        return await self._http.request(
                            method, url, scope=RATE_SCOPE, json=body, params=params, headers=headers
                        )
            except BusinessCentralAuthError as exc:
                if attempt == 2 or exc.status != 401 or exc.detail.get("source") == TOKEN_SOURCE:
                    raise
                self.tokens.invalidate()
        raise AssertionError("unreachable")  # pragma: no cover

    def _object(self, response: httpx.Response, what: str) -> dict[str, Any]:
        with self._errors(what):
            data = json_body(response, system=SYSTEM, what=what)
        if not isinstance(data, dict):
            raise BusinessCentralUnavailable(f"Business Central answered {what} with a non-object body", system=SYSTEM)
        return data

    # --- generic OData ---------------------------------------------------------------------------

    async def get(self, path: str, *, what: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        """One entity (``path`` below the API root)."""
        return self._object(await self._send("GET", path, what=what, params=params), what)

    async def pages(
        self, path: str, *, what: str, params: Mapping[str, str | int] | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of an entity set, following ``@odata.nextLink`` verbatim.

        Raises:
            BusinessCentralUnavailable: a nextLink pointing outside the API root (it would get our token)
                or one that repeats (it would loop).
        """
        url: str | None = path
        query = params
        seen: set[str] = set()
        prefer = {"Prefer": f"odata.maxpagesize={self.settings.page_size}"}
        while url is not None:
            response = await self._send("GET", url, what=what, params=query, headers=prefer)
            try:
                page = BcCollection.model_validate(self._object(response, what))
            except ValidationError as exc:
                raise BusinessCentralUnavailable(
                    f"Business Central answered {what} without 'value'", system=SYSTEM
                ) from exc
            yield page.value
            url, query = page.next_link, None
            if url is not None:
                if not url.startswith(self._root):
                    raise BusinessCentralUnavailable(
                        f"Business Central sent a nextLink outside {self._root} for {what}; not following it",
                        system=SYSTEM,
                    )
                if url in seen:
                    raise BusinessCentralUnavailable(f"Business Central repeated a nextLink for {what}", system=SYSTEM)
                seen.add(url)

    async def list_all(
        self, path: str, *, what: str, params: Mapping[str, str | int] | None = None
    ) -> list[dict[str, Any]]:
        """Every entity of an entity set (all pages)."""
        return [row async for page in self.pages(path, what=what, params=params) for row in page]

    async def create(self, path: str, body: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """POST an entity (deep insert allowed); the created entity."""
        return self._object(await self._send("POST", path, what=what, body=dict(body)), what)

    async def patch(self, path: str, body: Mapping[str, Any], *, etag: str, what: str) -> dict[str, Any]:
        """PATCH with ``If-Match: etag``; the updated entity."""
        headers = {"If-Match": etag}
        return self._object(await self._send("PATCH", path, what=what, body=dict(body), headers=headers), what)

    async def patch_fresh(
        self, path: str, body: Mapping[str, Any], *, etag: str, what: str,
        still_wanted: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """PATCH; on a stale etag re-read the entity and try once more with its new etag.

        ``still_wanted`` sees the re-read entity and may return False (the change no longer applies).

        Raises:
            BusinessCentralEntityChanged: the entity changed again between the re-read and the retry.
        """
        try:
            return await self.patch(path, body, etag=etag, what=what)
        except BusinessCentralEntityChanged:
            current = await self.get(path, what=what)
            if still_wanted is not None and not still_wanted(current):
                return current
            return await self.patch(path, body, etag=str(current.get("@odata.etag") or "*"), what=what)

    async def delete(self, path: str, *, etag: str, what: str) -> None:
        """DELETE with ``If-Match``."""
        await self._send("DELETE", path, what=what, headers={"If-Match": etag})

    async def action(self, path: str, name: str, *, what: str) -> None:
        """Call a bound action: ``POST {path}/Microsoft.NAV.{name}`` (204)."""
        await self._send("POST", f"{path}/Microsoft.NAV.{name}", what=what)

    async def batch(self, operations: Sequence[BatchOperation], *, atomic: bool = True) -> list[BatchResult]:
        """Send up to 100 operations as one JSON ``$batch``; ``atomic`` adds ``Isolation: snapshot``.

        Raises:
            PermanentError: more than 100 operations.
            BusinessCentralRejected: the first failed operation, when any failed (its OData error described).
        """
        if len(operations) > MAX_BATCH:
            raise PermanentError(f"a $batch carries at most {MAX_BATCH} operations, got {len(operations)}")
        requests = []
        for n, op in enumerate(operations, 1):
            entry: dict[str, Any] = {"id": str(n), "method": op.method, "url": op.url.lstrip("/")}
            headers = {"Content-Type": "application/json", **op.headers} if op.body is not None else dict(op.headers)
            if headers:
                entry["headers"] = headers
            if op.body is not None:
                entry["body"] = dict(op.body)
            requests.append(entry)
        batch_headers = {"Isolation": "snapshot"} if atomic else None
        data = self._object(
            await self._send("POST", "/$batch", what="$batch", body={"requests": requests}, headers=batch_headers),
            "$batch",
        )
        answers = {str(r.get("id")): r for r in data.get("responses", []) if isinstance(r, dict)}
        results: list[BatchResult] = []
        failures: list[tuple[int, BatchOperation, int, Any]] = []
        for n, op in enumerate(operations, 1):
            answer = answers.get(str(n))
            if answer is None:
                raise BusinessCentralUnavailable(f"$batch answer lacks operation {n}", system=SYSTEM)
            status, body = int(answer.get("status", 0)), answer.get("body")
            if status >= 400:
                failures.append((n, op, status, body))
            results.append(BatchResult(status, body))
        # In an atomic batch the others fail with 424 (Failed Dependency): report the cause.
        causes = [f for f in failures if f[2] != 424] or failures
        if causes:
            raise batch_error(*causes[0])
        return results

    # --- entities the flows need ----------------------------------------------------------------

    async def companies(self) -> list[dict[str, Any]]:
        """``GET /companies``."""
        return await self.list_all("/companies", what="companies")

    async def find_customer(self, *, number: str | None = None, email: str | None = None) -> BcCustomer | None:
        """The customer with ``number`` (or, failing that, ``email``), or None."""
        clause = f"number eq {odata_literal(number)}" if number else f"email eq {odata_literal(email or '')}"
        rows = await self.list_all(self.company("customers"), what="customers", params={"$filter": clause, "$top": 2})
        return BcCustomer.model_validate(rows[0]) if rows else None

    async def create_customer(self, body: Mapping[str, Any]) -> BcCustomer:
        """``POST customers``."""
        return BcCustomer.model_validate(await self.create(self.company("customers"), body, what="customer"))

    async def items_by_number(self, numbers: Sequence[str]) -> list[BcItem]:
        """Items whose ``number`` is one of ``numbers`` (``$filter=number in (…)``)."""
        params = {"$filter": odata_in("number", list(numbers))}
        rows = await self.list_all(self.company("items"), what="items", params=params)
        return [BcItem.model_validate(row) for row in rows]

    async def find_sales_order(self, external_document_number: str) -> BcSalesOrder | None:
        """The sales order with ``externalDocumentNumber`` and its lines, or None (lookup before create)."""
        params = {
            "$filter": f"externalDocumentNumber eq {odata_literal(external_document_number)}",
            "$expand": "salesOrderLines",
        }
        rows = await self.list_all(self.company("salesOrders"), what="salesOrders", params=params)
        return BcSalesOrder.model_validate(rows[0]) if rows else None

    async def posted_shipments(self, external_document_number: str, *, top: int | None = None) -> list[dict[str, Any]]:
        """Posted ``salesShipments`` carrying ``external_document_number`` (with their lines; ``top`` first ones)."""
        params: dict[str, str | int] = {
            "$filter": f"externalDocumentNumber eq {odata_literal(external_document_number)}",
            "$expand": "salesShipmentLines",
        }
        if top is not None:
            params["$top"] = top
        return await self.list_all(self.company("salesShipments"), what="salesShipments", params=params)

    async def get_sales_order(self, order_id: str) -> dict[str, Any]:
        """One sales order with its lines (raw, as the ``sales_order`` read mapping takes it)."""
        return await self.get(
            self.company(f"salesOrders({order_id})"), what=f"salesOrder {order_id}",
            params={"$expand": "salesOrderLines"},
        )  # fmt: skip

    async def create_sales_order(self, body: Mapping[str, Any]) -> BcSalesOrder:
        """Deep insert: header and ``salesOrderLines`` in one POST."""
        return BcSalesOrder.model_validate(await self.create(self.company("salesOrders"), body, what="salesOrder"))

    async def ship_and_invoice(self, order_id: str) -> None:
        """``Microsoft.NAV.shipAndInvoice`` on an open sales order (posts a shipment and an invoice)."""
        await self.action(self.company(f"salesOrders({order_id})"), "shipAndInvoice", what=f"salesOrder {order_id}")

    async def requery_collection(self, reference: str) -> list[dict[str, Any]]:
        """The records a ``collection`` notification stands for.

        ``reference`` is the event's ``external_id`` (``salesOrders?$filter=lastModifiedDateTime gt …``).

        Raises:
            PermanentError: the reference names no entity set of this API.
            BusinessCentral…: from the request.
        """
        entity_set, _, filter_ = reference.partition("?$filter=")
        if not entity_set.isalpha():
            raise PermanentError(f"{reference[:80]!r} is not an entitySet?$filter=… reference")
        params = {"$filter": filter_} if filter_ else None
        return await self.list_all(self.company(entity_set), what=entity_set, params=params)

    # --- webhook subscriptions -------------------------------------------------------------------

    async def subscriptions(self) -> list[BcSubscription]:
        """Every subscription of this user in the environment."""
        return [BcSubscription.model_validate(r) for r in await self.list_all("/subscriptions", what="subscriptions")]

    async def create_subscription(self, *, notification_url: str, resource: str, client_state: str) -> BcSubscription:
        """Register a webhook; BC first calls ``notification_url?validationToken=…`` and needs the token back."""
        body = {"notificationUrl": notification_url, "resource": resource, "clientState": client_state}
        return BcSubscription.model_validate(await self.create("/subscriptions", body, what="subscription"))

    async def renew_subscription(self, subscription: BcSubscription) -> BcSubscription:
        """Renew (PATCH with ``If-Match``; BC repeats the handshake and moves the expiry 3 days on)."""
        body = {
            "notificationUrl": subscription.notification_url,
            "resource": subscription.resource,
            "clientState": subscription.client_state,
        }
        path = f"/subscriptions('{subscription.subscription_id}')"
        data = await self.patch_fresh(path, body, etag=subscription.etag or "*", what="subscription renewal")
        return BcSubscription.model_validate(data)

    async def delete_subscription(self, subscription: BcSubscription) -> None:
        """Remove a subscription."""
        path = f"/subscriptions('{subscription.subscription_id}')"
        await self.delete(path, etag=subscription.etag or "*", what="subscription")

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()
        await self._token_source.aclose()


__all__ = [
    "ENTITY_CHANGED",
    "THROTTLE_BACKOFF_SECONDS",
    "BatchOperation",
    "BatchResult",
    "BusinessCentralAuthError",
    "BusinessCentralClient",
    "BusinessCentralEntityChanged",
    "BusinessCentralError",
    "BusinessCentralRateLimited",
    "BusinessCentralRejected",
    "BusinessCentralUnavailable",
    "odata_in",
    "odata_literal",
]
