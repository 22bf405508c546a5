"""A loyalty/CRM REST API fake ("Acme Loyalty") that the declarative connector is tested against.

``create_sandbox(...)`` returns a Starlette app with its state on ``app.state.loyalty``
(a :class:`LoyaltyStore`). The API (``/v1``):

* ``GET /v1/members`` and ``GET /v1/transactions`` — ``updated_since`` filter, oldest change
  first; cursor pagination (``limit``, ``cursor`` → ``meta.next_cursor``/``meta.has_more``) or
  page pagination (``page``, ``per_page`` → ``meta.total_pages`` and an RFC 8288 ``Link``
  header), chosen by ``SandboxOptions.pagination``.
* ``GET|PATCH /v1/members/{id}``, ``POST /v1/members`` (422 on a bad e-mail, 409 on a duplicate),
  ``POST /v1/members/{id}/points`` ``{"delta", "reason"}``, ``GET|POST /v1/transactions[/{id}]``,
  ``POST /v1/transactions/{id}/void``.
* Auth: ``X-Api-Key`` (``auth="api_key"``) or OAuth 2.0 client credentials
  (``POST /oauth/token``, client id/secret as HTTP Basic or in the form; bearer tokens expire
  after ``token_ttl_seconds``). Bad credentials: 401 ``{"error": {"code": "unauthorized"}}``.
* Limits: ``requests_per_minute`` with ``X-RateLimit-Limit/Remaining/Reset`` on every answer;
  429 with ``Retry-After`` when exceeded, and by the knobs ``rate_limit_after``/``rate_limit_rate``.
* Faults: ``latency_ms``, ``timeout_rate`` (hang then 504), ``fail_rate`` (500/503),
  ``garbage_rate`` (200 with HTML or truncated JSON).
* Webhooks: every change is POSTed to subscribers, signed
  ``X-Loyalty-Signature: sha256=hex(HMAC-SHA256(secret, "{X-Loyalty-Timestamp}.{body}"))``.
* ``/_sandbox/…`` (no auth): ``POST /_sandbox/members`` ``{"count"}``, ``POST /_sandbox/transactions``
  ``{"count", "member_id"?}``, ``GET|POST /_sandbox/webhooks`` ``{"url", "events"?}``,
  ``GET|POST /_sandbox/knobs``, ``GET /_sandbox/deliveries``, ``POST /_sandbox/tokens/revoke``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.http.sandbox_store import LoyaltyStore, SandboxOptions, decode_cursor, encode_cursor

Handler = Callable[[Request], Awaitable[Response]]
Api = Callable[[Request, LoyaltyStore], Awaitable[Response]]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _store(request: Request) -> LoyaltyStore:
    store = request.app.state.loyalty
    assert isinstance(store, LoyaltyStore)
    return store


def _authorised(request: Request, store: LoyaltyStore) -> bool:
    if store.options.auth == "api_key":
        return request.headers.get("x-api-key") == store.options.api_key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and store.token_valid(token.strip())


def _api(handler: Api) -> Handler:
    """Faults, auth, quota and rate headers around one API handler."""

    async def endpoint(request: Request) -> Response:
        store = _store(request)
        knobs, dice = store.knobs, store.dice
        await dice.delay()
        if dice.roll(knobs.timeout_rate):
            await asyncio.sleep(knobs.timeout_seconds)
            return _error(504, "gateway_timeout", "upstream timed out")
        if dice.roll(knobs.fail_rate):
            return _error(503 if dice.roll(0.5) else 500, "server_error", "something went wrong on our side")
        if not _authorised(request, store):
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if store.options.auth == "oauth2" else None
            return _error(401, "unauthorized", "invalid or expired credentials", headers)
        allowed, remaining, reset = store.take_quota()
        limited = knobs.rate_limit_after is not None and store.served >= knobs.rate_limit_after
        if not allowed or limited or dice.roll(knobs.rate_limit_rate):
            wait = knobs.retry_after_seconds if allowed else reset
            headers = {
                "Retry-After": str(max(round(wait), 0)),
                "X-RateLimit-Limit": str(store.options.requests_per_minute),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(reset)),
            }
            return _error(429, "rate_limited", "too many requests; slow down", headers)
        store.served += 1
        if dice.roll(store.options.garbage_rate):
            if dice.roll(0.5):
                return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", media_type="text/html")
            return Response(b'{"data": [{"id": "mbr_', media_type="application/json")
        try:
            response = await handler(request, store)
        except KeyError as exc:
            response = _error(404, "not_found", f"no such record {exc.args[0] if exc.args else ''}")
        except ValueError as exc:
            status = 409 if "already exists" in str(exc) else 422
            response = _error(status, "validation_failed" if status == 422 else "conflict", str(exc))
        response.headers["X-RateLimit-Limit"] = str(store.options.requests_per_minute)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        response.headers["X-RateLimit-Reset"] = str(int(reset))
        return response

    return endpoint


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        payload = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ValueError("body is not JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("body must be a JSON object")
    return payload


def _size(request: Request, store: LoyaltyStore, name: str) -> int:
    text = request.query_params.get(name, str(store.options.default_page_size))
    if not text.isdigit() or not 1 <= int(text) <= store.options.max_page_size:
        raise ValueError(f"{name} must be 1..{store.options.max_page_size}")
    return int(text)


def _list(kind: str) -> Api:
    async def handler(request: Request, store: LoyaltyStore) -> Response:
        since = request.query_params.get("updated_since") or None
        if since is not None and "T" not in since:
            raise ValueError("updated_since must be an ISO 8601 time")
        if since is not None:
            since = since.replace("+00:00", "Z")
        rows = store.changed_since(kind, since)
        if store.options.pagination == "cursor":
            limit = _size(request, store, "limit")
            cursor = request.query_params.get("cursor")
            if cursor:
                after_at, after_id, since = decode_cursor(cursor)
                rows = [
                    r for r in store.changed_since(kind, since) if (r["updated_at"], r["id"]) > (after_at, after_id)
                ]
            chunk = rows[:limit]
            more = len(rows) > limit
            meta: dict[str, Any] = {
                "has_more": more,
                "next_cursor": encode_cursor(chunk[-1]["updated_at"], chunk[-1]["id"], since) if more else None,
            }
            return JSONResponse({"data": chunk, "meta": meta})
        per_page = _size(request, store, "per_page")
        page_text = request.query_params.get("page", "1")
        if not page_text.isdigit() or int(page_text) < 1:
            raise ValueError("page must be >= 1")
        page = int(page_text)
        total_pages = max((len(rows) + per_page - 1) // per_page, 1)
        chunk = rows[(page - 1) * per_page : page * per_page]
        meta = {"page": page, "per_page": per_page, "total": len(rows), "total_pages": total_pages}
        headers: dict[str, str] = {}
        if page < total_pages:
            query = dict(request.query_params) | {"page": str(page + 1)}
            headers["Link"] = f'<{request.url.path}?{urllib.parse.urlencode(query)}>; rel="next"'
        return JSONResponse({"data": chunk, "meta": meta}, headers=headers)

    return handler


async def _member(request: Request, store: LoyaltyStore) -> Response:
    member_id = request.path_params["member_id"]
    if request.method == "PATCH":
        return JSONResponse({"data": store.update_member(member_id, **await _json(request))})
    member = store.members[member_id]
    return JSONResponse({"data": member})


async def _members_create(request: Request, store: LoyaltyStore) -> Response:
    return JSONResponse({"data": store.add_member(await _json(request))}, status_code=201)


async def _points(request: Request, store: LoyaltyStore) -> Response:
    body = await _json(request)
    delta = body.get("delta")
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise ValueError("delta must be an integer")
    member = store.add_points(request.path_params["member_id"], delta, str(body.get("reason", "adjustment")))
    return JSONResponse({"data": member})


async def _transaction(request: Request, store: LoyaltyStore) -> Response:
    return JSONResponse({"data": store.transactions[request.path_params["transaction_id"]]})


async def _transactions_create(request: Request, store: LoyaltyStore) -> Response:
    body = await _json(request)
    items = body.get("items")
    if not isinstance(items, list):
        raise ValueError("items must be a list")
    tx = store.add_transaction(str(body.get("member_id", "")), items, currency=str(body.get("currency", "USD")))
    return JSONResponse({"data": tx}, status_code=201)


async def _void(request: Request, store: LoyaltyStore) -> Response:
    return JSONResponse({"data": store.void_transaction(request.path_params["transaction_id"])})


async def _token(request: Request) -> Response:
    store = _store(request)
    store.token_requests += 1
    form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
    client_id = (form.get("client_id") or [""])[0]
    client_secret = (form.get("client_secret") or [""])[0]
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        client_id, client_secret = urllib.parse.unquote(user), urllib.parse.unquote(password)
    if (form.get("grant_type") or [""])[0] != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    if store.options.auth != "oauth2" or (client_id, client_secret) != (
        store.options.client_id,
        store.options.client_secret,
    ):
        return JSONResponse(
            {"error": "invalid_client", "error_description": "client authentication failed"}, status_code=401
        )
    token, ttl = store.issue_token()
    return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": int(ttl)})


def _admin(handler: Callable[[LoyaltyStore, dict[str, Any], Request], Any]) -> Handler:
    async def endpoint(request: Request) -> Response:
        store = _store(request)
        try:
            body = await _json(request) if request.method == "POST" else {}
            result = handler(store, body, request)
        except KeyError as exc:
            return JSONResponse({"error": f"not found: {exc.args[0] if exc.args else ''}"}, status_code=404)
        except ValidationError as exc:
            return JSONResponse({"error": exc.errors(include_url=False, include_context=False)}, status_code=400)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(result)

    return endpoint


def _count(body: dict[str, Any]) -> int:
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000:
        raise ValueError("'count' must be an integer 0..10000")
    return count


def create_sandbox(
    *,
    options: SandboxOptions | None = None,
    knobs: FaultKnobs | None = None,
    seed: int | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    **overrides: Any,
) -> Starlette:
    """A fresh loyalty/CRM sandbox as an ASGI app; its state is ``app.state.loyalty``.

    Args:
        options: behaviour (auth mode, pagination mode, credentials, quota, garbage rate…).
        knobs: fault knobs (changeable later with ``store.set_knobs`` or ``POST /_sandbox/knobs``).
        seed: makes generated records and fault dice repeatable.
        webhook_transport: an httpx transport for deliveries (tests deliver in-process with it).
        overrides: single ``SandboxOptions`` fields (``auth="oauth2"``, ``pagination="page"``…).
    """
    chosen = options or SandboxOptions()
    for key, value in overrides.items():
        if not hasattr(chosen, key):
            raise TypeError(f"unknown sandbox option {key!r}")
        setattr(chosen, key, value)
    store = LoyaltyStore(options=chosen, knobs=knobs, seed=seed)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(store.options.webhook_timeout_seconds), transport=webhook_transport
        ) as client:
            await store.sender.start(client)
            try:
                yield
            finally:
                await store.sender.stop()

    routes = [
        Route("/oauth/token", _token, methods=["POST"]),
        Route("/v1/members", _api(_list("members")), methods=["GET"]),
        Route("/v1/members", _api(_members_create), methods=["POST"]),
        Route("/v1/members/{member_id}", _api(_member), methods=["GET", "PATCH"]),
        Route("/v1/members/{member_id}/points", _api(_points), methods=["POST"]),
        Route("/v1/transactions", _api(_list("transactions")), methods=["GET"]),
        Route("/v1/transactions", _api(_transactions_create), methods=["POST"]),
        Route("/v1/transactions/{transaction_id}", _api(_transaction), methods=["GET"]),
        Route("/v1/transactions/{transaction_id}/void", _api(_void), methods=["POST"]),
        Route("/_sandbox/members", _admin(lambda s, b, r: {"data": s.create_members(_count(b))}), methods=["POST"]),
        Route(
            "/_sandbox/transactions",
            _admin(lambda s, b, r: {"data": s.create_transactions(_count(b), b.get("member_id"))}),
            methods=["POST"],
        ),
        Route(
            "/_sandbox/webhooks",
            _admin(
                lambda s, b, r: (
                    {"data": s.subscribe(str(b.get("url", "")), b.get("events"))}
                    if r.method == "POST"
                    else {"data": list(s.subscriptions)}
                )
            ),
            methods=["GET", "POST"],
        ),
        Route(
            "/_sandbox/knobs",
            _admin(lambda s, b, r: {"knobs": (s.set_knobs(**b) if r.method == "POST" else s.knobs).model_dump()}),
            methods=["GET", "POST"],
        ),
        Route(
            "/_sandbox/deliveries",
            _admin(lambda s, b, r: {"deliveries": s.delivery_log(r.query_params.get("object_id"))}),
            methods=["GET"],
        ),
        Route("/_sandbox/tokens/revoke", _admin(lambda s, b, r: {"revoked": s.revoke_tokens()}), methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.loyalty = store
    return app
