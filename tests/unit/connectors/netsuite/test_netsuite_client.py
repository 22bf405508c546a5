"""The NetSuite client against the in-process sandbox: what an operator would see go right or wrong."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.netsuite.client import (
    NetSuiteClient,
    check_external_id,
    id_from_location,
    record_ref,
    suiteql_in_list,
    suiteql_literal,
)
from tradewire.connectors.netsuite.settings import NetSuiteSettings
from tradewire.errors import PermanentError, RetryableError, VendorAuthError, VendorRateLimited, VendorRejected

MakeApp = Callable[..., Starlette]
MakeClient = Callable[..., NetSuiteClient]
CUSTOMER = {"firstName": "Ann", "lastName": "Lee", "email": "ann@example.com", "subsidiary": {"id": "1"}}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --- pure helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["CID001", "8c1d2a4e-5b6f-4c7d-8e9f-0a1b2c3d4e5f", "a_b-C"])
def test_external_ids_netsuite_accepts(good: str) -> None:
    assert check_external_id(good) == good


@pytest.mark.parametrize("bad", ["", "#1001", "a b", "a/b", "eid:x", "x' OR '1'='1", "é", "a" * 256])
def test_external_ids_netsuite_refuses_are_permanent_errors(bad: str) -> None:
    with pytest.raises(PermanentError, match="cannot be a NetSuite externalId"):
        check_external_id(bad)


def test_record_refs() -> None:
    assert record_ref("647") == "647"
    assert record_ref("eid:CID002") == "eid:CID002"
    with pytest.raises(PermanentError):
        record_ref("../customer")
    with pytest.raises(PermanentError):
        record_ref("eid:a/b")


def test_suiteql_literal_escapes_quotes_so_injection_stays_a_string() -> None:
    assert suiteql_literal("O'Brien") == "'O''Brien'"
    assert suiteql_literal("x' OR '1'='1") == "'x'' OR ''1''=''1'"
    assert suiteql_in_list(["a", "b'c"]) == "('a', 'b''c')"
    with pytest.raises(PermanentError):
        suiteql_in_list([])
    with pytest.raises(PermanentError):
        suiteql_literal("a\x00b")


def test_location_header_gives_the_trailing_internal_id() -> None:
    assert id_from_location("https://demo123.suitetalk.api.netsuite.com/services/rest/record/v1/customer/647") == "647"
    assert id_from_location("/services/rest/record/v1/customer/eid:X") is None
    assert id_from_location(None) is None


# --- against the sandbox -----------------------------------------------------------------------------


def test_upserting_twice_keeps_one_record_with_the_same_id(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()

    async def scenario() -> tuple[str, str, dict[str, Any]]:
        client = make_client(app)
        first = await client.upsert_customer("CID002", CUSTOMER)
        second = await client.upsert_customer("CID002", {**CUSTOMER, "email": "ann.lee@example.com"})
        record = await client.get_record("customer", "eid:CID002")
        await client.aclose()
        return first, second, record

    first, second, record = run(scenario())
    assert first == second
    assert record["id"] == first
    assert record["email"] == "ann.lee@example.com"
    assert app.state.netsuite.store.count("customer") == 1


def test_sales_order_upsert_twice_replaces_lines_instead_of_doubling_them(
    make_app: MakeApp, make_client: MakeClient
) -> None:
    app = make_app()
    item = app.state.netsuite.item_ids()["CAP-NAVY"]

    async def scenario() -> dict[str, Any]:
        client = make_client(app)
        customer = await client.upsert_customer("C1", CUSTOMER)
        body = {
            "entity": {"id": customer},
            "otherRefNum": "#1",
            "item": {"items": [{"item": {"id": item}, "quantity": 2}]},
        }
        first = await client.upsert_sales_order("SO-1", body)
        second = await client.upsert_sales_order("SO-1", body)
        assert first == second
        order = await client.get_sales_order(first)
        await client.aclose()
        return order.model_dump(by_alias=True)

    order = run(scenario())
    assert len(order["item"]["items"]) == 1
    assert [row.other_ref_num for row in app.state.netsuite.sales_orders()] == ["#1"]


def test_wrong_token_secret_is_an_auth_error(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    client = make_client(app, secrets={"token_secret": "not-the-secret"})
    with pytest.raises(VendorAuthError) as info:
        run(client.get_record("customer", "1"))
    assert "INVALID_LOGIN" in str(info.value)
    assert app.state.netsuite.snapshot_stats()["auth_failures"] == 1


def test_wrong_account_realm_is_an_auth_error(make_app: MakeApp, make_client: MakeClient) -> None:
    other = NetSuiteSettings(
        account_id="7654321", subsidiary_id="1", base_url="https://1234567-sb1.suitetalk.api.netsuite.com"
    )
    with pytest.raises(VendorAuthError):
        run(make_client(make_app(), settings_=other).get_record("customer", "1"))


def test_replayed_nonce_is_refused(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    client = make_client(app, nonce=lambda: "always-the-same", clock=lambda: int(time.time()))

    async def scenario() -> None:
        await client.upsert_customer("C1", CUSTOMER)
        await client.get_record("customer", "eid:C1")

    with pytest.raises(VendorAuthError):
        run(scenario())
    assert app.state.netsuite.store.count("customer") == 1


def test_more_requests_in_flight_than_the_account_allows_are_throttled(
    make_app: MakeApp, make_client: MakeClient
) -> None:
    app = make_app(FaultKnobs(latency_ms=50, retry_after_seconds=3), concurrency_limit=2)
    greedy = NetSuiteSettings(account_id="1234567_SB1", subsidiary_id="1", max_concurrency=6)

    async def scenario() -> list[BaseException | dict[str, Any]]:
        client = make_client(app, settings_=greedy)
        calls = [client.get_record("inventoryItem", "500") for _ in range(6)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        await client.aclose()
        return results

    results = run(scenario())
    throttled = [r for r in results if isinstance(r, VendorRateLimited)]
    assert throttled, "6 concurrent requests against a limit of 2 must be throttled"
    assert all(isinstance(r, RetryableError) and r.retry_after == 3.0 for r in throttled)
    assert "concurrent" in str(throttled[0])
    assert app.state.netsuite.snapshot_stats()["concurrency_rejections"] == len(throttled)


def test_the_client_semaphore_keeps_requests_within_max_concurrency(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app(FaultKnobs(latency_ms=30), concurrency_limit=2)
    polite = NetSuiteSettings(account_id="1234567_SB1", subsidiary_id="1", max_concurrency=2)

    async def scenario() -> None:
        client = make_client(app, settings_=polite)
        await asyncio.gather(*(client.get_record("inventoryItem", "500") for _ in range(8)))
        await client.aclose()

    run(scenario())
    stats = app.state.netsuite.snapshot_stats()
    assert stats["concurrency_rejections"] == 0
    assert stats["max_in_flight"] == 2


def test_unknown_item_is_a_permanent_error_with_netsuites_message(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()

    async def scenario() -> None:
        client = make_client(app)
        customer = await client.upsert_customer("C1", CUSTOMER)
        await client.upsert_sales_order(
            "SO-1", {"entity": {"id": customer}, "item": {"items": [{"item": {"id": "999"}}]}}
        )

    with pytest.raises(VendorRejected) as info:
        run(scenario())
    assert not isinstance(info.value, RetryableError)
    assert str(info.value) == (
        "NetSuite rejected salesOrder eid:SO-1: Invalid Field Value 999 for the following field: item "
        "(INVALID_KEY_OR_REF at item)"
    )
    assert app.state.netsuite.sales_orders() == []


def test_sales_order_without_entity_reads_like_netsuite(make_app: MakeApp, make_client: MakeClient) -> None:
    with pytest.raises(VendorRejected) as info:
        run(make_client(make_app()).upsert_sales_order("X", {"item": {"items": []}}))
    assert str(info.value) == (
        "NetSuite rejected salesOrder eid:X: Please enter a value for [entity] (FIELD_PARAM_REQD at entity)"
    )


def test_invalid_external_id_never_reaches_netsuite(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    with pytest.raises(PermanentError, match="cannot be a NetSuite externalId"):
        run(make_client(app).upsert_customer("#1001", CUSTOMER))
    assert app.state.netsuite.snapshot_stats()["requests"] == 0


def test_suiteql_pages_to_the_end_in_order(make_app: MakeApp, make_client: MakeClient) -> None:
    items = [(f"SKU-{n:02d}", f"Item {n}", "1.00") for n in range(23)]
    app = make_app(items=items)

    async def scenario() -> list[dict[str, Any]]:
        client = make_client(app)
        rows = [row async for row in client.suiteql("SELECT id, itemid FROM item ORDER BY id", limit=5)]
        await client.aclose()
        return rows

    rows = run(scenario())
    assert [row["itemid"] for row in rows] == [sku for sku, _, _ in items]
    assert app.state.netsuite.snapshot_stats()["served"] == 5  # 5 + 5 + 5 + 5 + 3


def test_collection_paging_with_a_filter(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()

    async def scenario() -> tuple[list[str], list[str]]:
        client = make_client(app)
        for n in range(5):
            email = f"a{n}@example.com" if n % 2 == 0 else f"b{n}@example.com"
            await client.upsert_customer(f"C{n}", {**CUSTOMER, "email": email})
        every = [i async for i in client.list_records("customer", limit=2)]
        only_a = [i async for i in client.list_records("customer", q='email START_WITH "a"', limit=2)]
        await client.aclose()
        return every, only_a

    every, only_a = run(scenario())
    assert len(every) == len(set(every)) == 5
    assert len(only_a) == 3


def test_malicious_sku_matches_nothing(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()

    async def scenario() -> list[dict[str, Any]]:
        client = make_client(app)
        evil = suiteql_in_list(["x' OR '1'='1"])
        query = f"SELECT id, itemid FROM item WHERE itemid IN {evil}"
        return [row async for row in client.suiteql(query)]

    assert run(scenario()) == []


def test_invalid_suiteql_is_permanent_with_the_reason(make_app: MakeApp, make_client: MakeClient) -> None:
    async def scenario() -> None:
        async for _ in make_client(make_app()).suiteql("SELECT id FROM employee"):
            pass

    with pytest.raises(VendorRejected, match=r"Invalid search query.*INVALID_PARAMETER"):
        run(scenario())


def test_5xx_and_timeouts_are_retryable(make_app: MakeApp, make_client: MakeClient) -> None:
    with pytest.raises(RetryableError, match="NetSuite failed customer 1"):
        run(make_client(make_app(FaultKnobs(fail_rate=1.0, seed=3))).get_record("customer", "1"))
    app = make_app(FaultKnobs(timeout_rate=1.0, timeout_seconds=0.01, seed=3))
    with pytest.raises(RetryableError, match="504"):
        run(make_client(app).get_record("customer", "1"))
