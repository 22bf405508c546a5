"""Vendor calls are captured per step: method, host, path, status, duration; never the query or bodies."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tradewire.connectors.base.calls import MAX_CALLS_PER_STEP, capture_calls
from tradewire.connectors.base.http import VendorHttp
from tradewire.errors import VendorRejected, VendorRetryable


def vendor(handler: httpx.MockTransport) -> VendorHttp:
    return VendorHttp(system="acme", base_url="https://api.acme.test/v1/", transport=handler)


def test_calls_are_noted_without_query_or_body() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404 if request.url.path.endswith("missing") else 200, json={"token": "s3cr3t"})

    async def main() -> list[dict[str, object]]:
        http = vendor(httpx.MockTransport(answer))
        with capture_calls() as calls:
            await http.request("POST", "orders", json={"card": "4111"}, params={"signature": "abc"})
            with pytest.raises(VendorRejected):
                await http.request("GET", "orders/missing")
        await http.request("GET", "outside")  # no capture: nothing noted, nothing fails
        await http.aclose()
        return calls

    calls = asyncio.run(main())
    assert [(c["method"], c["host"], c["path"], c["status"]) for c in calls] == [
        ("POST", "api.acme.test", "/v1/orders", 200),
        ("GET", "api.acme.test", "/v1/orders/missing", 404),
    ]
    text = repr(calls)
    assert "abc" not in text
    assert "4111" not in text
    assert "s3cr3t" not in text
    assert all(isinstance(c["ms"], float) for c in calls)


def test_transport_failures_are_noted_and_a_long_step_is_capped() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async def main() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        failing = vendor(httpx.MockTransport(down))
        with capture_calls() as failed, pytest.raises(VendorRetryable):
            await failing.request("GET", "ping")
        ok = vendor(httpx.MockTransport(lambda r: httpx.Response(200)))
        with capture_calls() as many:
            for _ in range(MAX_CALLS_PER_STEP + 5):
                await ok.request("GET", "page")
        await failing.aclose()
        await ok.aclose()
        return failed, many

    failed, many = asyncio.run(main())
    assert failed[0]["status"] is None
    assert failed[0]["error"] == "ConnectError"
    assert len(many) == MAX_CALLS_PER_STEP
    assert many[-1]["more"] == 5
