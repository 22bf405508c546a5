"""The Loop sandbox: a stateful, fault-injectable ASGI fake of one merchant's Loop account.

``create_sandbox(...)`` returns a Starlette app with its state on ``app.state.loop`` (a
:class:`SandboxLoop`). It serves, under ``/api/v1`` (point ``base_url`` at ``<server>/api/v1``):

* ``GET /warehouse/return/list`` — the Detailed Returns List: ``from``/``to`` (``YYYY-MM-DD
  HH:MM:SS`` or ISO, UTC; default the last 24 h; at most 120 days apart, else 422), ``filter``
  (``created_at``|``updated_at``), ``state`` (comma-separated or repeated; default open, closed,
  expired), ``paginate=true`` + ``pageSize`` → ``{"returns", "nextPageUrl", "previousPageUrl"}``
  with an opaque ``cursor``; without ``paginate`` a bare array.
* ``GET /warehouse/return/details?return_id=`` — one return (404 when unknown).
* ``POST /warehouse/return/{id}/process`` (optional JSON body), ``…/close``, ``…/cancel``,
  ``…/flag``, ``…/remove?line_item_id=`` — actions; refusals answer
  ``{"errors": {"message", "code"}}`` (422 ``UNPROCESSABLE_FLAGGED_RETURN`` for a flagged return).

Every API call checks ``X-Authorization`` (unknown key, or a key without the ``Returns`` scope →
401), then the per-key token bucket (429 with ``Retry-After``), and honours the fault knobs:
``latency_ms``, ``timeout_rate`` (hang, then 504), ``fail_rate`` (500/503), ``rate_limit_after`` /
``rate_limit_rate`` (429 with ``Retry-After: retry_after_seconds``), the webhook knobs, and the
sandbox option ``garbage_rate`` (200 with an HTML page or a truncated body).

Admin endpoints (JSON, no auth) under ``/_sandbox``: ``POST /returns`` ``{"count", "orders"?}``;
``GET /returns[/{id}]``; ``POST /returns/{id}/{label|label_status|restock|expire|fail_processing}``;
``GET|POST /webhooks`` ``{"topic", "address", "triggers"?}``; ``GET|POST /knobs``;
``GET /deliveries[?return_id=]``.

Webhooks go out from a sender task started by the app's lifespan. In-process tests without a
server enter the lifespan themselves: ``async with app.router.lifespan_context(app): ...``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.loop.sandbox_options import RETURNS_SCOPE, SandboxActionError, SandboxOptions
from tradewire.connectors.loop.sandbox_store import SandboxLoop
from tradewire.connectors.loop.schemas import parse_loop_time

Handler = Callable[[Request], Awaitable[Response]]
DEFAULT_STATES = ("open", "closed", "expired")
KNOWN_STATES = ("open", "closed", "cancelled", "expired", "review")


def _loop(request: Request) -> SandboxLoop:
    loop = request.app.state.loop
    assert isinstance(loop, SandboxLoop)
    return loop


def _invalid(field: str, message: str) -> JSONResponse:
    return JSONResponse({"message": "The given data was invalid.", "errors": {field: [message]}}, status_code=422)


def _api(handler: Callable[[Request, SandboxLoop], Awaitable[Response]]) -> Handler:
    """Wrap an API handler: faults, auth, limits, in the order Loop's edge applies them."""

    async def endpoint(request: Request) -> Response:
        loop = _loop(request)
        knobs, dice = loop.knobs, loop.dice
        await dice.delay()
        if dice.roll(knobs.timeout_rate):
            await asyncio.sleep(knobs.timeout_seconds)
            return Response("<html><body><h1>504 Gateway Time-out</h1></body></html>", 504, media_type="text/html")
        if dice.roll(knobs.fail_rate):
            if dice.roll(0.5):
                return JSONResponse({"message": "Server Error"}, status_code=500)
            return Response("<html><body><h1>503 Service Unavailable</h1></body></html>", 503, media_type="text/html")
        key = request.headers.get("x-authorization", "")
        scopes = loop.keys.get(key)
        if scopes is None:
            return JSONResponse({"message": "Unauthenticated."}, status_code=401)
        if RETURNS_SCOPE not in scopes:
            return JSONResponse({"message": "This API key does not have the Returns scope."}, status_code=401)
        bucket = loop.bucket(key)
        limited = knobs.rate_limit_after is not None and loop.served >= knobs.rate_limit_after
        headers: dict[str, str] = {}
        if limited or dice.roll(knobs.rate_limit_rate):
            if loop.options.send_retry_after:
                headers["Retry-After"] = f"{knobs.retry_after_seconds:g}"
            return JSONResponse({"message": "Too Many Attempts."}, status_code=429, headers=headers)
        taken, left = bucket.take()
        if loop.options.send_rate_headers:
            headers["X-RateLimit-Limit"] = f"{loop.options.rate_burst:g}"
            headers["X-RateLimit-Remaining"] = str(int(left))
        if not taken:
            if loop.options.send_retry_after:
                headers["Retry-After"] = str(max(1, round(bucket.wait_seconds() + 0.5)))
            return JSONResponse({"message": "Too Many Attempts."}, status_code=429, headers=headers)
        loop.served += 1
        if dice.roll(loop.options.garbage_rate):
            if dice.roll(0.5):
                return Response("<!DOCTYPE html><html><body>Bad gateway</body></html>", 200, media_type="text/html")
            return Response(b'{"returns":[{"id":10', 200, media_type="application/json")
        try:
            response = await handler(request, loop)
        except SandboxActionError as exc:
            response = JSONResponse(exc.body(), status_code=exc.status)
        response.headers.update(headers)
        return response

    return endpoint


def _parse_time(text: str) -> datetime | None:
    return parse_loop_time(text) if text else None


def _encode_cursor(position: int) -> str:
    raw = json.dumps({"offset": position, "_pointsToNextItems": True}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position = int(data["offset"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    return position if position >= 0 else None


async def _list(request: Request, loop: SandboxLoop) -> Response:
    query = request.query_params
    now = datetime.now(UTC)
    start_text, end_text = query.get("from", ""), query.get("to", "")
    start = _parse_time(start_text) if start_text else now - timedelta(hours=24)
    end = _parse_time(end_text) if end_text else now
    if start is None:
        return _invalid("from", "The from is not a valid date.")
    if end is None:
        return _invalid("to", "The to is not a valid date.")
    if end < start:
        return _invalid("to", "The to must be a date after or equal to from.")
    if end - start > timedelta(days=loop.options.max_range_days):
        return _invalid("to", f"The range between from and to may not exceed {loop.options.max_range_days} days.")
    filter_on = query.get("filter", "created_at")
    if filter_on not in ("created_at", "updated_at"):
        return _invalid("filter", "The selected filter is invalid.")
    states: list[str] = []
    for value in query.getlist("state"):
        states.extend(s.strip() for s in value.split(",") if s.strip())
    if any(s not in KNOWN_STATES for s in states):
        return _invalid("state", "The selected state is invalid.")
    found = loop.list_returns(start, end, filter_on=filter_on, states=states or DEFAULT_STATES)
    if query.get("paginate", "false").lower() not in ("true", "1"):
        return JSONResponse(found)
    size_text = query.get("pageSize", str(loop.options.default_page_size))
    if not size_text.isdigit() or not 1 <= int(size_text) <= loop.options.max_page_size:
        return _invalid("pageSize", f"The page size must be between 1 and {loop.options.max_page_size}.")
    size = int(size_text)
    position = 0
    if "cursor" in query:
        decoded = _decode_cursor(query["cursor"])
        if decoded is None:
            return _invalid("cursor", "The cursor is invalid.")
        position = decoded
    page = found[position : position + size]
    following = None
    if position + size < len(found):
        following = str(
            request.url.remove_query_params("cursor").include_query_params(cursor=_encode_cursor(position + size))
        )
    previous = None
    if position > 0:
        previous = str(
            request.url.remove_query_params("cursor").include_query_params(
                cursor=_encode_cursor(max(0, position - size))
            )
        )
    return JSONResponse({"returns": page, "nextPageUrl": following, "previousPageUrl": previous})


def _return_id(text: str) -> int:
    if not text.isdigit():
        raise SandboxActionError(404, "Return not found.", "RETURN_NOT_FOUND")
    return int(text)


async def _details(request: Request, loop: SandboxLoop) -> Response:
    text = request.query_params.get("return_id", "").strip()
    if not text:
        return _invalid("return_id", "The return id field is required.")
    record = loop.get_return(_return_id(text))
    if record is None:
        raise SandboxActionError(404, "Return not found.", "RETURN_NOT_FOUND")
    return JSONResponse(record)


def _action(name: str) -> Callable[[Request, SandboxLoop], Awaitable[Response]]:
    async def handler(request: Request, loop: SandboxLoop) -> Response:
        rid = _return_id(str(request.path_params["return_id"]))
        if name == "process":
            raw = await request.body()
            details: Any = None
            if raw.strip():
                try:
                    details = json.loads(raw)
                except ValueError:
                    return JSONResponse({"message": "Malformed JSON body."}, status_code=400)
                if not isinstance(details, dict):
                    return _invalid("body", "The body must be a JSON object.")
            return JSONResponse(loop.process(rid, details), status_code=200)
        if name == "remove":
            item = request.query_params.get("line_item_id", "").strip()
            if not item.isdigit():
                return _invalid("line_item_id", "The line item id field is required.")
            return JSONResponse(loop.remove_line_item(rid, int(item)))
        actions = {"close": loop.close, "cancel": loop.cancel, "flag": loop.flag}
        return JSONResponse(actions[name](rid))

    return handler


# --- admin ------------------------------------------------------------------------------------


def _admin(handler: Callable[[Request, SandboxLoop, dict[str, Any]], Any]) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            raw = await request.body() if request.method == "POST" else b""
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            result = handler(request, _loop(request), body)
        except SandboxActionError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)
        except ValidationError as exc:
            return JSONResponse({"error": exc.errors(include_url=False, include_context=False)}, status_code=400)
        except (ValueError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(result, status_code=201 if request.method == "POST" else 200)

    return endpoint


def _admin_returns(request: Request, loop: SandboxLoop, body: dict[str, Any]) -> Any:
    if request.method == "GET":
        return {"returns": loop.all_returns()}
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000:
        raise ValueError("'count' must be an integer 0..10000")
    orders = body.get("orders")
    if orders is not None and (not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders)):
        raise ValueError("'orders' must be a list of order objects")
    return {"returns": loop.create_returns(count, orders, outcome=body.get("outcome"))}


def _admin_return(request: Request, loop: SandboxLoop, body: dict[str, Any]) -> Any:
    record = loop.get_return(_return_id(str(request.path_params["return_id"])))
    if record is None:
        raise SandboxActionError(404, "Return not found.", "RETURN_NOT_FOUND")
    return {"return": record}


def _admin_return_action(request: Request, loop: SandboxLoop, body: dict[str, Any]) -> Any:
    rid = _return_id(str(request.path_params["return_id"]))
    action = str(request.path_params["action"])
    if action == "label":
        return {"label": loop.create_label(rid, carrier=str(body.get("carrier", "USPS")))}
    if action == "label_status":
        return {"label": loop.update_label(rid, str(body.get("status", "in_transit")))}
    if action == "restock":
        return {"return": loop.request_restock(rid)}
    if action == "expire":
        return loop.expire(rid)
    if action == "fail_processing":
        loop.fail_processing(rid)
        return {"return_id": rid}
    raise ValueError(f"unknown action {action!r}")


def _admin_webhooks(request: Request, loop: SandboxLoop, body: dict[str, Any]) -> Any:
    if request.method == "GET":
        return {"webhooks": list(loop.subscriptions)}
    triggers = body.get("triggers")
    if triggers is not None and (not isinstance(triggers, list) or not all(isinstance(t, str) for t in triggers)):
        raise ValueError("'triggers' must be a list of strings")
    return {"webhook": loop.subscribe(str(body.get("topic", "")), str(body.get("address", "")), triggers)}


def _admin_knobs(request: Request, loop: SandboxLoop, body: dict[str, Any]) -> Any:
    if request.method == "POST":
        loop.set_knobs(**body)
    return {"knobs": loop.knobs.model_dump()}


def _admin_deliveries(request: Request, loop: SandboxLoop, body: dict[str, Any]) -> Any:
    raw = request.query_params.get("return_id")
    return {"deliveries": loop.delivery_log(_return_id(raw) if raw else None)}


def create_sandbox(
    *,
    api_key: str,
    webhook_secret: str,
    knobs: FaultKnobs | None = None,
    catalog: Sequence[tuple[str, str, str | Decimal | float]] | None = None,
    seed: int | None = None,
    options: SandboxOptions | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """A fresh sandbox Loop account as an ASGI app; its state is ``app.state.loop``.

    Args:
        api_key: accepted in ``X-Authorization`` with the ``Returns`` scope (add others with
            ``loop.add_api_key``).
        webhook_secret: signs webhook deliveries (``X-Loop-Signature``).
        knobs: fault knobs (changeable later with ``loop.set_knobs`` or ``POST /_sandbox/knobs``).
        catalog: (sku, title, price) triples returns are drawn from when no orders are given.
        seed: makes generated returns and fault dice repeatable.
        options: limits, webhook retry schedule, id style and other behaviour.
        webhook_transport: an httpx transport for deliveries (tests deliver in-process with it).
    """
    loop = SandboxLoop(
        api_key=api_key, webhook_secret=webhook_secret, knobs=knobs, catalog=catalog, seed=seed, options=options
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        timeout = httpx.Timeout(loop.options.webhook_timeout_seconds, connect=1.0)
        async with httpx.AsyncClient(timeout=timeout, transport=webhook_transport) as client:
            await loop.sender.start(client)
            try:
                yield
            finally:
                await loop.sender.stop()

    api = [
        Route("/warehouse/return/list", _api(_list), methods=["GET"]),
        Route("/warehouse/return/details", _api(_details), methods=["GET"]),
        *[
            Route(f"/warehouse/return/{{return_id}}/{name}", _api(_action(name)), methods=["POST"])
            for name in ("process", "close", "cancel", "flag", "remove")
        ],
    ]
    routes = [
        Mount("/api/v1", routes=api),
        Route("/_sandbox/returns", _admin(_admin_returns), methods=["GET", "POST"]),
        Route("/_sandbox/returns/{return_id}", _admin(_admin_return), methods=["GET"]),
        Route("/_sandbox/returns/{return_id}/{action}", _admin(_admin_return_action), methods=["POST"]),
        Route("/_sandbox/webhooks", _admin(_admin_webhooks), methods=["GET", "POST"]),
        Route("/_sandbox/knobs", _admin(_admin_knobs), methods=["GET", "POST"]),
        Route("/_sandbox/deliveries", _admin(_admin_deliveries), methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.loop = loop
    return app
