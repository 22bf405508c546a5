"""The Loop sandbox as a vendor: list pagination and filters, lifecycle, webhooks and their knobs, admin API."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from loop_helpers import API_KEY, collect_deliveries, connection

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.loop.client_errors import LoopUnavailable
from tradewire.connectors.loop.sandbox_options import SandboxActionError, SandboxOptions
from tradewire.connectors.loop.sandbox_store import SandboxLoop
from tradewire.connectors.loop.webhooks import LoopWebhooks

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "vendor"
MakeApp = Callable[..., Any]
NOW = datetime.now(UTC)


def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://loop.test") as http:
            return await http.request(method, path, **kwargs)

    return asyncio.run(go())


def api(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return call(app, method, f"/api/v1{path}", headers={"X-Authorization": API_KEY}, **kwargs)


def test_paginated_list_hands_out_next_page_urls_with_a_cursor(make_app: MakeApp) -> None:
    app = make_app()
    app.state.loop.create_returns(5)
    first = api(app, "GET", "/warehouse/return/list", params={"paginate": "true", "pageSize": "2"}).json()
    assert [set(first), len(first["returns"]), first["previousPageUrl"]] == [
        {"returns", "nextPageUrl", "previousPageUrl"}, 2, None,
    ]  # fmt: skip
    url = httpx.URL(first["nextPageUrl"])
    assert url.path == "/api/v1/warehouse/return/list"
    assert "cursor" in url.params
    second = api(app, "GET", "/warehouse/return/list", params=dict(url.params)).json()
    assert len(second["returns"]) == 2
    assert second["previousPageUrl"]
    assert not {r["id"] for r in first["returns"]} & {r["id"] for r in second["returns"]}
    bare = api(app, "GET", "/warehouse/return/list").json()
    assert isinstance(bare, list)
    assert len(bare) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "lost"}, "state"),
        ({"filter": "deleted_at"}, "filter"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-02 00:00:00", "to": "2026-11-01 00:00:00"}, "to"),
        ({"paginate": "true", "pageSize": "0"}, "pageSize"),
        ({"paginate": "true", "pageSize": "751"}, "pageSize"),
        ({"paginate": "true", "cursor": "!!!"}, "cursor"),
    ],
)
def test_list_validation_answers_422_like_loop(make_app: MakeApp, params: dict[str, str], field: str) -> None:
    response = api(make_app(), "GET", "/warehouse/return/list", params=params)
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_state_may_be_repeated_or_comma_separated(make_app: MakeApp) -> None:
    app = make_app()
    rs = app.state.loop.create_returns(3)
    app.state.loop.cancel(rs[0]["id"])
    app.state.loop.expire(rs[1]["id"])
    comma = api(app, "GET", "/warehouse/return/list", params={"state": "cancelled,expired"}).json()
    repeated = api(app, "GET", "/warehouse/return/list", params=[("state", "cancelled"), ("state", "expired")]).json()
    assert sorted(r["id"] for r in comma) == sorted(r["id"] for r in repeated) == [rs[0]["id"], rs[1]["id"]]


def test_unauthenticated_calls_get_401_and_never_touch_state(make_app: MakeApp) -> None:
    app = make_app()
    response = call(app, "POST", "/api/v1/warehouse/return/1001/close", headers={"X-Authorization": "nope"})
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    assert app.state.loop.served == 0


def test_429_has_retry_after_and_rate_headers(make_app: MakeApp) -> None:
    app = make_app(FaultKnobs(rate_limit_after=0, retry_after_seconds=3))
    response = api(app, "GET", "/warehouse/return/list")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {"message": "Too Many Attempts."}


def test_timeout_knob_answers_504_after_hanging(make_app: MakeApp, make_client: Callable[..., Any]) -> None:
    app = make_app(FaultKnobs(timeout_rate=1.0, timeout_seconds=0.01))
    assert api(app, "GET", "/warehouse/return/list").status_code == 504

    async def go() -> None:
        async with make_client(app) as client:
            await client.get_return(1)

    with pytest.raises(LoopUnavailable):
        asyncio.run(go())


def test_lifecycle_and_the_webhooks_it_sends(make_app: MakeApp) -> None:
    app = make_app()
    loop = app.state.loop
    for topic in ("return", "label", "restock", "return.processing"):
        loop.subscribe(topic, "https://receiver.test/loop")
    state: dict[str, Any] = {}

    def drive() -> None:
        rid = loop.create_returns(1)[0]["id"]
        loop.create_label(rid)
        loop.update_label(rid, "in_transit")
        loop.update_label(rid, "delivered")
        loop.request_restock(rid)
        loop.process(rid)
        state["rid"] = rid

    sent = collect_deliveries(app, drive)
    hooks = LoopWebhooks()
    events = [hooks.parse(r.content, dict(r.headers), connection(), now=NOW) for r in sent]
    ordered = [e.event_type for e in sorted(events, key=lambda e: e.ordering_seq)]
    assert ordered == [
        "return.created", "return.label_created", "return.label_updated", "return.label_updated",
        "return.restock_requested", "return.closed",
    ]  # fmt: skip
    record = loop.get_return(state["rid"])
    assert record["state"] == "closed"
    assert all(i["returned_at"] for i in record["line_items"])
    assert loop.delivery_log(state["rid"])[0]["state"] == "delivered"
    with pytest.raises(SandboxActionError) as caught:
        loop.cancel(state["rid"])
    assert caught.value.status == 422


def test_processing_failure_arrives_as_the_documented_webhook(make_app: MakeApp) -> None:
    app = make_app()
    loop = app.state.loop
    loop.subscribe("return.processing", "https://receiver.test/loop")
    rid = loop.create_returns(1)[0]["id"]
    loop.fail_processing(rid)
    sent = collect_deliveries(app, lambda: loop.process(rid))
    fixture = json.loads((FIXTURES / "loop_return_processing_failed_webhook_EXAMPLES.json").read_text())
    fixture.pop("_note")
    body = json.loads(sent[0].content)
    assert set(body) == set(fixture)
    assert (body["trigger"], body["return_id"], body["return_state"]) == ("return.processing.failed", rid, "open")
    assert loop.get_return(rid)["state"] == "open"
    loop.process(rid)  # a second try works
    assert loop.get_return(rid)["state"] == "closed"


def test_subscriptions_can_pick_triggers(make_app: MakeApp) -> None:
    app = make_app()
    loop = app.state.loop
    loop.subscribe("return", "https://receiver.test/closed-only", triggers=["return.closed"])
    with pytest.raises(ValueError, match="do not belong"):
        loop.subscribe("return", "https://receiver.test/x", triggers=["label.created"])
    with pytest.raises(ValueError, match="not supported"):
        loop.subscribe("orders", "https://receiver.test/x")

    def drive() -> None:
        rid = loop.create_returns(1)[0]["id"]
        loop.close(rid)

    sent = collect_deliveries(app, drive)
    assert [json.loads(r.content)["trigger"] for r in sent] == ["return.closed"]


def test_duplicate_knob_sends_each_delivery_twice_identically(make_app: MakeApp) -> None:
    app = make_app(FaultKnobs(duplicate_webhook_rate=1.0, seed=2))
    loop = app.state.loop
    loop.subscribe("return", "https://receiver.test/loop")
    sent = collect_deliveries(app, lambda: loop.create_returns(2))
    assert len(sent) == 4
    pairs = {(r.content, r.headers["X-Loop-Signature"]) for r in sent}
    assert len(pairs) == 2


def test_out_of_order_knob_lets_a_later_change_overtake(make_app: MakeApp) -> None:
    app = make_app()
    loop = app.state.loop
    loop.subscribe("return", "https://receiver.test/loop")

    def drive() -> None:
        loop.set_knobs(out_of_order_rate=1.0)
        rid = loop.create_returns(1)[0]["id"]
        loop.set_knobs(out_of_order_rate=0.0)
        loop.update_return(rid, {"note": "customer called"})

    sent = collect_deliveries(app, drive)
    triggers = [json.loads(r.content)["trigger"] for r in sent]
    assert triggers == ["return.updated", "return.created"]
    events = [LoopWebhooks().parse(r.content, {}, connection(), now=NOW) for r in sent]
    assert events[0].ordering_seq > events[1].ordering_seq  # the runtime puts them back in order


def test_state_is_driven_safely_from_other_threads(make_app: MakeApp) -> None:
    loop: SandboxLoop = make_app().state.loop
    threads = [threading.Thread(target=loop.create_returns, args=(25,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = loop.all_returns()
    assert len(records) == 100
    assert len({r["id"] for r in records}) == 100
    line_ids = [i["line_item_id"] for r in records for i in r["line_items"]]
    assert len(line_ids) == len(set(line_ids))


def test_each_edit_gets_its_own_edited_at(make_app: MakeApp) -> None:
    loop: SandboxLoop = make_app().state.loop
    rid = loop.create_returns(1)[0]["id"]
    stamps = [loop.update_return(rid, {"note": str(n)})["edited_at"] for n in range(20)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 20


def test_returns_can_be_drawn_from_given_orders(make_app: MakeApp) -> None:
    order = {
        "id": 820982911946154508, "name": "#9999", "currency": "EUR", "email": "jon@example.com",
        "line_items": [{"id": 466157049, "sku": "IPOD2008GREEN", "title": "IPod Nano - 8gb", "price": "199.00", "quantity": 1}],
    }  # fmt: skip
    record = make_app().state.loop.create_returns(1, orders=[order])[0]
    assert (record["order_name"], record["provider_order_id"], record["currency"]) == (
        "#9999",
        "820982911946154508",
        "EUR",
    )
    assert [(i["sku"], i["provider_line_item_id"]) for i in record["line_items"]] == [("IPOD2008GREEN", "466157049")]
    with pytest.raises(ValueError, match="no returnable"):
        make_app().state.loop.create_returns(1, orders=[{"id": 1, "line_items": []}])


def test_admin_endpoints(make_app: MakeApp) -> None:
    app = make_app()
    created = call(app, "POST", "/_sandbox/returns", json={"count": 2}).json()["returns"]
    rid = created[0]["id"]
    assert call(app, "GET", f"/_sandbox/returns/{rid}").json()["return"]["id"] == rid
    assert (
        call(app, "POST", f"/_sandbox/returns/{rid}/label", json={"carrier": "UPS"}).json()["label"]["carrier"] == "UPS"
    )
    assert call(app, "POST", f"/_sandbox/returns/{rid}/label_status", json={"status": "delivered"}).status_code == 201
    assert (
        call(app, "POST", "/_sandbox/webhooks", json={"topic": "label", "address": "https://r.test/x"}).status_code
        == 201
    )
    assert call(app, "GET", "/_sandbox/webhooks").json()["webhooks"][0]["topic"] == "label"
    assert call(app, "POST", "/_sandbox/knobs", json={"fail_rate": 0.5}).json()["knobs"]["fail_rate"] == 0.5
    assert call(app, "POST", "/_sandbox/knobs", json={"fail_rate": 5}).status_code == 400
    assert call(app, "GET", "/_sandbox/returns/424242").status_code == 404
    assert call(app, "POST", "/_sandbox/returns", json={"count": -1}).status_code == 400
    assert call(app, "GET", "/_sandbox/deliveries").json() == {"deliveries": []}


def test_processing_can_be_asynchronous_like_loops_queue(make_app: MakeApp) -> None:
    app = make_app(options=SandboxOptions(processing_delay_seconds=0.05))
    loop = app.state.loop
    loop.subscribe("return", "https://receiver.test/loop", triggers=["return.closed"])
    state: dict[str, Any] = {}

    def drive() -> None:
        rid = loop.create_returns(1)[0]["id"]
        assert loop.process(rid) == {"message": "Return queued for processing."}
        state["right_after"] = loop.get_return(rid)["state"]
        state["rid"] = rid
        for _ in range(200):
            if loop.get_return(rid)["state"] == "closed":
                break
            threading.Event().wait(0.01)

    sent = collect_deliveries(app, drive)
    assert state["right_after"] == "open"
    assert loop.get_return(state["rid"])["state"] == "closed"
    assert [json.loads(r.content)["trigger"] for r in sent] == ["return.closed"]


def test_returns_can_use_another_catalog(make_app: MakeApp) -> None:
    record = make_app().state.loop.create_returns(1, catalog=[("MUG-01", "Mug", "9.00")])[0]
    assert {i["sku"] for i in record["line_items"]} == {"MUG-01"}
