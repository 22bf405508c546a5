"""A stateful, fault-injectable fake of Business Central API v2.0 and its Entra ID token endpoint.

- ``POST /{tenant}/oauth2/v2.0/token`` (client credentials) issues bearer tokens; the API
  refuses missing, unknown or expired tokens with 401 ``Authentication_InvalidCredentials``.
- ``/v2.0/{tenant}/{environment}/api/v2.0/…``: companies, customers, items, salesOrders with
  deep-inserted salesOrderLines, ``Microsoft.NAV.shipAndInvoice``, salesShipments,
  salesInvoices, salesCreditMemos (+ lines), itemLedgerEntries, subscriptions, JSON ``$batch``.
  OData ``$filter`` / ``$expand`` / ``$top`` / ``$orderby``, server-driven paging with
  ``@odata.nextLink`` (``Prefer: odata.maxpagesize``), ``If-Match`` etags.
- Limits per user (client id): ``rate_limit_requests`` per ``rate_limit_window_seconds``
  sliding window, ``concurrency_limit`` requests at once with ``queue_size`` more queued; beyond
  that 429 without ``Retry-After`` (as BC). Knob-made 429s carry the knob's ``Retry-After``.

The state is ``app.state.businesscentral`` (:class:`BusinessCentralSandbox`), drivable from any
thread: ``seed_items``, ``sales_orders()``, ``sales_order(edn)``, ``duplicates()``,
``ship_and_invoice(order_id)``, ``subscriptions()``, ``flush_notifications()``, ``delivery_log()``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.sandbox import FaultDice, FaultKnobs
from tradewire.connectors.base.sandbox_webhooks import WebhookSender
from tradewire.connectors.businesscentral.sandbox_api import Api
from tradewire.connectors.businesscentral.sandbox_store import Company, SalesOrderRow, SandboxError
from tradewire.connectors.businesscentral.sandbox_subscriptions import Subscriptions

DEFAULT_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("TSHIRT-BLK-M", "T-shirt black M", "25.00"),
    ("TSHIRT-WHT-L", "T-shirt white L", "25.00"),
    ("HOODIE-GRY-M", "Hoodie grey M", "59.00"),
    ("CAP-NAVY", "Cap navy", "19.50"),
    ("SOCKS-3PK", "Socks, 3 pack", "12.00"),
)


def error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    """An OData error body ``{"error": {"code", "message"}}``."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers or None)


class BusinessCentralSandbox:
    """The sandbox's state and Python API (``app.state.businesscentral``)."""

    def __init__(self, *, tenant_id: str, environment: str, company_id: str, client_id: str, client_secret: str,
                 knobs: FaultKnobs, seed: int | None, items: Iterable[tuple[str, str, Decimal | float | str]],
                 tax_rate: Decimal, concurrency_limit: int, queue_size: int, rate_limit_requests: int,
                 rate_limit_window_seconds: float, token_lifetime_seconds: float, entity_changed_status: int,
                 garbage_rate: float, timeout_applied_fraction: float, subscription_lifetime_seconds: float,
                 debounce_seconds: float, collection_threshold: int) -> None:  # fmt: skip
        self.tenant_id, self.environment, self.company_id = tenant_id, environment, company_id
        self.client_id, self._client_secret = client_id, client_secret
        self.company = Company(company_id, tax_rate=tax_rate)
        self.concurrency_limit, self.queue_size = concurrency_limit, queue_size
        self.rate_limit_requests, self.rate_limit_window_seconds = rate_limit_requests, rate_limit_window_seconds
        self.token_lifetime_seconds = token_lifetime_seconds
        self.entity_changed_status = entity_changed_status
        self.garbage_rate = garbage_rate
        self.timeout_applied_fraction = timeout_applied_fraction
        self._seed, self._items = seed, list(items)
        self._lock = threading.Lock()
        self.tokens: dict[str, float] = {}
        self.window: collections.deque[float] = collections.deque()
        self.running = 0
        self.queued = 0
        self.stats: dict[str, int] = {}
        self.set_knobs(knobs)
        self.sender = WebhookSender(
            retry_delays=[0.5, 2.0, 5.0], out_of_order_delay=1.0, duplicate_delay=0.2, concurrency=8
        )
        self.subs = Subscriptions(company_id=company_id, sender=self.sender, dice=lambda: self.dice,
                                  lifetime_seconds=subscription_lifetime_seconds, debounce_seconds=debounce_seconds,
                                  collection_threshold=collection_threshold)  # fmt: skip
        self.http: httpx.AsyncClient | None = None
        self.webhook_transport: httpx.AsyncBaseTransport | None = None
        self.reset()

    # --- Python API ---

    def set_knobs(self, knobs: FaultKnobs) -> None:
        """Replace the fault knobs (the ``rate_limit_after`` count starts again)."""
        if self._seed is not None and knobs.seed is None:
            knobs = knobs.model_copy(update={"seed": self._seed})
        self.knobs = knobs
        self.dice = FaultDice(knobs)

    def reset(self) -> None:
        """Forget records, tokens, subscriptions and counters; re-seed the items given at creation."""
        self.company.reset()
        self.subs.reset()
        with self._lock:
            self.tokens.clear()
            self.window.clear()
            self.stats = dict.fromkeys(("requests", "served", "throttled", "window_rejections", "concurrency_rejections",
                                        "faults", "timeouts", "timeouts_applied", "garbage", "auth_failures", "errors",
                                        "tokens_issued", "max_running", "max_queued"), 0)  # fmt: skip
        self.company.seed_items(self._items)

    def seed_items(self, items: Iterable[tuple[str, str, Decimal | float | str]]) -> dict[str, str]:
        """Add inventory items ``(sku, title, price)``; return SKU → item id."""
        return self.company.seed_items(items)

    def adjust_inventory(
        self, number: str, *, delta: float | None = None, count: float | None = None
    ) -> dict[str, Any]:
        """Move or count an item's stock as a warehouse would (a ledger entry; subscribers hear ``items`` updated)."""
        item = self.company.adjust_inventory(number, delta=delta, count=count)
        self.changed("items", item, "updated")
        return item

    def item_ids(self) -> dict[str, str]:
        """Item number → id."""
        return {row["number"]: row["id"] for row in self.company.rows("items")}

    def sales_orders(self) -> list[SalesOrderRow]:
        """Every sales order ever created (also deleted = cancelled, and posted ones), oldest first."""
        return self.company.sales_order_rows()

    def sales_order(self, external_document_number: str) -> list[SalesOrderRow]:
        """The sales orders carrying ``external_document_number`` (more than one is a duplicate)."""
        return [r for r in self.sales_orders() if r.external_document_number == external_document_number]

    def duplicates(self) -> dict[str, int]:
        """externalDocumentNumber → count, where more than one sales order carries it (should stay empty)."""
        counts = collections.Counter(
            r.external_document_number for r in self.sales_orders() if r.external_document_number
        )
        return {number: count for number, count in sorted(counts.items()) if count > 1}

    def ship_and_invoice(self, order_id: str) -> tuple[str, str]:
        """Post a sales order (as a warehouse worker would): shipment id and invoice id."""
        shipment, invoice = self.company.ship_and_invoice(order_id)
        self.notify_posting(order_id, shipment, invoice)
        return shipment, invoice

    def subscriptions(self) -> list[dict[str, Any]]:
        """Live webhook subscriptions."""
        return self.subs.all()

    def flush_notifications(self) -> int:
        """Send pending notifications now (skip the debounce); the number of deliveries queued."""
        return self.subs.flush(force=True)

    def delivery_log(self) -> list[dict[str, Any]]:
        """Every notification delivery with its attempts."""
        return [d.to_json() for d in self.sender.log]

    def snapshot_stats(self) -> dict[str, int]:
        """A copy of the counters."""
        with self._lock:
            return dict(self.stats)

    def count(self, name: str, by: int = 1) -> None:
        """Add to a counter."""
        with self._lock:
            self.stats[name] = self.stats.get(name, 0) + by

    # --- internals used by the app ---

    def issue_token(self, client_id: str, client_secret: str) -> str | None:
        """A new token for valid credentials, else None."""
        good = secrets.compare_digest(client_id, self.client_id) and secrets.compare_digest(
            client_secret, self._client_secret
        )
        if not good:
            return None
        token = secrets.token_urlsafe(48)
        with self._lock:
            self.tokens[token] = time.time() + self.token_lifetime_seconds
            self.stats["tokens_issued"] += 1
        return token

    def token_valid(self, header: str | None) -> bool:
        """True for ``Bearer <live token>``."""
        if not header or not header.startswith("Bearer "):
            return False
        expires = self.tokens.get(header[7:].strip())
        return expires is not None and expires > time.time()

    def admit(self) -> bool:
        """Count one request against the sliding window; False when the window is full."""
        now = time.time()
        with self._lock:
            while self.window and self.window[0] <= now - self.rate_limit_window_seconds:
                self.window.popleft()
            if len(self.window) >= self.rate_limit_requests:
                return False
            self.window.append(now)
            return True

    def changed(
        self, entity_set: str, record: dict[str, Any] | None, change: str, entity_id: str | None = None
    ) -> None:
        """Tell subscriptions about a write."""
        key = entity_id or (record or {}).get("id", "")
        stamp = (record or {}).get("lastModifiedDateTime") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.subs.changed(entity_set, str(key), change, stamp)

    def notify_posting(self, order_id: str, shipment: str, invoice: str) -> None:
        """Tell subscriptions about a posting: a shipment and an invoice created, the order deleted."""
        self.changed("salesShipments", self.company.get("salesShipments", shipment), "created")
        self.changed("salesInvoices", self.company.get("salesInvoices", invoice), "created")
        self.changed("salesOrders", None, "deleted", order_id)
        shipped = {line.get("lineObjectNumber") for line in self.company.present(
            self.company.document("salesShipments", shipment), "lines").get("lines", [])}  # fmt: skip
        for item in self.company.rows("items"):
            if item["number"] in shipped:
                self.changed("items", item, "updated")  # inventory went down

    async def handshake(self, url: str, token: str) -> bool:
        """POST ``url?validationToken=token``; True when answered 200 with the token as the body."""
        target = f"{url}{'&' if '?' in url else '?'}{urlencode({'validationToken': token})}"
        owned = self.http is None
        client = self.http or httpx.AsyncClient(timeout=10.0, transport=self.webhook_transport)
        try:
            response = await client.post(target, content=b"")
            return response.status_code == 200 and response.text.strip() == token
        except httpx.HTTPError:
            return False
        finally:
            if owned:
                await client.aclose()


def create_sandbox(
    *,
    tenant_id: str = "sandbox-tenant",
    environment: str = "production",
    company_id: str = "824820a2-508c-ed11-aada-000d3a298ab3",
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",  # noqa: S107 - the fake accepts what it is given
    knobs: FaultKnobs | None = None,
    seed: int | None = None,
    items: Iterable[tuple[str, str, Decimal | float | str]] | None = None,
    tax_rate: Decimal | str = "0",
    concurrency_limit: int = 5,
    queue_size: int = 95,
    rate_limit_requests: int = 6000,
    rate_limit_window_seconds: float = 300.0,
    token_lifetime_seconds: float = 3599.0,
    entity_changed_status: int = 409,
    garbage_rate: float = 0.0,
    timeout_applied_fraction: float = 0.5,
    subscription_lifetime_seconds: float = 3 * 24 * 3600.0,
    debounce_seconds: float = 30.0,
    collection_threshold: int = 1000,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """Build the sandbox for one tenant, environment and company; state at ``app.state.businesscentral``.

    Args:
        tenant_id, environment, company_id: where the API lives.
        client_id, client_secret: the Entra ID app credentials the token endpoint accepts.
        knobs: fault knobs; ``seed`` seeds their dice when ``knobs.seed`` is unset.
        items: ``(sku, title, price)`` to seed (None: a small catalogue).
        tax_rate: sales tax share applied to every line (e.g. ``"0.06"``).
        concurrency_limit, queue_size: requests served at once and queued before 429.
        rate_limit_requests, rate_limit_window_seconds: sliding-window limit per user.
        token_lifetime_seconds: ``expires_in`` of issued tokens.
        entity_changed_status: status of ``Request_EntityChanged`` ([unverified] 409 or 412).
        garbage_rate: share of answers replaced by an HTML page or truncated JSON (200).
        timeout_applied_fraction: share of simulated timeouts that apply the write first.
        subscription_lifetime_seconds, debounce_seconds, collection_threshold: webhook behaviour.
        webhook_transport: transport for handshakes and notifications (tests: the receiver in-process).
    """
    state = BusinessCentralSandbox(
        tenant_id=tenant_id, environment=environment, company_id=company_id, client_id=client_id,
        client_secret=client_secret, knobs=knobs or FaultKnobs(), seed=seed,
        items=DEFAULT_ITEMS if items is None else items, tax_rate=Decimal(str(tax_rate)),
        concurrency_limit=concurrency_limit, queue_size=queue_size, rate_limit_requests=rate_limit_requests,
        rate_limit_window_seconds=rate_limit_window_seconds, token_lifetime_seconds=token_lifetime_seconds,
        entity_changed_status=entity_changed_status, garbage_rate=garbage_rate,
        timeout_applied_fraction=timeout_applied_fraction, subscription_lifetime_seconds=subscription_lifetime_seconds,
        debounce_seconds=debounce_seconds, collection_threshold=collection_threshold,
    )  # fmt: skip
    state.webhook_transport = webhook_transport
    slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
    api_prefix = f"/v2.0/{tenant_id}/{environment}/api/v2.0"

    async def token(request: Request) -> Response:
        if request.path_params["tenant"] != tenant_id:
            return JSONResponse(
                {
                    "error": "invalid_tenant",
                    "error_description": f"AADSTS90002: Tenant '{request.path_params['tenant']}' not found.",
                },
                status_code=400,
            )
        form = dict(parse_qsl((await request.body()).decode("latin-1"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "AADSTS70003: unsupported grant type."},
                status_code=400,
            )
        issued = state.issue_token(str(form.get("client_id", "")), str(form.get("client_secret", "")))
        if issued is None:
            state.count("auth_failures")
            return JSONResponse(
                {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."},
                status_code=401,
            )
        if form.get("scope") != "https://api.businesscentral.dynamics.com/.default":
            return JSONResponse(
                {"error": "invalid_scope", "error_description": "AADSTS70011: The provided scope is not valid."},
                status_code=400,
            )
        return JSONResponse({"token_type": "Bearer", "expires_in": int(state.token_lifetime_seconds),
                             "ext_expires_in": int(state.token_lifetime_seconds), "access_token": issued})  # fmt: skip

    async def api(request: Request) -> Response:
        state.count("requests")
        if request.path_params["tenant"] != tenant_id or request.path_params["environment"] != environment:
            return error(404, "BadRequest_NotFound", "The environment was not found.")
        if not state.token_valid(request.headers.get("authorization")):
            state.count("auth_failures")
            return error(401, "Authentication_InvalidCredentials", "The server has rejected the client credentials.",
                         **{"WWW-Authenticate": 'Bearer realm="businesscentral"'})  # fmt: skip
        knobs, dice = state.knobs, state.dice
        over = knobs.rate_limit_after is not None and dice.served >= knobs.rate_limit_after
        if over or dice.roll(knobs.rate_limit_rate):
            state.count("throttled")
            return error(429, "Application_TooManyRequests", "The request limit has been exceeded. (sandbox fault)",
                         **{"Retry-After": f"{knobs.retry_after_seconds:g}"})  # fmt: skip
        if dice.roll(knobs.fail_rate):
            state.count("faults")
            return error(
                503 if dice.roll(0.5) else 500, "Internal_ServerError", "An unexpected error occurred. (sandbox fault)"
            )
        if not state.admit():
            state.count("window_rejections")
            state.count("throttled")
            return error(429, "Application_TooManyRequests",
                         f"The request limit of {state.rate_limit_requests} per {state.rate_limit_window_seconds:g} s was exceeded.")  # fmt: skip
        if state.running >= state.concurrency_limit and state.queued >= state.queue_size:
            state.count("concurrency_rejections")
            state.count("throttled")
            return error(429, "Application_TooManyRequests", "Too many requests are queued. Try again later.")
        slot = slots.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(state.concurrency_limit))
        state.queued += 1
        state.stats["max_queued"] = max(state.stats["max_queued"], state.queued)
        waiting = True
        try:
            async with slot:
                state.queued -= 1
                waiting = False
                state.running += 1
                state.stats["max_running"] = max(state.stats["max_running"], state.running)
                try:
                    return await _served(request, knobs, dice)
                finally:
                    state.running -= 1
        finally:
            if waiting:  # the caller gave up while queued
                state.queued -= 1

    async def _served(request: Request, knobs: FaultKnobs, dice: FaultDice) -> Response:
        await dice.delay()  # latency is time spent holding one of the user's concurrent slots
        if dice.roll(knobs.timeout_rate):
            state.count("timeouts")
            if dice.roll(state.timeout_applied_fraction):
                state.count("timeouts_applied")
                await _handle(request)
            await asyncio.sleep(knobs.timeout_seconds)
            return error(504, "GatewayTimeout", "The request timed out. (sandbox fault)")
        dice.served += 1
        state.count("served")
        response = await _handle(request)
        if state.garbage_rate and dice.roll(state.garbage_rate):
            state.count("garbage")
            if dice.roll(0.5):
                return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", 200, media_type="text/html")
            return Response(bytes(response.body)[: max(len(response.body) // 2, 1)], 200, media_type="application/json")
        return response

    async def _handle(request: Request) -> Response:
        rest = request.path_params["rest"]
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            return error(400, "BadRequest", "Invalid JSON in the request body.")
        query = dict(request.query_params)
        headers = {k.lower(): v for k, v in request.headers.items()}
        root = f"{request.url.scheme}://{request.headers.get('host', '')}{api_prefix}"
        handler = Api(state, root)
        try:
            if rest == "$batch" and request.method == "POST":
                return JSONResponse(await _batch(handler, body, headers))
            status, payload = await handler(request.method, rest, query, headers, body)
        except SandboxError as exc:
            state.count("errors")
            return error(exc.status, exc.code, exc.message)
        if payload is None:
            return Response(status_code=status)
        return JSONResponse(payload, status_code=status)

    async def _batch(handler: Api, body: Any, headers: dict[str, str]) -> dict[str, Any]:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not 1 <= len(requests) <= 100:
            raise SandboxError(400, "BadRequest", "A $batch carries 1 to 100 requests.")
        atomic = headers.get("isolation", "").lower() == "snapshot"
        snapshot = state.company.snapshot() if atomic else None
        responses = []
        for op in requests:
            op_id = str(op.get("id", ""))
            url = str(op.get("url", "")).lstrip("/")
            path, _, qs = url.partition("?")
            query = dict(pair.split("=", 1) for pair in qs.split("&") if "=" in pair)
            op_headers = {k.lower(): str(v) for k, v in (op.get("headers") or {}).items()}
            try:
                status, payload = await handler(
                    str(op.get("method", "GET")).upper(), path, query, op_headers, op.get("body")
                )
            except SandboxError as exc:
                status, payload = exc.status, {"error": {"code": exc.code, "message": exc.message}}
            responses.append(
                {"id": op_id, "status": status, "headers": {"content-type": "application/json"}, "body": payload}
            )
            if status >= 400 and snapshot is not None:
                state.company.restore(snapshot)
                # An atomic batch fails as a whole: the other operations are reported as not applied.
                responses = [r if r["status"] >= 400 else {**r, "status": 424, "body": None} for r in responses]
                for rest_op in requests[len(responses) :]:
                    responses.append({"id": str(rest_op.get("id", "")), "status": 424, "headers": {}, "body": None})
                break
        return {"responses": responses}

    # --- admin (no auth, no faults) ---

    async def admin_stats(request: Request) -> Response:
        return JSONResponse({**state.snapshot_stats(), "running": state.running, "knobs": state.knobs.model_dump()})

    async def admin_items(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"items": state.item_ids()})
        try:
            body = json.loads(await request.body() or b"{}")
            rows = [(str(i["sku"]), str(i.get("title", i["sku"])), str(i.get("price", "0"))) for i in body["items"]]
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f'expected {{"items": [{{sku, title, price}}]}}: {exc}'}, status_code=400)
        return JSONResponse({"items": state.seed_items(rows)})

    async def admin_adjust(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            item = state.adjust_inventory(
                str(request.path_params["number"]), delta=body.get("delta"), count=body.get("count")
            )
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": f'expected {{"delta"}} or {{"count"}}: {exc}'}, status_code=400)
        except SandboxError as exc:
            return error(exc.status, exc.code, exc.message)
        return JSONResponse(item)

    async def admin_sales_orders(request: Request) -> Response:
        edn = request.query_params.get("externalDocumentNumber")
        rows = state.sales_order(edn) if edn else state.sales_orders()
        return JSONResponse({"items": [row.to_json() for row in rows], "duplicates": state.duplicates()})

    async def admin_ship(request: Request) -> Response:
        try:
            shipment, invoice = state.ship_and_invoice(request.path_params["order_id"])
        except SandboxError as exc:
            return error(exc.status, exc.code, exc.message)
        return JSONResponse({"shipmentId": shipment, "invoiceId": invoice})

    async def admin_flush(request: Request) -> Response:
        return JSONResponse({"deliveries": state.flush_notifications()})

    async def admin_deliveries(request: Request) -> Response:
        return JSONResponse({"items": state.delivery_log()})

    async def admin_knobs(request: Request) -> Response:
        try:
            changes = json.loads(await request.body() or b"{}")
            state.set_knobs(FaultKnobs.model_validate({**state.knobs.model_dump(), **changes}))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(state.knobs.model_dump())

    async def admin_reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=10.0, transport=webhook_transport) as client:
            state.http = client
            await state.sender.start(client)
            flusher = asyncio.create_task(_flush_loop())
            try:
                yield
            finally:
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
                await state.sender.stop()
                state.http = None

    async def _flush_loop() -> None:
        while True:
            await asyncio.sleep(min(max(debounce_seconds / 4, 0.05), 1.0))
            state.subs.flush()

    methods = ["GET", "POST", "PATCH", "DELETE"]
    routes = [
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/v2.0/{tenant}/{environment}/api/v2.0/{rest:path}", api, methods=methods),
        Route("/_sandbox/stats", admin_stats, methods=["GET"]),
        Route("/_sandbox/items", admin_items, methods=["GET", "POST"]),
        Route("/_sandbox/items/{number}/adjust", admin_adjust, methods=["POST"]),
        Route("/_sandbox/sales-orders", admin_sales_orders, methods=["GET"]),
        Route("/_sandbox/sales-orders/{order_id}/ship", admin_ship, methods=["POST"]),
        Route("/_sandbox/notifications/flush", admin_flush, methods=["POST"]),
        Route("/_sandbox/deliveries", admin_deliveries, methods=["GET"]),
        Route("/_sandbox/knobs", admin_knobs, methods=["POST"]),
        Route("/_sandbox/reset", admin_reset, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.businesscentral = state
    return app
