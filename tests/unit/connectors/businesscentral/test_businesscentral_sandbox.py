"""The Business Central sandbox itself: posting, credit memos, ledger entries, OData errors, admin API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from bc_helpers import COMPANY, CREDS, CUSTOMER, TENANT, make_app, order, sink_for

API = f"http://bc.test/v2.0/{TENANT}/production/api/v2.0"
CO = f"{API}/companies({COMPANY})"


async def _token(http: httpx.AsyncClient) -> dict[str, str]:
    form = {**CREDS, "grant_type": "client_credentials", "scope": "https://api.businesscentral.dynamics.com/.default"}
    answer = await http.post(f"http://bc.test/{TENANT}/oauth2/v2.0/token", data=form)
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "Bearer"
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _raw(app: Any, script: Any) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            return await script(http, await _token(http))

    return asyncio.run(go())


def _export(app: Any) -> str:
    async def go() -> str:
        sink = sink_for(app)
        try:
            customer = await sink.upsert_customer(CUSTOMER)
            items = await sink.resolve_items(["cap-navy"])
            return await sink.upsert_sales_order(order(quantity=3), customer_ref=customer, item_refs=items)
        finally:
            await sink.aclose()

    return asyncio.run(go())


def test_ship_and_invoice_posts_shipment_invoice_and_ledger_entries() -> None:
    app = make_app()
    ref = _export(app)
    before = {r["number"]: r["inventory"] for r in app.state.businesscentral.company.rows("items")}["CAP-NAVY"]

    async def script(http: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
        posted = await http.post(f"{CO}/salesOrders({ref})/Microsoft.NAV.shipAndInvoice", headers=auth)
        assert posted.status_code == 204
        gone = await http.get(f"{CO}/salesOrders({ref})", headers=auth)
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "BadRequest_NotFound"
        out = {}
        for name in ("salesShipments", "salesInvoices", "itemLedgerEntries"):
            out[name] = (await http.get(f"{CO}/{name}", headers=auth)).json()["value"]
        return out

    seen = _raw(app, script)
    [shipment], [invoice], [entry] = seen["salesShipments"], seen["salesInvoices"], seen["itemLedgerEntries"]
    assert shipment["externalDocumentNumber"] == invoice["externalDocumentNumber"]
    assert invoice["totalAmountIncludingTax"] == 58.5
    assert (entry["entryType"], entry["quantity"], entry["itemNumber"]) == ("Sale", -3, "CAP-NAVY")
    after = {r["number"]: r["inventory"] for r in app.state.businesscentral.company.rows("items")}["CAP-NAVY"]
    assert after == before - 3
    assert [row.status for row in app.state.businesscentral.sales_orders()] == ["Posted"]


def test_credit_memo_deep_insert_and_line_rules() -> None:
    app = make_app()
    _export(app)
    customer = app.state.businesscentral.company.rows("customers")[0]

    async def script(http: httpx.AsyncClient, auth: dict[str, str]) -> tuple[int, dict[str, Any], int]:
        body = {"customerNumber": customer["number"], "creditMemoDate": "2026-05-06",
                "salesCreditMemoLines": [{"lineType": "Item", "lineObjectNumber": "CAP-NAVY", "quantity": 1}]}  # fmt: skip
        created = await http.post(f"{CO}/salesCreditMemos?$expand=salesCreditMemoLines", headers=auth, json=body)
        bad = await http.post(f"{CO}/salesCreditMemos", headers=auth, json={"customerNumber": "NOBODY"})
        return created.status_code, created.json(), bad.status_code

    status, memo, bad = _raw(app, script)
    assert status == 201
    assert memo["salesCreditMemoLines"][0]["amountExcludingTax"] == 19.5
    assert memo["customerNumber"] == customer["number"]
    assert bad == 400


def test_odata_errors_have_the_vendor_shape() -> None:
    app = make_app()

    async def script(http: httpx.AsyncClient, auth: dict[str, str]) -> list[httpx.Response]:
        return [
            await http.get(f"{CO}/items"),
            await http.get(f"{CO}/items", params={"$filter": "number eq"}, headers=auth),
            await http.get(f"{CO}/items", params={"$expand": "salesOrderLines"}, headers=auth),
            await http.get(f"{API}/companies(00000000-0000-0000-0000-000000000001)/items", headers=auth),
            await http.post(f"{CO}/customers", content=b"{not json", headers=auth),
        ]

    unauth, bad_filter, bad_expand, no_company, bad_json = _raw(app, script)
    assert unauth.status_code == 401
    assert unauth.json()["error"]["code"] == "Authentication_InvalidCredentials"
    assert "Bearer" in unauth.headers["WWW-Authenticate"]
    for answer in (bad_filter, bad_expand, bad_json):
        assert answer.status_code == 400
        assert set(answer.json()["error"]) == {"code", "message"}
    assert no_company.status_code == 404


def test_admin_endpoints_drive_the_sandbox() -> None:
    app = make_app()
    ref = _export(app)

    async def script(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
        listed = (await http.get("http://bc.test/_sandbox/sales-orders")).json()
        assert [row["id"] for row in listed["items"]] == [ref]
        assert listed["duplicates"] == {}
        shipped = await http.post(f"http://bc.test/_sandbox/sales-orders/{ref}/ship")
        assert set(shipped.json()) == {"shipmentId", "invoiceId"}
        knobs = await http.post("http://bc.test/_sandbox/knobs", json={"fail_rate": 1.0})
        assert knobs.json()["fail_rate"] == 1.0
        assert (await http.get(f"{CO}/items", headers=auth)).status_code in (500, 503)
        seeded = await http.post("http://bc.test/_sandbox/items", json={"items": [{"sku": "NEW-1", "price": "3"}]})
        assert "NEW-1" in seeded.json()["items"]
        await http.post("http://bc.test/_sandbox/reset")
        assert (await http.get("http://bc.test/_sandbox/sales-orders")).json()["items"] == []

    _raw(app, script)
