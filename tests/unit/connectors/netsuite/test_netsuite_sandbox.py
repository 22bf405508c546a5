"""The NetSuite sandbox itself: NetSuite-shaped answers, SuiteQL, admin endpoints, fault knobs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tradewire.connectors.base.oauth1 import OAuth1Auth
from tradewire.connectors.base.sandbox import FaultKnobs

MakeApp = Callable[..., Starlette]
BASE = "https://1234567-sb1.suitetalk.api.netsuite.com"
CUSTOMER = {"firstName": "Ann", "lastName": "Lee", "email": "ann@example.com"}


def signed(app: Starlette) -> httpx.AsyncClient:
    auth = OAuth1Auth(consumer_key="ck-test", consumer_secret="cs-test", token="tok-test", token_secret="ts-test",
                      realm="1234567_SB1")  # fmt: skip
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, auth=auth)


def admin(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


def suiteql(app: Starlette, query: str, **params: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with signed(app) as http:
            return await http.post("/services/rest/query/v1/suiteql", json={"q": query}, params=params,
                                   headers={"Prefer": "transient"})  # fmt: skip

    return asyncio.run(go())


def make_order(app: Starlette, http: httpx.AsyncClient, eid: str, number: str, *, post: bool = False) -> Any:
    item = app.state.netsuite.item_ids()["CAP-NAVY"]

    async def go() -> httpx.Response:
        customer = await http.put("/services/rest/record/v1/customer/eid:C1", json=CUSTOMER)
        entity = customer.headers["Location"].rsplit("/", 1)[-1]
        body = {"entity": {"id": entity}, "otherRefNum": number, "item": {"items": [{"item": {"id": item}}]}}
        if post:
            return await http.post("/services/rest/record/v1/salesOrder", json={**body, "externalId": eid})
        return await http.put(f"/services/rest/record/v1/salesOrder/eid:{eid}", json=body)

    return go()


def test_create_answers_204_with_location_and_the_record_reads_back(make_app: MakeApp) -> None:
    app = make_app()

    async def go() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with signed(app) as http:
            created = await http.post("/services/rest/record/v1/customer", json={**CUSTOMER, "externalId": "CID001"})
            by_eid = await http.get("/services/rest/record/v1/customer/eid:CID001")
            duplicate = await http.post("/services/rest/record/v1/customer", json={**CUSTOMER, "externalId": "CID001"})
            return created, by_eid, duplicate

    created, by_eid, duplicate = asyncio.run(go())
    assert created.status_code == 204
    assert created.headers["Location"] == f"{BASE}/services/rest/record/v1/customer/{by_eid.json()['id']}"
    assert by_eid.json()["entityId"] == "Ann Lee"
    assert duplicate.status_code == 400
    assert duplicate.json()["o:errorDetails"][0]["o:errorCode"] == "DUP_RCRD"


def test_bad_json_is_invalid_content(make_app: MakeApp) -> None:
    async def go() -> httpx.Response:
        async with signed(make_app()) as http:
            return await http.put("/services/rest/record/v1/customer/eid:X", content=b"{not json",
                                  headers={"Content-Type": "application/json"})  # fmt: skip

    response = asyncio.run(go())
    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_CONTENT"
    assert response.json()["title"] == "Bad Request"


def test_unsigned_request_gets_netsuites_invalid_login(make_app: MakeApp) -> None:
    async def go() -> httpx.Response:
        async with admin(make_app()) as http:
            return await http.get("/services/rest/record/v1/customer")

    response = asyncio.run(go())
    assert response.status_code == 401
    assert response.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


def test_get_expands_sublists_only_when_asked(make_app: MakeApp) -> None:
    app = make_app()

    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        async with signed(app) as http:
            await make_order(app, http, "SO-1", "#1")
            plain = await http.get("/services/rest/record/v1/salesOrder/eid:SO-1")
            full = await http.get("/services/rest/record/v1/salesOrder/eid:SO-1", params={"expandSubResources": "true"})
            return plain.json(), full.json()

    plain, full = asyncio.run(go())
    assert "items" not in plain["item"]
    assert full["item"]["items"][0]["item"]["refName"] == "CAP-NAVY"
    assert full["item"]["items"][0]["amount"] == 19.5  # no rate sent: the item's base price
    assert full["orderStatus"] == {"id": "B", "refName": "Pending Fulfillment"}


def test_patch_without_replace_appends_lines_like_netsuite(make_app: MakeApp) -> None:
    app = make_app()
    item = app.state.netsuite.item_ids()["SOCKS-3PK"]

    async def go() -> None:
        async with signed(app) as http:
            await make_order(app, http, "SO-1", "#1")
            extra = {"item": {"items": [{"item": {"id": item}, "quantity": 3}]}}
            await http.patch("/services/rest/record/v1/salesOrder/eid:SO-1", json=extra)

    asyncio.run(go())
    record = app.state.netsuite.record("salesOrder", "eid:SO-1")
    assert [line["item"]["refName"] for line in record["item"]["items"]] == ["CAP-NAVY", "SOCKS-3PK"]
    assert record["total"] == 19.5 + 36.0


def test_duplicates_report_and_admin_endpoints(make_app: MakeApp) -> None:
    app = make_app()

    async def go() -> dict[str, Any]:
        async with signed(app) as http:
            await make_order(app, http, "A1", "#1001", post=True)
            await make_order(app, http, "A2", "#1001", post=True)  # the trap: POST with a new externalId
            await make_order(app, http, "A3", "#1002")
        async with admin(app) as http:
            return {
                "dupes": (await http.get("/_sandbox/duplicates")).json(),
                "orders": (await http.get("/_sandbox/sales-orders")).json(),
                "stats": (await http.get("/_sandbox/stats")).json(),
                "items": (await http.post("/_sandbox/items", json={"items": [{"sku": "NEW-1", "title": "New", "price": "5"}]})).json(),
                "knobs": (await http.post("/_sandbox/knobs", json={"fail_rate": 0.5})).json(),
            }  # fmt: skip

    seen = asyncio.run(go())
    assert seen["dupes"] == {"items": [{"otherRefNum": "#1001", "count": 2}], "count": 1}
    assert app.state.netsuite.duplicates() == {"#1001": 2}
    assert [o["otherRefNum"] for o in seen["orders"]["items"]] == ["#1001", "#1001", "#1002"]
    assert seen["orders"]["items"][0]["createdAt"] == app.state.netsuite.created_at("A1")
    assert seen["stats"]["requests"] == 6
    assert "NEW-1" in seen["items"]["items"]
    assert app.state.netsuite.knobs.fail_rate == 0.5

    async def reset() -> None:
        async with admin(app) as http:
            await http.post("/_sandbox/reset")

    asyncio.run(reset())
    assert app.state.netsuite.sales_orders() == []
    assert "CAP-NAVY" in app.state.netsuite.item_ids()


def test_suiteql_runs_common_oracle_sql(make_app: MakeApp) -> None:
    app = make_app()

    async def seed() -> None:
        async with signed(app) as http:
            await make_order(app, http, "SO-1", "#1")
            await make_order(app, http, "SO-2", "#2")

    asyncio.run(seed())
    joined = suiteql(app, "SELECT t.tranid, c.email, BUILTIN.DF(t.status) AS status FROM transaction t "
                          "JOIN customer c ON c.id = t.entity WHERE t.type = 'SalesOrd' ORDER BY t.id")  # fmt: skip
    assert [row["tranid"] for row in joined.json()["items"]] == ["SO1", "SO2"]
    assert joined.json()["items"][0]["email"] == "ann@example.com"
    counted = suiteql(app, "SELECT entity, COUNT(*) AS n FROM transaction GROUP BY entity")
    assert counted.json()["items"][0]["n"] == "2"
    first = suiteql(app, "SELECT NVL(memo, 'none') AS memo FROM transaction ORDER BY id FETCH FIRST 1 ROWS ONLY")
    assert first.json()["items"] == [{"links": [], "memo": "none"}]
    lines = suiteql(
        app, "SELECT tl.item, tl.quantity FROM transactionline tl JOIN transaction t ON t.id = tl.transaction"
    )
    assert lines.json()["totalResults"] == 2


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM item",
        "SELECT 1; DROP TABLE item",
        "SELECT name FROM sqlite_master",
        "SELECT id FROM employee",
        "SELECT id FROM item WHERE ROWNUM <= 2",
        "SELECT id FROM item WHERE itemid = 'unterminated",
    ],
)
def test_suiteql_refuses_what_it_cannot_run_with_a_netsuite_400(make_app: MakeApp, query: str) -> None:
    app = make_app()
    response = suiteql(app, query)
    assert response.status_code == 400
    detail = response.json()["o:errorDetails"][0]
    assert detail["o:errorCode"] == "INVALID_PARAMETER"
    assert detail["detail"].startswith("Invalid search query.")
    assert len(app.state.netsuite.item_ids()) == 5  # nothing was written or dropped


def test_suiteql_paging_envelope(make_app: MakeApp) -> None:
    response = suiteql(make_app(), "SELECT id FROM item ORDER BY id", limit=2, offset=2)
    page = response.json()
    assert (page["count"], page["offset"], page["totalResults"], page["hasMore"]) == (2, 2, 5, True)
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert rels["next"].endswith("/services/rest/query/v1/suiteql?limit=2&offset=4")
    assert rels["prev"].endswith("offset=0")


def test_timeout_can_apply_the_write_before_hanging(make_app: MakeApp) -> None:
    app = make_app(FaultKnobs(timeout_rate=1.0, timeout_seconds=0.0, seed=5), timeout_applied_fraction=1.0)

    async def go() -> httpx.Response:
        async with signed(app) as http:
            return await http.put("/services/rest/record/v1/customer/eid:C9", json=CUSTOMER)

    response = asyncio.run(go())
    assert response.status_code == 504
    assert app.state.netsuite.record("customer", "eid:C9") is not None  # the caller saw a failure anyway
    assert app.state.netsuite.snapshot_stats()["timeouts_applied"] == 1


def test_rate_limit_after_throttles_with_retry_after(make_app: MakeApp) -> None:
    app = make_app(FaultKnobs(rate_limit_after=1, retry_after_seconds=4))

    async def go() -> list[httpx.Response]:
        async with signed(app) as http:
            return [await http.get("/services/rest/record/v1/inventoryItem/500") for _ in range(2)]

    first, second = asyncio.run(go())
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "4"
