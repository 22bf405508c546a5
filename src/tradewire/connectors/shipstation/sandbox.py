"""The ShipStation sandbox: a stateful, fault-injectable ASGI fake of the V1 API.

``create_sandbox(...)`` returns a Starlette app with its state on ``app.state.shipstation``
(a :class:`~tradewire.connectors.shipstation.sandbox_store.ShipStationSandbox`). It serves:

* ``POST /orders/createorder`` (upsert by ``orderKey``), ``POST /orders/createorders``,
  ``GET /orders``, ``GET /orders/{orderId}``, ``POST /orders/markasshipped``;
* ``GET /shipments``, ``POST /shipments/voidlabel``;
* ``POST /webhooks/subscribe``, ``GET /webhooks``, ``DELETE /webhooks/{id}``.

Every API call needs HTTP Basic with the API key and secret (else 401). Each key has
``requests_per_minute`` (40) per window; answers carry ``X-Rate-Limit-Limit``,
``X-Rate-Limit-Remaining`` and ``X-Rate-Limit-Reset``, and a spent window answers 429 with the
body ShipStation sends. Fault knobs: ``latency_ms``; ``timeout_rate`` (hang, then 504);
``fail_rate`` (500); ``rate_limit_after`` / ``rate_limit_rate`` (429 with
``X-Rate-Limit-Reset: retry_after_seconds``); ``options.garbage_rate`` (200 with an HTML page).

Admin endpoints (no auth): ``POST /_sandbox/orders/{orderKey}/ship`` ``{"packages": [[[ref, qty], …], …]}``;
``POST /_sandbox/shipments/{id}/void``; ``GET /_sandbox/deliveries``; ``GET|POST /_sandbox/knobs``.

SHIP_NOTIFY deliveries go out from a sender task started by the app's lifespan. In-process
tests without a server enter the lifespan themselves: ``async with app.router.lifespan_context(app)``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.shipstation.sandbox_store import SandboxError, SandboxOptions, ShipStationSandbox

__all__ = ["SandboxOptions", "ShipStationSandbox", "create_sandbox"]

Handler = Callable[[Request], Awaitable[Response]]
Api = Callable[[Request, ShipStationSandbox], Awaitable[Any]]
THROTTLED_BODY = {"statusCode": 429, "message": "ThrottlerException: Too Many Requests"}
DENIED = "Authorization has been denied for this request."
_HTML = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"


def _state(request: Request) -> ShipStationSandbox:
    state = request.app.state.shipstation
    assert isinstance(state, ShipStationSandbox)
    return state


def _error(
    state: ShipStationSandbox, status: int, message: str, exception: str | None = None, **headers: str
) -> Response:
    if state.options.error_style == "message":
        body: dict[str, Any] = {"statusCode": status, "message": exception or message}
    else:
        body = {"Message": message}
        if exception:
            body["ExceptionMessage"] = exception
            body["ExceptionType"] = "System.Exception"
    return JSONResponse(body, status_code=status, headers=headers or None)


def _authorised(request: Request, state: ShipStationSandbox) -> bool:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(user.encode(), state.api_key.encode()) & hmac.compare_digest(
        password.encode(), state.api_secret.encode()
    )


def _api(handler: Api) -> Handler:
    """Faults, auth and the rate window, in the order ShipStation's edge applies them; then the call."""

    async def endpoint(request: Request) -> Response:
        state = _state(request)
        knobs, dice = state.knobs, state.dice
        state.stats["requests"] += 1
        await dice.delay()
        if dice.roll(knobs.timeout_rate):
            await asyncio.sleep(knobs.timeout_seconds)
            return _error(state, 504, "Gateway Timeout")
        if dice.roll(knobs.fail_rate):
            state.stats["faults"] += 1
            return _error(state, 500, "An error has occurred.", "Object reference not set to an instance of an object.")
        if not _authorised(request, state):
            state.stats["auth_failures"] += 1
            return _error(state, 401, DENIED)
        limited = knobs.rate_limit_after is not None and state.stats["served"] >= knobs.rate_limit_after
        if limited or dice.roll(knobs.rate_limit_rate):
            state.stats["throttled"] += 1
            reset = f"{max(knobs.retry_after_seconds, 0):g}"
            headers = {"X-Rate-Limit-Limit": str(state.options.requests_per_minute), "X-Rate-Limit-Remaining": "0",
                       "X-Rate-Limit-Reset": reset}  # fmt: skip
            return JSONResponse(THROTTLED_BODY, status_code=429, headers=headers)
        verdict = state.take_rate()
        if not verdict.allowed:
            state.stats["throttled"] += 1
            return JSONResponse(THROTTLED_BODY, status_code=429, headers=verdict.headers)
        state.stats["served"] += 1
        if dice.roll(state.options.garbage_rate):
            return HTMLResponse(_HTML, status_code=200, headers=verdict.headers)
        try:
            result = await handler(request, state)
        except SandboxError as exc:
            return _error(state, exc.status, exc.message, exc.exception_message, **verdict.headers)
        if result is None:
            return Response(status_code=200, headers=verdict.headers)
        return JSONResponse(result, headers=verdict.headers)

    return endpoint


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise SandboxError(400, "The request is invalid.", "The request body is not valid JSON.") from None


def _int(text: str, what: str) -> int:
    if not text.isdigit():
        raise SandboxError(404, f"{what} {text[:20]} not found.")
    return int(text)


async def _createorder(request: Request, state: ShipStationSandbox) -> Any:
    return state.upsert_order(await _body(request))


async def _createorders(request: Request, state: ShipStationSandbox) -> Any:
    body = await _body(request)
    if not isinstance(body, list):
        raise SandboxError(400, "The request is invalid.", "createorders takes a JSON array of orders")
    return state.create_orders(body)


async def _orders(request: Request, state: ShipStationSandbox) -> Any:
    return state.list_orders(dict(request.query_params))


async def _order(request: Request, state: ShipStationSandbox) -> Any:
    return state.get_order(_int(request.path_params["order_id"], "Order"))


async def _markasshipped(request: Request, state: ShipStationSandbox) -> Any:
    body = await _body(request)
    if not isinstance(body, dict):
        raise SandboxError(400, "The request is invalid.", "markasshipped takes a JSON object")
    return state.mark_as_shipped(body)


async def _shipments(request: Request, state: ShipStationSandbox) -> Any:
    return state.list_shipments(dict(request.query_params))


async def _voidlabel(request: Request, state: ShipStationSandbox) -> Any:
    body = await _body(request)
    shipment_id = body.get("shipmentId") if isinstance(body, dict) else None
    if isinstance(shipment_id, bool) or not isinstance(shipment_id, int):
        raise SandboxError(400, "The request is invalid.", "shipmentId is required")
    return state.void_shipment(shipment_id)


async def _subscribe(request: Request, state: ShipStationSandbox) -> Any:
    body = await _body(request)
    if not isinstance(body, dict):
        raise SandboxError(400, "The request is invalid.", "subscribe takes a JSON object")
    store = body.get("store_id")
    hook_id = state.subscribe(
        str(body.get("target_url", "")),
        str(body.get("event", "")),
        store_id=store if isinstance(store, int) and not isinstance(store, bool) else None,
        friendly_name=str(body.get("friendly_name") or ""),
    )
    return {"id": hook_id}


async def _webhooks(request: Request, state: ShipStationSandbox) -> Any:
    return {"webhooks": state.list_webhooks()}


async def _delete_webhook(request: Request, state: ShipStationSandbox) -> Any:
    state.unsubscribe(_int(request.path_params["hook_id"], "Webhook"))
    return None


def _admin(handler: Callable[[Request, ShipStationSandbox, dict[str, Any]], Any]) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            raw = await request.body()
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            return JSONResponse(handler(request, _state(request), body))
        except KeyError as exc:
            return JSONResponse({"error": f"not found: {exc.args[0] if exc.args else ''}"}, status_code=404)
        except SandboxError as exc:
            return JSONResponse({"error": exc.exception_message or exc.message}, status_code=exc.status)
        except (ValueError, TypeError, ValidationError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return endpoint


def _ship(request: Request, state: ShipStationSandbox, body: dict[str, Any]) -> Any:
    packages = body.get("packages")
    parsed = None if packages is None else [[(str(ref), int(qty)) for ref, qty in package] for package in packages]
    made = state.ship_order(
        request.path_params["order_key"],
        parsed,
        carrier_code=body.get("carrier_code"),
        service_code=body.get("service_code"),
    )
    return {"shipments": made}


def _void(request: Request, state: ShipStationSandbox, body: dict[str, Any]) -> Any:
    return state.void_shipment(_int(request.path_params["shipment_id"], "Shipment"))


def _deliveries(request: Request, state: ShipStationSandbox, body: dict[str, Any]) -> Any:
    return {"deliveries": state.delivery_log()}


def _knobs(request: Request, state: ShipStationSandbox, body: dict[str, Any]) -> Any:
    if request.method == "POST":
        state.set_knobs(**body)
    return {"knobs": state.knobs.model_dump()}


def create_sandbox(
    *,
    api_key: str,
    api_secret: str,
    knobs: FaultKnobs | None = None,
    base_url: str = "https://ssapi.shipstation.com",
    options: SandboxOptions | None = None,
    clock: Callable[[], datetime] | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """A fresh sandbox account as an ASGI app; its state is ``app.state.shipstation``.

    Args:
        api_key: the only API key accepted (Basic user).
        api_secret: its secret (Basic password).
        knobs: fault knobs (changeable later with ``set_knobs`` or ``POST /_sandbox/knobs``).
        base_url: the root this sandbox is reached at; SHIP_NOTIFY ``resource_url`` values start
            with it (set ``app.state.shipstation.base_url`` once a loopback server has its port).
        options: rate window, error style, garbage rate, webhook retry schedule.
        clock: the time orders and shipments are stamped with (tests pin DST edges with it).
        webhook_transport: an httpx transport for deliveries (tests deliver in-process with it).
    """
    state = ShipStationSandbox(
        api_key=api_key,
        api_secret=api_secret,
        knobs=knobs,
        base_url=base_url,
        options=options,
        clock=clock or (lambda: datetime.now(UTC)),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        timeout = httpx.Timeout(state.options.webhook_timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, transport=webhook_transport) as client:
            await state.sender.start(client)
            try:
                yield
            finally:
                await state.sender.stop()

    routes = [
        Route("/orders/createorder", _api(_createorder), methods=["POST"]),
        Route("/orders/createorders", _api(_createorders), methods=["POST"]),
        Route("/orders/markasshipped", _api(_markasshipped), methods=["POST"]),
        Route("/orders", _api(_orders), methods=["GET"]),
        Route("/orders/{order_id}", _api(_order), methods=["GET"]),
        Route("/shipments", _api(_shipments), methods=["GET"]),
        Route("/shipments/voidlabel", _api(_voidlabel), methods=["POST"]),
        Route("/webhooks/subscribe", _api(_subscribe), methods=["POST"]),
        Route("/webhooks", _api(_webhooks), methods=["GET"]),
        Route("/webhooks/{hook_id}", _api(_delete_webhook), methods=["DELETE"]),
        Route("/_sandbox/orders/{order_key}/ship", _admin(_ship), methods=["POST"]),
        Route("/_sandbox/shipments/{shipment_id}/void", _admin(_void), methods=["POST"]),
        Route("/_sandbox/deliveries", _admin(_deliveries), methods=["GET"]),
        Route("/_sandbox/knobs", _admin(_knobs), methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.shipstation = state
    return app
