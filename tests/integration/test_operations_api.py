"""API v1 of operations (holds, timeline, exceptions) on SQLite and PostgreSQL, fed good and bad input.

Every bad request answers problem+json with a readable detail and changes nothing; operator
actions are audited.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select
from tests.integration.test_webhook_api import api

from tradewire.runtime.store.port import RunState
from tradewire.runtime.store.tables import audit
from tradewire.tenancy.context import client_scope

if TYPE_CHECKING:
    from tests.integration.conftest import World


def assert_problem(response: httpx.Response, status: int, kind: str, *phrases: str) -> None:
    """A problem+json answer with ``status``, a ``type`` ending in ``kind`` and a detail saying ``phrases``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith("/" + kind)
    for phrase in phrases:
        assert phrase in body["detail"], body


def set_holds(world: World, holds: dict[str, Any]) -> None:
    """Give the Shopify connection hold rules."""
    rec = world.store.get_connection(world.shopify_id)
    world.store.put_connection(
        rec.id, rec.client_id, rec.system, rec.name, {**rec.settings, "holds": holds}, rec.secrets
    )


def order_run_waiting(world: World) -> bool:
    """The order's run is parked on its hold."""
    runs = world.runs(flow="order_to_erp")
    return bool(runs) and runs[0].state is RunState.WAITING and "on hold" in (runs[0].last_error or "")


def audited(world: World) -> list[tuple[str, str, str]]:
    """(actor kind, action, target) of the audit trail; API actors are ``api_key:<name> (<id>)``."""
    with world.store.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(select(audit.c.actor, audit.c.action, audit.c.target))
        return [("api" if actor.startswith("api_key:") else actor, action, target) for actor, action, target in rows]


def test_release_by_api_is_audited_and_bad_input_gets_clear_problems(world: World) -> None:
    set_holds(world, {"tags": ["review"], "recheck_seconds": 0.2})
    order = world.new_order(tags="review, vip")

    async def main() -> dict[str, Any]:
        async with world.pipeline() as (ingest, _), api(world) as client:
            await world.deliver(ingest, order)
            await world.wait_for(lambda: order_run_waiting(world), "the order to be held")
            holds = (await client.get("/v1/holds")).json()
            assert [h["order_number"] for h in holds] == [order["name"]]
            order_id = holds[0]["order_id"]
            # bad input first: nothing changes
            assert_problem(
                await client.post("/v1/orders/nope-404/release", json={"reason": "x"}),
                404,
                "not-found",
                "no order 'nope-404'",
            )
            assert_problem(
                await client.post(f"/v1/orders/{order_id}/release", json={"reason": "x" * 501}), 422, "invalid-request"
            )
            assert_problem(await client.post(f"/v1/orders/{order_id}/release", json={}), 422, "invalid-request")
            assert_problem(
                await client.post(f"/v1/orders/{order_id}/release", json={"reason": "   "}),
                409,
                "conflict",
                "give a reason",
            )
            assert_problem(
                await client.post(f"/v1/orders/{'9' * 65}/release", json={"reason": "x"}), 422, "invalid-request"
            )
            assert [h["state"] for h in (await client.get("/v1/holds")).json()] == ["held"]
            assert world.sales_orders_for(order) == []
            released = await client.post(f"/v1/orders/{order_id}/release", json={"reason": "fraud check passed"})
            assert released.status_code == 200, released.text
            assert released.json()["state"] == "released"
            await world.settle(2)
            assert_problem(
                await client.post(f"/v1/orders/{order_id}/release", json={"reason": "again"}),
                409,
                "conflict",
                "already released",
            )
            timeline = await client.get(f"/v1/orders/{order_id}/timeline")
            assert timeline.status_code == 200
            return dict(timeline.json())

    story = asyncio.run(main())
    assert len(world.sales_orders_for(order)) == 1
    assert ("api", "order.release", f"order:{story['order']['id']}") in audited(world)
    events = [e["event"] for e in story["entries"] if e["kind"] == "event"]
    assert events == ["order.held", "order.released", "order.exported"]


def test_exceptions_api_lists_shows_and_resolves_with_clear_errors(world: World) -> None:
    order = world.new_order()
    order["line_items"][0]["sku"] = None

    async def main() -> None:
        async with world.pipeline() as (ingest, _), api(world) as client:
            await world.deliver(ingest, order)
            await world.settle(2)
            assert world.runs(flow="order_to_erp")[0].state is RunState.DEAD
            listed = (await client.get("/v1/exceptions")).json()
            assert [x["kind"] for x in listed] == ["missing_sku"]
            exception_id = listed[0]["id"]
            assert "have no SKU" in listed[0]["message"]
            shown = await client.get(f"/v1/exceptions/{exception_id}")
            assert shown.json()["detail"]["number"] == order["name"]
            assert_problem(await client.get("/v1/exceptions/abc"), 422, "invalid-request")
            assert_problem(await client.get("/v1/exceptions/0"), 422, "invalid-request")
            assert_problem(await client.get("/v1/exceptions/99999999"), 404, "not-found")
            assert_problem(await client.get("/v1/exceptions?state=maybe"), 422, "invalid-request")
            bad = await client.post(f"/v1/exceptions/{exception_id}/resolve", json={"reason": "y" * 1000})
            assert_problem(bad, 422, "invalid-request")
            done = await client.post(f"/v1/exceptions/{exception_id}/resolve", json={"reason": "SKU added by hand"})
            assert done.status_code == 200
            assert done.json()["resolved_by"].startswith("api_key:test partner_admin")
            again = await client.post(f"/v1/exceptions/{exception_id}/resolve", json={"reason": "twice"})
            assert_problem(again, 409, "conflict", "already resolved")
            assert (await client.get("/v1/exceptions")).json() == []
            resolved = (await client.get("/v1/exceptions?state=resolved")).json()
            assert [x["resolution"] for x in resolved] == ["SKU added by hand"]

    asyncio.run(main())
    with client_scope(world.client_id):
        assert [a for a in audited(world) if a[1] == "exception.resolve"]


def test_replay_by_filter_counts_first_and_reconcile_reports_without_healing_a_persons_problem(world: World) -> None:
    order = world.new_order()
    order["line_items"][0]["sku"] = "GHOST-SKU-3"

    async def main() -> None:
        async with world.pipeline() as (ingest, _), api(world) as client:
            await world.deliver(ingest, order)
            await world.settle(2)
            [dead] = world.runs(state=RunState.DEAD)
            count = await client.post("/v1/runs/replay-by-filter", json={"error_contains": "ghost-sku-3"})
            assert count.json() == {"matched": [dead.id], "queued": [], "dry_run": True}
            assert_problem(
                await client.post("/v1/runs/replay-by-filter", json={"state": "running"}), 422, "invalid-request"
            )
            assert_problem(
                await client.post("/v1/runs/replay-by-filter", json={"error_contains": "z" * 201}),
                422,
                "invalid-request",
            )
            assert_problem(
                await client.post("/v1/reconcile", json={"checks": ["nope"]}),
                404,
                "not-found",
                "no reconciliation check 'nope'",
            )
            found = await client.post("/v1/reconcile", json={"checks": ["order_not_in_erp"], "grace_minutes": 0})
            [report] = found.json()
            assert [f["detail"]["number"] for f in report["findings"]] == [order["name"]]
            assert report["healed"] == []  # an unknown SKU is a person's to fix: no blind replay
            assert world.run(dead.id).state is RunState.DEAD
            world.ns.seed_items([("GHOST-SKU-3", "Ghost", "5.00")])
            done = await client.post("/v1/runs/replay-by-filter", json={"error_contains": "GHOST", "dry_run": False})
            assert done.json()["queued"] == [dead.id]
            await world.settle(2)

    asyncio.run(main())
    assert len(world.sales_orders_for(order)) == 1
    assert ("api", "runs.replay", "runs:1") in audited(world)
