"""A stateful, fault-injectable fake of NetSuite's REST web services (record v1 + SuiteQL).

Every request must carry a valid TBA signature (HMAC-SHA256, fresh timestamp, unused nonce).
The account allows ``concurrency_limit`` requests in flight; more are answered 429, as NetSuite
limits concurrency rather than rate. Records live in :mod:`sandbox_store`; SuiteQL runs as real
SQL (:mod:`sandbox_suiteql`). Admin endpoints under ``/_sandbox/`` need no auth.

The state is ``app.state.netsuite`` (a :class:`NetSuiteSandbox`) with a plain-Python API for
in-process tests and the demo: ``sales_orders()``, ``duplicates()``, ``created_at(eid)``, …
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.oauth1 import OAuth1Rejected, OAuth1Verifier
from tradewire.connectors.base.sandbox import FaultDice, FaultKnobs
from tradewire.connectors.netsuite.sandbox_fulfilment import TRANSACTION_TYPES, FulfilmentBook
from tradewire.connectors.netsuite.sandbox_returns import ReturnsBook, returns_routes
from tradewire.connectors.netsuite.sandbox_store import SalesOrderRow, SandboxError, SandboxStore
from tradewire.connectors.netsuite.sandbox_suiteql import SuiteQLError

RECORD_ROOT = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
DEFAULT_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("TSHIRT-BLK-M", "T-shirt black M", "25.00"),
    ("TSHIRT-WHT-L", "T-shirt white L", "25.00"),
    ("HOODIE-GRY-M", "Hoodie grey M", "59.00"),
    ("CAP-NAVY", "Cap navy", "19.50"),
    ("SOCKS-3PK", "Socks, 3 pack", "12.00"),
)
_TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout"}  # fmt: skip
_TYPE = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10."
_TYPE_SUFFIX = {400: "4.1", 401: "4.2", 404: "4.5", 429: "4.30", 500: "5.1", 503: "5.4", 504: "5.5"}
INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > "
    "User Management > View Login Audit Trail."
)
Handler = Callable[[Request], Awaitable[Response]]


def error_response(status: int, code: str, detail: str, path: str | None = None, **headers: str) -> JSONResponse:
    """A NetSuite-shaped error: ``{"type","title","status","o:errorDetails":[{detail, o:errorCode, o:errorPath}]}``."""
    item: dict[str, str] = {"detail": detail, "o:errorCode": code}
    if path:
        item["o:errorPath"] = path
    body = {
        "type": _TYPE + _TYPE_SUFFIX.get(status, "4.1"),
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [item],
    }
    return JSONResponse(body, status_code=status, headers=headers or None)


class NetSuiteSandbox:
    """The sandbox's state and its Python API (``app.state.netsuite``).

    Attributes:
        account_id: the account this sandbox pretends to be.
        store: the records.
        knobs: the fault knobs in force.
        concurrency_limit: requests allowed in flight; more are answered 429.
        timeout_applied_fraction: share of simulated timeouts whose write was applied before hanging.
    """

    def __init__(
        self,
        *,
        account_id: str,
        verifier: OAuth1Verifier,
        knobs: FaultKnobs,
        concurrency_limit: int,
        items: Iterable[tuple[str, str, Decimal | float | str]],
        seed: int | None,
        timeout_applied_fraction: float,
    ) -> None:
        self.account_id = account_id
        self.verifier = verifier
        self.store = SandboxStore()
        self.fulfilments = FulfilmentBook(self.store)
        self.concurrency_limit = concurrency_limit
        self.timeout_applied_fraction = timeout_applied_fraction
        self._seed = seed
        self._items = list(items)
        self._lock = threading.Lock()
        self.in_flight = 0
        self.stats: dict[str, int] = {}
        self.set_knobs(knobs)
        self.reset()

    # --- Python API ----------------------------------------------------------------------------

    def set_knobs(self, knobs: FaultKnobs) -> None:
        """Replace the fault knobs (the ``rate_limit_after`` count starts again)."""
        if self._seed is not None and knobs.seed is None:
            knobs = knobs.model_copy(update={"seed": self._seed})
        self.knobs = knobs
        self.dice = FaultDice(knobs)

    def reset(self) -> None:
        """Forget every record, nonce and counter; re-seed the items given at creation."""
        with self._lock:
            self.store.reset()
            self.fulfilments.reset()
            self.verifier.nonces.clear()
            self.stats = dict.fromkeys(
                ("requests", "served", "throttled", "concurrency_rejections", "faults", "timeouts",
                 "timeouts_applied", "auth_failures", "errors", "max_in_flight"), 0
            )  # fmt: skip
        self.store.seed_items(self._items, now=time.time())

    def seed_items(self, items: Iterable[tuple[str, str, Decimal | float | str]]) -> dict[str, str]:
        """Add inventory items ``(sku, title, price)``; return SKU → internal id."""
        return self.store.seed_items(items, now=time.time())

    def item_ids(self) -> dict[str, str]:
        """SKU → internal id of every item."""
        rows = self.store.suiteql("SELECT id, itemid FROM item ORDER BY id")
        return {row["itemid"]: row["id"] for row in rows}

    def adjust_inventory(
        self, sku: str, *, location: str | int | None = None, delta: float | None = None, on_hand: float | None = None
    ) -> dict[str, Any]:
        """Move (``delta``) or count (``on_hand``) stock of ``sku`` at a location, as a warehouse would.

        Raises:
            KeyError: unknown SKU or location.
            ValueError: neither or both of ``delta`` / ``on_hand``.
        """
        item_id = self.item_ids().get(sku)
        if item_id is None:
            raise KeyError(f"item {sku!r}")
        return self.store.inventory.adjust(int(item_id), location=location, delta=delta, on_hand=on_hand)

    def ship(self, sales_order: str, packages: list[dict[str, Any]]) -> list[str]:
        """Ship a sales order (id or ``eid:…``): one item fulfilment per package; see ``FulfilmentBook.ship``."""
        return self.fulfilments.ship(sales_order, packages, now=time.time())

    def sales_orders(self) -> list[SalesOrderRow]:
        """Every sales order with its creation time and otherRefNum, oldest first."""
        return self.store.sales_orders()

    def duplicates(self) -> dict[str, int]:
        """otherRefNum → count, for numbers carried by more than one sales order (should stay empty)."""
        return self.store.duplicates()

    def created_at(self, external_id: str, record_type: str = "salesOrder") -> float | None:
        """``time.time()`` when the record with ``external_id`` was first created, or None."""
        return self.store.created_at(record_type, external_id)

    def record(self, record_type: str, ref: str) -> dict[str, Any] | None:
        """The stored record (by internal id or ``eid:…``), or None."""
        try:
            return self.store.get(record_type, ref)
        except SandboxError:
            return None

    def snapshot_stats(self) -> dict[str, int]:
        """A copy of the counters."""
        with self._lock:
            return dict(self.stats)

    def count(self, name: str, by: int = 1) -> None:
        """Add to a counter."""
        with self._lock:
            self.stats[name] = self.stats.get(name, 0) + by


# --- request plumbing ----------------------------------------------------------------------------


def _full_url(request: Request) -> str:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    host = request.headers.get("host", "")
    url = f"{request.url.scheme}://{host}{raw_path.decode('latin-1')}"
    return f"{url}?{query.decode('latin-1')}" if query else url


def _replace(request: Request) -> set[str]:
    return {name.strip() for name in request.query_params.get("replace", "").split(",") if name.strip()}


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise SandboxError(
            400, "INVALID_CONTENT", "The request could not be understood by the server due to malformed syntax."
        ) from None
    if not isinstance(body, dict):
        raise SandboxError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
    return body


def _link(request: Request, path: str, **params: Any) -> str:
    base = f"{request.url.scheme}://{request.headers.get('host', '')}{path}"
    return f"{base}?{urlencode(params)}" if params else base


def _page_params(request: Request) -> tuple[int, int]:
    try:
        limit = int(request.query_params.get("limit", "1000"))
        offset = int(request.query_params.get("offset", "0"))
    except ValueError:
        raise SandboxError(400, "INVALID_PARAMETER", "limit and offset must be integers.") from None
    if not 1 <= limit <= 1000 or offset < 0:
        raise SandboxError(400, "INVALID_PARAMETER", "limit must be 1-1000 and offset >= 0.")
    return limit, offset


def _envelope(
    request: Request, path: str, items: list[dict[str, Any]], limit: int, offset: int, extra: dict[str, str]
) -> dict[str, Any]:
    page = items[offset : offset + limit]
    has_more = offset + len(page) < len(items)
    links = [{"rel": "self", "href": _link(request, path, **extra, limit=limit, offset=offset)}]
    if offset > 0:
        links.append({"rel": "prev", "href": _link(request, path, **extra, limit=limit, offset=max(offset - limit, 0))})
    if has_more:
        links.append({"rel": "next", "href": _link(request, path, **extra, limit=limit, offset=offset + limit)})
    links.append({"rel": "first", "href": _link(request, path, **extra, limit=limit, offset=0)})
    last = max(len(items) - 1, 0) // limit * limit
    links.append({"rel": "last", "href": _link(request, path, **extra, limit=limit, offset=last)})
    return {"links": links, "count": len(page), "hasMore": has_more, "items": page, "offset": offset,
            "totalResults": len(items)}  # fmt: skip


def _present(request: Request, record_type: str, record: dict[str, Any], expand: bool) -> dict[str, Any]:
    self_href = _link(request, f"{RECORD_ROOT}/{record_type}/{record['id']}")
    shown: dict[str, Any] = {"links": [{"rel": "self", "href": self_href}]}
    for key, value in record.items():
        if isinstance(value, dict) and "items" in value:
            sub: dict[str, Any] = {"links": [{"rel": "self", "href": f"{self_href}/{key}"}]}
            if expand:
                lines = value["items"]
                sub.update(items=lines, count=len(lines), hasMore=False, offset=0, totalResults=len(lines))
            shown[key] = sub
        elif isinstance(value, dict) and key.endswith("Address") and not expand:
            shown[key] = {"links": [{"rel": "self", "href": f"{self_href}/{key}"}]}
        else:
            shown[key] = value
    return shown


def _created(request: Request, record_type: str, internal_id: str) -> Response:
    return Response(status_code=204, headers={"Location": _link(request, f"{RECORD_ROOT}/{record_type}/{internal_id}")})


# --- the app ---------------------------------------------------------------------------------------


def create_sandbox(
    *,
    account_id: str,
    consumer_key: str,
    consumer_secret: str,
    token_id: str,
    token_secret: str,
    knobs: FaultKnobs | None = None,
    concurrency_limit: int = 5,
    items: Iterable[tuple[str, str, Decimal | float | str]] | None = None,
    seed: int | None = None,
    timeout_applied_fraction: float = 0.5,
    signature_window_seconds: float = 300.0,
) -> Starlette:
    """Build the sandbox ASGI app for one account; its state is ``app.state.netsuite``.

    Args:
        account_id: e.g. ``1234567_SB1``; the realm every request must carry is its upper-case form.
        consumer_key: integration record key the sandbox accepts.
        consumer_secret: its secret.
        token_id: access token id the sandbox accepts.
        token_secret: its secret.
        knobs: fault knobs (none by default).
        concurrency_limit: requests in flight before 429.
        items: inventory items ``(sku, title, price)`` to seed; None seeds a small default catalogue.
        seed: seed for the fault dice when ``knobs.seed`` is not set.
        timeout_applied_fraction: share of simulated timeouts that apply the write before hanging.
        signature_window_seconds: how far an OAuth timestamp may be from the sandbox's clock.
    """
    realm = account_id.upper().replace("-", "_")

    def lookup(key: str, token: str) -> tuple[str, str] | None:
        return (consumer_secret, token_secret) if (key, token) == (consumer_key, token_id) else None

    state = NetSuiteSandbox(
        account_id=account_id,
        verifier=OAuth1Verifier(lookup, realm=realm, window_seconds=signature_window_seconds),
        knobs=knobs or FaultKnobs(),
        concurrency_limit=concurrency_limit,
        items=DEFAULT_ITEMS if items is None else items,
        seed=seed,
        timeout_applied_fraction=timeout_applied_fraction,
    )

    def guarded(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            state.count("requests")
            state.in_flight += 1
            try:
                state.stats["max_in_flight"] = max(state.stats["max_in_flight"], state.in_flight)
                return await _serve(request, handler)
            finally:
                state.in_flight -= 1

        return endpoint

    async def _serve(request: Request, handler: Handler) -> Response:
        knobs, dice = state.knobs, state.dice
        try:
            state.verifier.verify(request.method, _full_url(request), request.headers.get("authorization"))
        except OAuth1Rejected:
            state.count("auth_failures")
            return error_response(401, "INVALID_LOGIN", INVALID_LOGIN)
        retry_after = f"{knobs.retry_after_seconds:g}"
        if state.in_flight > state.concurrency_limit:
            state.count("concurrency_rejections")
            state.count("throttled")
            return error_response(
                429, "CONCURRENCY_LIMIT_EXCEEDED",
                f"Request blocked by the request controller: the account allows {state.concurrency_limit} "
                "concurrent requests.", **{"Retry-After": retry_after},
            )  # fmt: skip
        await dice.delay()
        over_quota = knobs.rate_limit_after is not None and dice.served >= knobs.rate_limit_after
        if over_quota or dice.roll(knobs.rate_limit_rate):
            state.count("throttled")
            return error_response(
                429, "REQUEST_LIMIT_EXCEEDED", "Too many requests; try again later.", **{"Retry-After": retry_after}
            )
        if dice.roll(knobs.fail_rate):
            state.count("faults")
            status = 503 if dice.roll(0.5) else 500
            code = "SERVICE_UNAVAILABLE" if status == 503 else "UNEXPECTED_ERROR"
            return error_response(status, code, "An unexpected error occurred. (sandbox fault)")
        if dice.roll(knobs.timeout_rate):
            state.count("timeouts")
            # A real timed-out write may still have been applied: only an idempotent retry is safe.
            if dice.roll(state.timeout_applied_fraction):
                state.count("timeouts_applied")
                await _handle(request, handler)
            await asyncio.sleep(knobs.timeout_seconds)
            return error_response(504, "GATEWAY_TIMEOUT", "The request timed out. (sandbox fault)")
        dice.served += 1
        state.count("served")
        return await _handle(request, handler)

    async def _handle(request: Request, handler: Handler) -> Response:
        try:
            return await handler(request)
        except SandboxError as exc:
            state.count("errors")
            return error_response(exc.status, exc.code, exc.detail, exc.path)
        except SuiteQLError as exc:
            state.count("errors")
            return error_response(
                400, "INVALID_PARAMETER",
                f"Invalid search query. Detailed unprocessed description follows. Search error occurred: {exc.detail}",
            )  # fmt: skip

    # --- vendor endpoints ---

    async def collection(request: Request) -> Response:
        record_type = request.path_params["record_type"]
        if request.method == "POST":
            internal_id = state.store.create(record_type, await _json_body(request), now=time.time())
            return _created(request, record_type, internal_id)
        limit, offset = _page_params(request)
        q = request.query_params.get("q")
        ids = state.store.list_ids(record_type, q)
        path = f"{RECORD_ROOT}/{record_type}"
        items = [{"links": [{"rel": "self", "href": _link(request, f"{path}/{i}")}], "id": i} for i in ids]
        return JSONResponse(_envelope(request, path, items, limit, offset, {"q": q} if q else {}))

    async def instance(request: Request) -> Response:
        record_type, ref = request.path_params["record_type"], request.path_params["ref"]
        now = time.time()
        if request.method == "GET":
            expand = request.query_params.get("expandSubResources", "").lower() == "true"
            return JSONResponse(_present(request, record_type, state.store.get(record_type, ref), expand))
        if request.method == "PUT":
            if not ref.startswith("eid:"):
                raise SandboxError(400, "INVALID_REQUEST", "PUT is only supported with an external ID (eid:).")
            body = await _json_body(request)
            internal_id, _ = state.store.upsert(record_type, ref[4:], body, replace=_replace(request), now=now)
            return _created(request, record_type, internal_id)
        if request.method == "PATCH":
            body = await _json_body(request)
            state.store.patch(record_type, ref, body, replace=_replace(request), now=now)
            return Response(status_code=204)
        raise SandboxError(405, "INVALID_REQUEST", f"{request.method} is not supported here.")

    async def transform(request: Request) -> Response:
        target = request.path_params["target"]
        body = await _json_body(request) if await request.body() else {}
        internal_id = state.fulfilments.transform(request.path_params["ref"], target, body, now=time.time())
        return _created(request, target, internal_id)

    async def transaction(request: Request) -> Response:
        record_type = request.url.path.removeprefix(RECORD_ROOT + "/").split("/", 1)[0]
        expand = request.query_params.get("expandSubResources", "").lower() == "true"
        record = state.fulfilments.get(record_type, request.path_params["ref"])
        return JSONResponse(_present(request, record_type, record, expand))

    async def suiteql(request: Request) -> Response:
        body = await _json_body(request)
        query = body.get("q")
        if not isinstance(query, str) or not query.strip():
            raise SandboxError(400, "INVALID_CONTENT", 'The request body must carry the query as {"q": "…"}.')
        limit, offset = _page_params(request)
        rows = [{"links": [], **row} for row in state.store.suiteql(query)]
        return JSONResponse(_envelope(request, SUITEQL_PATH, rows, limit, offset, {}))

    # --- admin endpoints (no auth, no faults) ---

    async def admin_stats(request: Request) -> Response:
        return JSONResponse({**state.snapshot_stats(), "in_flight": state.in_flight, "knobs": state.knobs.model_dump()})

    async def admin_items(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"items": state.item_ids()})
        try:
            body = await _json_body(request)
            rows = [(str(i["sku"]), str(i.get("title", i["sku"])), str(i.get("price", "0"))) for i in body["items"]]
        except (SandboxError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f'expected {{"items": [{{sku, title, price}}]}}: {exc}'}, status_code=400)
        return JSONResponse({"items": state.seed_items(rows)})

    async def admin_inventory(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"items": state.store.inventory.rows()})
        try:
            body = await _json_body(request)
            row = state.adjust_inventory(
                str(body["sku"]), location=body.get("location"), delta=body.get("delta"), on_hand=body.get("on_hand")
            )
        except KeyError as exc:
            return JSONResponse({"error": f"not found: {exc}"}, status_code=404)
        except (SandboxError, ValueError, TypeError) as exc:
            return JSONResponse(
                {"error": f'expected {{"sku", "location"?, "delta" | "on_hand"}}: {exc}'}, status_code=400
            )
        return JSONResponse(row)

    async def admin_sales_orders(request: Request) -> Response:
        return JSONResponse({"items": [row.to_json() for row in state.sales_orders()]})

    async def admin_duplicates(request: Request) -> Response:
        dupes = state.duplicates()
        return JSONResponse({"items": [{"otherRefNum": k, "count": v} for k, v in dupes.items()], "count": len(dupes)})

    async def admin_knobs(request: Request) -> Response:
        try:
            changes = json.loads(await request.body() or b"{}")
            state.set_knobs(FaultKnobs.model_validate({**state.knobs.model_dump(), **changes}))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(state.knobs.model_dump())

    async def admin_ship(request: Request) -> Response:
        try:
            body = await _json_body(request)
            ids = state.ship(str(body["sales_order"]), list(body["packages"]))
        except (KeyError, TypeError) as exc:
            return JSONResponse({"error": f'expected {{"sales_order", "packages": [{{tracking_number, lines}}]}}: {exc}'},
                                status_code=400)  # fmt: skip
        except SandboxError as exc:
            return JSONResponse({"error": exc.detail}, status_code=exc.status)
        return JSONResponse({"item_fulfillments": ids})

    async def admin_reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    returns_book = ReturnsBook(state.store)
    routes = [
        *returns_routes(returns_book, guarded),
        Route(SUITEQL_PATH, guarded(suiteql), methods=["POST"]),
        Route(RECORD_ROOT + "/salesOrder/{ref}/!transform/{target}", guarded(transform), methods=["POST"]),
        *[Route(f"{RECORD_ROOT}/{t}/{{ref}}", guarded(transaction), methods=["GET"]) for t in TRANSACTION_TYPES],
        Route(RECORD_ROOT + "/{record_type}", guarded(collection), methods=["GET", "POST"]),
        Route(RECORD_ROOT + "/{record_type}/{ref}", guarded(instance), methods=methods),
        Route("/_sandbox/stats", admin_stats, methods=["GET"]),
        Route("/_sandbox/items", admin_items, methods=["GET", "POST"]),
        Route("/_sandbox/sales-orders", admin_sales_orders, methods=["GET"]),
        Route("/_sandbox/inventory", admin_inventory, methods=["GET", "POST"]),
        Route("/_sandbox/duplicates", admin_duplicates, methods=["GET"]),
        Route("/_sandbox/knobs", admin_knobs, methods=["POST"]),
        Route("/_sandbox/reset", admin_reset, methods=["POST"]),
        Route("/_sandbox/ship", admin_ship, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.netsuite = state
    app.state.netsuite_returns = returns_book
    return app
