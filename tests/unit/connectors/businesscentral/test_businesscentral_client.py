"""The Business Central client against the sandbox: tokens, paging, errors, etags, $batch, limits."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from bc_helpers import CREDS, client_for, make_app, settings

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.businesscentral.client import (
    THROTTLE_BACKOFF_SECONDS,
    BatchOperation,
    BusinessCentralAuthError,
    BusinessCentralClient,
    BusinessCentralEntityChanged,
    BusinessCentralRateLimited,
    BusinessCentralRejected,
    BusinessCentralUnavailable,
    odata_in,
    odata_literal,
)
from tradewire.connectors.businesscentral.settings import BusinessCentralSecrets
from tradewire.errors import AuthError, PermanentError, RetryableError


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_token_is_fetched_once_and_shared() -> None:
    app = make_app()
    client = client_for(app)

    async def go() -> None:
        try:
            await asyncio.gather(*(client.companies() for _ in range(6)))
        finally:
            await client.aclose()

    run(go())
    assert client.tokens.fetches == 1
    assert app.state.businesscentral.snapshot_stats()["tokens_issued"] == 1


def test_bad_secret_is_an_auth_error_without_the_secret_in_it() -> None:
    client = client_for(make_app(), secrets={"client_secret": "wrong-secret-value"})

    async def go() -> None:
        try:
            await client.companies()
        finally:
            await client.aclose()

    with pytest.raises(AuthError) as caught:
        run(go())
    assert "invalid_client" in str(caught.value)
    assert "wrong-secret-value" not in str(caught.value)
    assert "wrong-secret-value" not in repr(BusinessCentralSecrets.model_validate(CREDS))


def test_401_mid_run_refreshes_the_token_once() -> None:
    app = make_app()
    client = client_for(app)

    async def go() -> None:
        try:
            await client.companies()
            app.state.businesscentral.tokens.clear()  # BC revoked it
            await client.companies()
        finally:
            await client.aclose()

    run(go())
    assert client.tokens.fetches == 2


def test_401_after_refresh_is_an_auth_error() -> None:
    client = client_for(make_app(token_lifetime_seconds=0))  # every token is dead on arrival

    async def go() -> None:
        try:
            await client.companies()
        finally:
            await client.aclose()

    with pytest.raises(BusinessCentralAuthError, match="Authentication_InvalidCredentials"):
        run(go())
    assert client.tokens.fetches == 2


def test_paging_follows_next_link_to_the_end() -> None:
    app = make_app()
    client = client_for(app, page_size=2)

    async def go() -> tuple[list[int], list[str]]:
        try:
            for n in range(7):
                await client.create_customer({"displayName": f"Customer {n}", "number": f"C{n}"})
            sizes = [len(page) async for page in client.pages(client.company("customers"), what="customers")]
            rows = await client.list_all(client.company("customers"), what="customers")
            return sizes, [r["number"] for r in rows]
        finally:
            await client.aclose()

    sizes, numbers = run(go())
    assert sizes == [2, 2, 2, 1]
    assert numbers == [f"C{n}" for n in range(7)]


def _fake(handler: Any) -> BusinessCentralClient:
    async def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return handler(request)  # type: ignore[no-any-return]

    creds = BusinessCentralSecrets.model_validate(CREDS)
    return BusinessCentralClient(settings(), creds, transport=httpx.MockTransport(route))


def test_next_link_to_another_host_is_not_followed() -> None:
    client = _fake(lambda r: httpx.Response(200, json={"value": [], "@odata.nextLink": "https://evil.example/x"}))

    async def go() -> None:
        try:
            await client.list_all("/companies", what="companies")
        finally:
            await client.aclose()

    with pytest.raises(BusinessCentralUnavailable, match="outside"):
        run(go())


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html"),
        (b'{"value": [{"id": "1", "na', "application/json"),
        (b"", "application/json"),
    ],
)
def test_garbage_truncated_and_html_bodies_are_retryable(body: bytes, content_type: str) -> None:
    client = _fake(lambda r: httpx.Response(200, content=body, headers={"Content-Type": content_type}))

    async def go() -> None:
        try:
            await client.companies()
        finally:
            await client.aclose()

    with pytest.raises(BusinessCentralUnavailable):
        run(go())


def test_sandbox_garbage_knob_is_retryable() -> None:
    client = client_for(make_app(garbage_rate=1.0))

    async def go() -> None:
        try:
            await client.companies()
        finally:
            await client.aclose()

    with pytest.raises(RetryableError):
        run(go())


def test_odata_error_is_described_and_permanent() -> None:
    client = client_for(make_app())

    async def go() -> None:
        try:
            await client.create_sales_order({"customerNumber": "NOPE"})
        finally:
            await client.aclose()

    with pytest.raises(BusinessCentralRejected) as caught:
        run(go())
    assert isinstance(caught.value, PermanentError)
    assert not isinstance(caught.value, RetryableError)
    assert caught.value.code == "Internal_RecordNotFound"
    assert "The Customer does not exist" in str(caught.value)


def test_window_429_without_retry_after_backs_off() -> None:
    client = client_for(make_app(rate_limit_requests=1))

    async def go() -> None:
        try:
            await client.companies()
            await client.companies()
        finally:
            await client.aclose()

    with pytest.raises(BusinessCentralRateLimited) as caught:
        run(go())
    assert caught.value.retry_after == THROTTLE_BACKOFF_SECONDS


def test_concurrency_is_capped_per_process_so_the_queue_never_overflows() -> None:
    app = make_app(FaultKnobs(latency_ms=20), queue_size=0)
    client = client_for(app)

    async def go() -> None:
        try:
            await asyncio.gather(*(client.companies() for _ in range(20)))
        finally:
            await client.aclose()

    run(go())
    stats = app.state.businesscentral.snapshot_stats()
    assert stats["concurrency_rejections"] == 0
    assert stats["max_running"] <= 5


def test_sandbox_queue_overflow_is_429() -> None:
    app = make_app(FaultKnobs(latency_ms=30), queue_size=0, concurrency_limit=1)
    client = client_for(app, max_concurrency=10)

    async def go() -> None:
        try:
            await asyncio.gather(*(client.companies() for _ in range(6)))
        finally:
            await client.aclose()

    with pytest.raises(BusinessCentralRateLimited):
        run(go())


def test_stale_etag_is_reread_and_retried_once() -> None:
    app = make_app()
    client = client_for(app)

    async def go() -> dict[str, Any]:
        try:
            customer = await client.create_customer({"displayName": "Ann", "number": "C1"})
            order = await client.create_sales_order({"customerId": customer.id})
            path = client.company(f"salesOrders({order.id})")
            await client.patch(path, {"email": "a@x.com"}, etag=order.etag or "", what="order")
            with pytest.raises(BusinessCentralEntityChanged):
                await client.patch(path, {"email": "b@x.com"}, etag=order.etag or "", what="order")
            return await client.patch_fresh(path, {"email": "c@x.com"}, etag=order.etag or "", what="order")
        finally:
            await client.aclose()

    assert run(go())["email"] == "c@x.com"


def test_atomic_batch_rolls_back_when_one_operation_fails() -> None:
    app = make_app()
    client = client_for(app)

    async def go() -> None:
        try:
            customer = await client.create_customer({"displayName": "Ann", "number": "C1"})
            order = await client.create_sales_order({"customerId": customer.id})
            lines = client.company(f"salesOrders({order.id})/salesOrderLines").lstrip("/")
            ok = [
                BatchOperation("POST", lines, body={"lineType": "Item", "lineObjectNumber": "CAP-NAVY", "quantity": 1})
            ]
            results = await client.batch(ok)
            assert results[0].status == 201
            bad = [*ok, BatchOperation("POST", lines, body={"lineType": "Item", "lineObjectNumber": "NOPE"})]
            with pytest.raises(BusinessCentralRejected, match="Item does not exist"):
                await client.batch(bad)
        finally:
            await client.aclose()

    run(go())
    order = app.state.businesscentral.company.rows("salesOrders")[0]
    assert len(order["_lines"]) == 1


def test_odata_literals_escape_quotes() -> None:
    assert odata_literal("O'Neil") == "'O''Neil'"
    assert odata_in("number", ["A", "B'C"]) == "number in ('A','B''C')"
    with pytest.raises(PermanentError):
        odata_in("number", [])


def test_refused_app_credentials_are_not_retried() -> None:
    app = make_app()
    client = client_for(app, secrets={"client_secret": "nope"})

    async def go() -> None:
        try:
            await client.companies()
        finally:
            await client.aclose()

    with pytest.raises(BusinessCentralAuthError):
        run(go())
    assert app.state.businesscentral.snapshot_stats()["auth_failures"] == 1


@pytest.mark.parametrize(("status", "stale"), [(412, True), (409, True), (400, False)])
def test_a_status_without_odata_code_decides_about_stale_etags(status: int, stale: bool) -> None:
    client = _fake(lambda r: httpx.Response(status, text="<html>conflict</html>"))

    async def go() -> None:
        try:
            await client.patch("/companies(x)/salesOrders(y)", {"email": "a"}, etag="W/1", what="order")
        finally:
            await client.aclose()

    with pytest.raises(BusinessCentralRejected) as caught:
        run(go())
    assert isinstance(caught.value, BusinessCentralEntityChanged) is stale


def test_a_collection_notification_is_requeried_with_its_filter() -> None:
    app = make_app()
    client = client_for(app)

    async def go() -> tuple[int, int]:
        try:
            for n in range(3):
                await client.create_customer({"displayName": f"C{n}"})
            everything = await client.requery_collection(
                "customers?$filter=lastModifiedDateTime gt 2000-01-01T00:00:00Z"
            )
            nothing = await client.requery_collection("customers?$filter=lastModifiedDateTime gt 2999-01-01T00:00:00Z")
            with pytest.raises(PermanentError):
                await client.requery_collection("../evil?$filter=x")
            return len(everything), len(nothing)
        finally:
            await client.aclose()

    assert run(go()) == (3, 0)
