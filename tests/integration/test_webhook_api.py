"""The webhook receiver and API v1 fed bad input, on SQLite and PostgreSQL.

Every refused delivery must answer a problem+json with a readable detail and store nothing;
every accepted one must be stored exactly once. The app is the real one (``create_app``),
served in-process over ``httpx.ASGITransport`` or by uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tradewire.api.app import create_app
from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.governance.permissions import Role
from tradewire.runtime.store.port import RunState
from tradewire.services.access import AccessKeys
from tradewire.services.processes import build_ingest

if TYPE_CHECKING:
    from tests.integration.conftest import World

ORDER_STEPS = "map_order, check_not_cancelled, check_holds, resolve_customer, resolve_items, upsert_sales_order, record"


def api_key(world: World, role: Role = Role.PARTNER_ADMIN, client_id: str | None = None) -> str:
    """A new API key of the world's partner (client roles: for ``client_id``, default the world's client)."""
    partner = world.store.get_client(world.client_id).partner_id
    scope = None if role.partner_level else (client_id or world.client_id)
    keys = AccessKeys(world.store, actor="test")
    return keys.issue(partner_id=partner, role=role, name=f"test {role.value}", client_id=scope).secret


@asynccontextmanager
async def api(world: World, *, role: Role | None = Role.PARTNER_ADMIN) -> AsyncIterator[httpx.AsyncClient]:
    """The real app over ASGI, with its own receiver (closed on exit).

    Requests carry an API key of ``role`` for the world's partner (None: no credentials).
    """
    ingest = build_ingest(world.settings, world.store)
    app = create_app(world.settings, world.store, ingest)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {api_key(world, role)}"} if role is not None else {}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://tradewire.test", headers=headers) as client:
            yield client
    finally:
        await ingest.batcher.aclose()
        ingest.db.shutdown()


def webhook_path(world: World, connection_id: str | None = None) -> str:
    return f"/webhooks/shopify/{connection_id or world.shopify_id}"


def assert_problem(response: httpx.Response, status: int, kind: str, *phrases: str) -> dict[str, Any]:
    """A problem+json answer with ``status``, a ``type`` ending in ``kind`` and a detail saying ``phrases``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].endswith("/" + kind)
    for phrase in phrases:
        assert phrase in body["detail"], body
    return body


def assert_nothing_stored(world: World) -> None:
    assert world.message_count() == 0
    assert world.runs() == []


def order_body(world: World, **changes: Any) -> bytes:
    return json.dumps(world.new_order(**changes)).encode()


# --- refused deliveries ------------------------------------------------------------------------

Case = Callable[["World"], tuple[str, bytes, dict[str, str]]]


def _unsigned(w: World) -> tuple[str, bytes, dict[str, str]]:
    body = order_body(w)
    headers = w.headers(body)
    del headers["X-Shopify-Hmac-Sha256"]
    return webhook_path(w), body, headers


def _tampered(w: World) -> tuple[str, bytes, dict[str, str]]:
    body = order_body(w)
    headers = w.headers(body)
    return webhook_path(w), body.replace(b'"currency": "USD"', b'"currency": "EUR"', 1), headers


def _wrong_secret(w: World) -> tuple[str, bytes, dict[str, str]]:
    body = order_body(w)
    return webhook_path(w), body, w.headers(body, secret="not-the-shops-secret")


def _stale(w: World) -> tuple[str, bytes, dict[str, str]]:
    body = order_body(w)
    return webhook_path(w), body, w.headers(body, triggered_at=w.now_iso(-6 * 3600))


def _future(w: World) -> tuple[str, bytes, dict[str, str]]:
    body = order_body(w)
    return webhook_path(w), body, w.headers(body, triggered_at=w.now_iso(3600))


def _malformed_json(w: World) -> tuple[str, bytes, dict[str, str]]:
    body = b'{"id": 12345, "line_items": ['
    return webhook_path(w), body, w.headers(body)


def _no_integer_id(w: World) -> tuple[str, bytes, dict[str, str]]:
    body = order_body(w, id="12345")
    return webhook_path(w), body, w.headers(body)


def _unknown_connection(w: World) -> tuple[str, bytes, dict[str, str]]:
    body = order_body(w)
    return webhook_path(w, f"conn-{uuid.uuid4().hex}"), body, w.headers(body)


def _netsuite_connection(w: World) -> tuple[str, bytes, dict[str, str]]:
    body = order_body(w)
    return webhook_path(w, w.netsuite_id), body, w.headers(body)


REFUSED: list[Any] = [
    pytest.param(_unsigned, 401, "webhook-unauthorized", "missing X-Shopify-Hmac-Sha256", id="unsigned"),
    pytest.param(_tampered, 401, "webhook-unauthorized", "does not match the body", id="tampered"),
    pytest.param(_wrong_secret, 401, "webhook-unauthorized", "does not match the body", id="wrong-secret"),
    pytest.param(_stale, 401, "webhook-unauthorized", "stale delivery", id="stale"),
    pytest.param(_future, 401, "webhook-unauthorized", "in the future", id="future"),
    pytest.param(_malformed_json, 400, "webhook-invalid", "not JSON", id="malformed-json"),
    pytest.param(_no_integer_id, 400, "webhook-invalid", "no integer 'id'", id="no-integer-id"),
    pytest.param(_unknown_connection, 404, "not-found", "conn-", id="unknown-connection"),
    pytest.param(_netsuite_connection, 404, "not-found", "is not a shopify connection", id="netsuite-connection"),
]


@pytest.mark.parametrize(("case", "status", "kind", "phrase"), REFUSED)
def test_refused_delivery_answers_a_problem_and_stores_nothing(
    world: World, case: Case, status: int, kind: str, phrase: str
) -> None:
    path, body, headers = case(world)

    async def main() -> httpx.Response:
        async with api(world) as client:
            return await client.post(path, content=body, headers=headers)

    assert_problem(asyncio.run(main()), status, kind, phrase)
    assert_nothing_stored(world)


@pytest.mark.parametrize("lying_length", [False, True], ids=["honest-length", "lying-length"])
def test_oversized_body_is_refused_with_413(world_factory: Callable[..., World], lying_length: bool) -> None:
    world = world_factory(max_body_bytes=4096)
    order = world.new_order(note="x" * 8000)
    body = json.dumps(order).encode()
    headers = world.headers(body)
    if lying_length:
        headers["Content-Length"] = "200"

    async def main() -> httpx.Response:
        async with api(world) as client:
            return await client.post(webhook_path(world), content=body, headers=headers)

    problem = assert_problem(asyncio.run(main()), 413, "payload-too-large", "4096 bytes")
    assert problem["limit"] == 4096
    assert_nothing_stored(world)


def test_unhandled_topic_is_acknowledged_and_ignored(world: World) -> None:
    body = json.dumps({"id": 987654321, "title": "A product"}).encode()

    async def main() -> httpx.Response:
        async with api(world) as client:
            return await client.post(
                webhook_path(world), content=body, headers=world.headers(body, topic="products/update")
            )

    response = asyncio.run(main())
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert "products/update" in response.json()["detail"]
    assert_nothing_stored(world)


# --- accepted deliveries -----------------------------------------------------------------------


def test_duplicate_delivery_is_stored_once(world: World) -> None:
    body = order_body(world)
    headers = world.headers(body)

    async def main() -> tuple[httpx.Response, httpx.Response]:
        async with api(world) as client:
            first = await client.post(webhook_path(world), content=body, headers=headers)
            second = await client.post(webhook_path(world), content=body, headers=headers)
            return first, second

    first, second = asyncio.run(main())
    assert (first.status_code, first.json()["status"]) == (200, "stored")
    assert (second.status_code, second.json()["status"]) == (200, "duplicate")
    assert second.json()["message_id"] == first.json()["message_id"]
    assert world.message_count() == 1
    runs = world.runs()  # an order starts its export and its stock reservation
    assert sorted(r.flow for r in runs) == ["inventory_reserve", "order_to_erp"]
    assert sorted(r.id for r in runs) == sorted(first.json()["run_ids"])


def test_replayed_delivery_of_an_old_event_is_a_duplicate(world: World) -> None:
    # Shopify retries for hours with the original event id and trigger time.
    body = order_body(world)
    headers = world.headers(body, triggered_at=world.now_iso(-3 * 3600))

    async def main() -> list[str]:
        async with api(world) as client:
            answers = [await client.post(webhook_path(world), content=body, headers=headers) for _ in range(2)]
        return [a.json()["status"] for a in answers]

    assert asyncio.run(main()) == ["stored", "duplicate"]
    assert world.message_count() == 1
    assert sorted(r.flow for r in world.runs()) == ["inventory_reserve", "order_to_erp"]


def _batch_stats() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("tradewire_ingest_batch_size_count") or 0.0
    total = REGISTRY.get_sample_value("tradewire_ingest_batch_size_sum") or 0.0
    return count, total


def test_fifty_concurrent_deliveries_over_http_are_stored_once_in_shared_commits(world: World) -> None:
    ingest = build_ingest(world.settings, world.store)
    server = LoopbackServer(create_app(world.settings, world.store, ingest)).start()
    deliveries = []
    for _ in range(50):
        body = order_body(world)
        deliveries.append((body, world.headers(body)))
    before = _batch_stats()

    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=20.0) as client:
            return await asyncio.gather(
                *(client.post(webhook_path(world), content=b, headers=h) for b, h in deliveries)
            )

    try:
        responses = asyncio.run(main())
    finally:
        server.stop()
        ingest.db.shutdown()
    after = _batch_stats()
    assert [r.status_code for r in responses] == [200] * 50
    assert {r.json()["status"] for r in responses} == {"stored"}
    assert len({r.json()["message_id"] for r in responses}) == 50
    assert world.message_count() == 50
    runs = world.runs(flow="order_to_erp")
    assert len(runs) == 50
    assert len(world.runs(flow="inventory_reserve")) == 50
    assert {r.state for r in world.runs()} == {RunState.QUEUED}
    assert after[1] - before[1] == 50  # every message went through the batcher
    assert after[0] - before[0] < 50, "each delivery had a transaction of its own (no group commit)"


# --- payloads that verify but cannot be mapped -------------------------------------------------


def _bad_price(order: dict[str, Any]) -> None:
    order["line_items"][0]["price"] = "abc"


def _bad_currency(order: dict[str, Any]) -> None:
    order["currency"] = "XXX"


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        pytest.param(_bad_price, "line_items[0].price 'abc' is not a number", id="price-abc"),
        pytest.param(_bad_currency, "currency 'XXX' is not an ISO 4217 code", id="currency-xxx"),
    ],
)
def test_unmappable_order_is_stored_then_dead_lettered_with_its_raw_body(
    world: World, spoil: Callable[[dict[str, Any]], None], reason: str
) -> None:
    order = world.new_order()
    spoil(order)
    body = json.dumps(order).encode()

    async def main() -> dict[str, Any]:
        async with world.pipeline() as _, api(world) as client:
            ack = await client.post(webhook_path(world), content=body, headers=world.headers(body))
            assert ack.status_code == 200, ack.text
            assert ack.json()["status"] == "stored"
            await world.settle(2)  # the export and the stock reservation both map the order
            dead = (await client.get("/v1/dead-letters")).json()
            message = (await client.get(f"/v1/messages/{ack.json()['message_id']}")).json()
            return {"ack": ack.json(), "dead": dead, "message": message}

    seen = asyncio.run(main())
    [run] = world.runs(flow="order_to_erp")
    assert run.state is RunState.DEAD
    assert run.last_error is not None
    assert run.last_error.startswith("map_order: ")
    assert reason in run.last_error
    assert str(order["id"]) in run.last_error
    reserve = world.runs(flow="inventory_reserve")[0]
    assert reserve.state is RunState.DEAD
    assert sorted(d["id"] for d in seen["dead"]) == sorted([run.id, reserve.id])
    assert {d["last_error"] for d in seen["dead"]} == {run.last_error}
    assert seen["message"]["body"] == body.decode()
    assert seen["message"]["body_encoding"] == "utf-8"
    assert seen["message"]["topic"] == "order.created"
    assert world.ns.sales_orders() == []


# --- API v1 ------------------------------------------------------------------------------------


def test_runs_api_lists_shows_and_replays_runs(world: World) -> None:
    order = world.new_order()
    body = json.dumps(order).encode()
    spoiled = world.new_order(currency="XXX")
    spoiled_body = json.dumps(spoiled).encode()

    async def exported() -> tuple[int, int]:
        async with world.pipeline() as (ingest, _):
            good = await ingest.receive("shopify", world.shopify_id, body, world.headers(body))
            bad = await ingest.receive("shopify", world.shopify_id, spoiled_body, world.headers(spoiled_body))
            await world.settle(5)  # each order also reserves stock; the spoiled one's runs both die
        return good.run_ids[0], sorted(bad.run_ids)

    good_id, dead_ids = asyncio.run(exported())

    async def operate() -> dict[str, httpx.Response]:
        async with api(world) as client:
            out = {
                "all": await client.get("/v1/runs"),
                "filtered": await client.get("/v1/runs", params={"state": "succeeded", "flow": "order_to_erp"}),
                "one": await client.get(f"/v1/runs/{good_id}"),
                "dead": await client.get("/v1/dead-letters"),
                "bad_step": await client.post(f"/v1/runs/{good_id}/replay", json={"from_step": "send_invoice"}),
                "from_step": await client.post(f"/v1/runs/{good_id}/replay", json={"from_step": "upsert_sales_order"}),
                "active": await client.post(f"/v1/runs/{good_id}/replay", json={}),
                "neither": await client.post("/v1/runs/replay", json={}),
                "bulk_dead": await client.post("/v1/runs/replay", json={"dead": True}),
            }
            out["after"] = await client.get(f"/v1/runs/{good_id}")
            return out

    r = asyncio.run(operate())
    listed = r["all"].json()
    assert sorted(x["flow"] for x in listed) == [
        "customer_to_erp", "inventory_reserve", "inventory_reserve", "order_to_erp", "order_to_erp",
    ]  # fmt: skip
    assert [x["id"] for x in r["filtered"].json()] == [good_id]
    one = r["one"].json()
    assert one["state"] == "succeeded"
    assert [s["name"] for s in one["steps"]] == ORDER_STEPS.split(", ")
    assert one["steps"][-1]["output"]["sales_order_ref"] == world.sales_orders_for(order)[0].id
    assert sorted(x["id"] for x in r["dead"].json()) == dead_ids
    assert_problem(r["bad_step"], 409, "conflict", "'send_invoice'", ORDER_STEPS)
    assert r["from_step"].status_code == 200
    assert r["from_step"].json() == {"queued": [good_id], "from_step": "upsert_sales_order"}
    assert_problem(r["active"], 409, "conflict", "still active")
    assert_problem(r["neither"], 409, "conflict", "dead=true")
    assert r["bulk_dead"].json()["queued"] == dead_ids
    assert r["after"].json()["state"] == "queued"
    assert {world.run(run_id).state for run_id in dead_ids} == {RunState.QUEUED}


def test_unknown_ids_and_bad_query_parameters_are_problems(world: World) -> None:
    async def main() -> dict[str, httpx.Response]:
        async with api(world) as client:
            return {
                "run": await client.get("/v1/runs/987654"),
                "replay": await client.post("/v1/runs/987654/replay", json={}),
                "message": await client.get("/v1/messages/987654"),
                "limit": await client.get("/v1/runs", params={"limit": 0}),
                "state": await client.get("/v1/runs", params={"state": "exploded"}),
                "since": await client.get("/v1/dead-letters", params={"since": "last tuesday"}),
                "run_id": await client.get("/v1/runs/abc"),
                "client": await client.get("/v1/runs", headers={"X-Tradewire-Client": "nobody"}),
            }

    r = asyncio.run(main())
    assert_problem(r["run"], 404, "not-found", "run 987654")
    assert_problem(r["replay"], 404, "not-found", "run 987654")
    assert_problem(r["message"], 404, "not-found", "987654")
    assert_problem(r["client"], 404, "not-found", "'nobody'")
    for key, field in (("limit", "limit"), ("state", "state"), ("since", "since"), ("run_id", "run_id")):
        problem = assert_problem(r[key], 422, "invalid-request")
        assert any(field in e["loc"] for e in problem["errors"]), problem


def test_health_metrics_and_openapi(world: World) -> None:
    body = order_body(world)

    async def main() -> dict[str, httpx.Response]:
        async with api(world) as client:
            ack = await client.post(webhook_path(world), content=body, headers=world.headers(body))
            assert ack.status_code == 200
            return {
                "health": await client.get("/healthz"),
                "metrics": await client.get("/metrics"),
                "openapi": await client.get("/openapi.json"),
            }

    r = asyncio.run(main())
    health = r["health"].json()
    assert health["status"] == "ok"
    assert health["database"] == world.store.dialect
    assert health["runs"] == {"queued": 2}  # the order's export and its stock reservation
    assert 'tradewire_webhooks_total{outcome="stored",system="shopify"}' in r["metrics"].text
    paths = set(r["openapi"].json()["paths"])
    assert {
        "/webhooks/{system}/{connection_id}",
        "/v1/runs",
        "/v1/runs/{run_id}",
        "/v1/runs/{run_id}/replay",
        "/v1/runs/replay",
        "/v1/dead-letters",
        "/v1/messages/{message_id}",
        "/healthz",
        "/metrics",
    } <= paths


def test_api_token_guards_v1_but_not_webhooks(world_factory: Callable[..., World]) -> None:
    world = world_factory(token="correct-horse-battery-staple")
    body = order_body(world)

    async def main() -> dict[str, httpx.Response]:
        async with api(world, role=None) as client:
            return {
                "none": await client.get("/v1/runs"),
                "wrong": await client.get("/v1/runs", headers={"Authorization": "Bearer guessed"}),
                "scheme": await client.get("/v1/runs", headers={"Authorization": "correct-horse-battery-staple"}),
                "replay": await client.post("/v1/runs/replay", json={"dead": True}),
                "webhook": await client.post(webhook_path(world), content=body, headers=world.headers(body)),
                "right": await client.get("/v1/runs", headers={"Authorization": "Bearer correct-horse-battery-staple"}),
            }

    r = asyncio.run(main())
    for key in ("none", "wrong", "scheme", "replay"):
        assert_problem(r[key], 401, "unauthorized", "Authorization: Bearer")
        assert r[key].headers["www-authenticate"] == "Bearer"
    assert r["webhook"].status_code == 200
    assert r["webhook"].json()["status"] == "stored"
    assert sorted(x["flow"] for x in r["right"].json()) == ["inventory_reserve", "order_to_erp"]


def test_a_paused_connection_is_resumed_through_the_api(world: World) -> None:
    async def main() -> list[httpx.Response]:
        async with api(world) as client:
            return [
                await client.post(f"/v1/connections/{world.netsuite_id}/pause", json={"reason": "rotating keys"}),
                await client.post(f"/v1/connections/{world.netsuite_id}/resume"),
                await client.post("/v1/connections/nope/resume"),
            ]

    paused, resumed, missing = asyncio.run(main())
    assert paused.status_code == 200
    assert paused.json() == {"id": world.netsuite_id, "status": "paused"}
    assert resumed.json() == {"id": world.netsuite_id, "status": "active"}
    assert world.store.get_connection(world.netsuite_id).status == "active"
    assert_problem(missing, 404, "not-found", "nope")
