"""The Loop client against the sandbox and against hand-made answers: reads, actions, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from loop_helpers import API_KEY

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.loop.client import LoopClient
from tradewire.connectors.loop.client_errors import (
    LoopAuthError,
    LoopNotFound,
    LoopRateLimited,
    LoopRejected,
    LoopUnavailable,
    LoopUnprocessable,
)
from tradewire.connectors.loop.sandbox_options import SandboxOptions
from tradewire.connectors.loop.settings import LoopSecrets, LoopSettings
from tradewire.errors import AuthError, PermanentError, RetryableError

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "vendor"
NOW = datetime.now(UTC)
MakeApp = Callable[..., Any]
MakeClient = Callable[..., LoopClient]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _use(client: LoopClient, call: Callable[[LoopClient], Any]) -> Any:
    async with client:
        return await call(client)


def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(minutes=1)


async def _all_ids(client: LoopClient, **kwargs: Any) -> list[str]:
    start, end = window()
    return [r.id async for r in client.list_returns(start, end, **kwargs)]


def test_list_follows_next_page_urls_to_the_end(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    seeded = {str(r["id"]) for r in app.state.loop.create_returns(7)}
    ids = run(_use(make_client(app, page_size=3), _all_ids))
    assert sorted(ids) == sorted(seeded)
    assert len(ids) == 7


def test_list_filters_by_state_and_date_field(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    loop = app.state.loop
    rs = loop.create_returns(4)
    loop.cancel(rs[0]["id"])
    loop.process(rs[1]["id"])
    default = run(_use(make_client(app), _all_ids))
    assert str(rs[0]["id"]) not in default  # Loop's default leaves cancelled returns out
    everything = run(_use(make_client(app), lambda c: _all_ids(c, states=["open", "closed", "cancelled"])))
    assert len(everything) == 4
    closed = run(_use(make_client(app), lambda c: _all_ids(c, states=["closed"], filter_on="updated_at")))
    assert closed == [str(rs[1]["id"])]


def test_list_range_is_checked_before_calling(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()

    async def too_long(client: LoopClient) -> Any:
        return [r async for r in client.list_returns(NOW - timedelta(days=121), NOW)]

    with pytest.raises(PermanentError, match="at most 120 days"):
        run(_use(make_client(app), too_long))
    assert app.state.loop.served == 0


def test_sandbox_refuses_a_long_range_with_loops_validation_body(make_app: MakeApp) -> None:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(make_app()), base_url="http://loop.test") as http:
            return await http.get(
                "/api/v1/warehouse/return/list",
                params={"from": "2026-01-01 00:00:00", "to": "2026-06-01 00:00:00"},
                headers={"X-Authorization": API_KEY},
            )

    response = run(go())
    assert response.status_code == 422
    assert response.json()["errors"]["to"] == ["The range between from and to may not exceed 120 days."]


def test_details_reads_one_return_and_404_is_not_found(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    created = app.state.loop.create_returns(1)[0]
    got = run(_use(make_client(app), lambda c: c.get_return(created["id"])))
    assert got.id == str(created["id"])
    assert got.line_items
    with pytest.raises(LoopNotFound) as caught:
        run(_use(make_client(app), lambda c: c.get_return(999999)))
    assert not isinstance(caught.value, RetryableError)


@pytest.mark.parametrize("bad", ["", "1/../2", "1 2", "x" * 65, True])
def test_bad_return_ids_never_reach_loop(make_app: MakeApp, make_client: MakeClient, bad: Any) -> None:
    app = make_app()
    with pytest.raises(PermanentError):
        run(_use(make_client(app), lambda c: c.get_return(bad)))
    assert app.state.loop.served == 0


def test_process_flagged_return_is_permanent_and_readable(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    loop = app.state.loop
    rid = loop.create_returns(1)[0]["id"]
    loop.flag(rid)
    with pytest.raises(LoopUnprocessable) as caught:
        run(_use(make_client(app), lambda c: c.process_return(rid)))
    error = caught.value
    assert isinstance(error, PermanentError)
    assert not isinstance(error, RetryableError)
    assert error.code == "UNPROCESSABLE_FLAGGED_RETURN"
    assert "Return is open and therefore cannot be processed." in str(error)
    assert loop.get_return(rid)["state"] == "open"


def test_fixture_error_body_is_unprocessable_at_any_4xx_or_in_a_200() -> None:
    body = (FIXTURES / "loop_process_return_error.json").read_bytes()
    for status in (400, 422, 200):
        transport = httpx.MockTransport(lambda request, status=status: httpx.Response(status, content=body))
        client = LoopClient(
            LoopSettings(base_url="http://x/api/v1"), LoopSecrets(api_key="k", webhook_secret="s"), transport=transport
        )
        with pytest.raises(LoopUnprocessable, match="UNPROCESSABLE_FLAGGED_RETURN"):
            run(_use(client, lambda c: c.process_return(1673)))


def test_actions_change_state_and_process_details_reach_loop(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    loop = app.state.loop
    rs = loop.create_returns(4)
    client = make_client(app)

    async def go() -> None:
        async with client:
            assert await client.process_return(rs[0]["id"], {"note": "processed by Tradewire"})
            await client.close_return(rs[1]["id"])
            await client.cancel_return(rs[2]["id"])
            await client.flag_return(rs[3]["id"])
            keep = loop.get_return(rs[3]["id"])["line_items"]
            if len(keep) > 1:
                await client.remove_line_item(rs[3]["id"], keep[0]["line_item_id"])
            with pytest.raises(LoopRejected, match="closed and therefore cannot be closed"):
                await client.close_return(rs[1]["id"])

    run(go())
    assert [loop.get_return(r["id"])["state"] for r in rs] == ["closed", "closed", "cancelled", "open"]
    assert loop.processed[rs[0]["id"]] == {"note": "processed by Tradewire"}
    assert rs[3]["id"] in loop.flagged


def test_removing_the_last_line_item_is_refused(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    loop = app.state.loop
    record = loop.create_returns(1)[0]
    items = record["line_items"]

    async def go(client: LoopClient) -> None:
        for item in items[:-1]:
            await client.remove_line_item(record["id"], item["line_item_id"])
        await client.remove_line_item(record["id"], items[-1]["line_item_id"])

    with pytest.raises(LoopRejected, match="at least one line item"):
        run(_use(make_client(app), go))
    assert len(loop.get_return(record["id"])["line_items"]) == 1


@pytest.mark.parametrize("key", ["wrong-key", "orders-only"])
def test_bad_key_or_wrong_scope_is_an_auth_error(make_app: MakeApp, make_client: MakeClient, key: str) -> None:
    app = make_app()
    app.state.loop.add_api_key("orders-only", ["orders"])
    with pytest.raises(LoopAuthError) as caught:
        run(_use(make_client(app, api_key=key), lambda c: c.get_return(1)))
    assert isinstance(caught.value, AuthError)
    assert "Returns" in str(caught.value)
    assert key not in str(caught.value)
    assert API_KEY not in str(caught.value)


def test_401_mid_run_stops_with_an_auth_error(make_app: MakeApp, make_client: MakeClient) -> None:
    """An API key has nothing to refresh: the first 401 pauses the connection, after earlier calls succeeded."""
    app = make_app()
    loop = app.state.loop
    rid = loop.create_returns(1)[0]["id"]

    async def go(client: LoopClient) -> None:
        await client.get_return(rid)
        loop.keys.pop(API_KEY)  # the merchant revokes the key
        await client.get_return(rid)

    with pytest.raises(LoopAuthError):
        run(_use(make_client(app), go))


def test_429_carries_retry_after(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app(FaultKnobs(rate_limit_after=1, retry_after_seconds=7))
    rid = app.state.loop.create_returns(1)[0]["id"]

    async def go(client: LoopClient) -> None:
        await client.get_return(rid)
        await client.get_return(rid)

    with pytest.raises(LoopRateLimited) as caught:
        run(_use(make_client(app), go))
    assert caught.value.retry_after == 7.0


def test_429_without_retry_after_leaves_backoff_to_the_retry_policy(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app(FaultKnobs(rate_limit_rate=1.0), options=SandboxOptions(send_retry_after=False))
    with pytest.raises(LoopRateLimited) as caught:
        run(_use(make_client(app), lambda c: c.get_return(1)))
    assert caught.value.retry_after is None


def test_per_key_bucket_throttles_a_burst(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app(options=SandboxOptions(rate_per_second=0.5, rate_burst=3))
    rid = app.state.loop.create_returns(1)[0]["id"]

    async def go(client: LoopClient) -> None:
        for _ in range(5):
            await client.get_return(rid)

    with pytest.raises(LoopRateLimited) as caught:
        run(_use(make_client(app), go))
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 1


def test_rate_headers_are_fed_to_the_budget(make_app: MakeApp, make_client: MakeClient) -> None:
    class Budget:
        def __init__(self) -> None:
            self.acquired: list[str] = []
            self.seen: list[tuple[str, float | None, float | None]] = []

        async def acquire(self, scope: str, cost: float = 1.0) -> None:
            self.acquired.append(scope)

        def observe(self, scope: str, *, remaining: float | None, capacity: float | None, refill: float | None) -> None:
            self.seen.append((scope, remaining, capacity))

    app = make_app(options=SandboxOptions(rate_burst=20))
    rid = app.state.loop.create_returns(1)[0]["id"]
    budget = Budget()
    run(_use(make_client(app, budget=budget), lambda c: c.get_return(rid)))
    assert budget.acquired == ["api"]
    assert budget.seen == [("api", 19.0, 20.0)]


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_retryable(status: int) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, text="<html>oops</html>"))
    client = LoopClient(LoopSettings(), LoopSecrets(api_key="k", webhook_secret="s"), transport=transport)
    with pytest.raises(LoopUnavailable):
        run(_use(client, lambda c: c.get_return(1)))


@pytest.mark.parametrize(
    "body",
    [b"<!DOCTYPE html><html><body>Bad gateway</body></html>", b'{"id": 10, "line_items": [', b"", b"\xff\xfe garbage"],
)
def test_garbage_truncated_and_html_200s_are_retryable(body: bytes) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    client = LoopClient(LoopSettings(), LoopSecrets(api_key="k", webhook_secret="s"), transport=transport)
    with pytest.raises(LoopUnavailable) as caught:
        run(_use(client, lambda c: c.get_return(1)))
    assert "not JSON" in str(caught.value) or "HTML" in str(caught.value)


def test_sandbox_garbage_rate_gives_retryable_errors(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app(options=SandboxOptions(garbage_rate=1.0))
    for _ in range(3):
        with pytest.raises(LoopUnavailable):
            run(_use(make_client(app), _all_ids))


def test_timeouts_and_unreachable_hosts_are_retryable() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client = LoopClient(
        LoopSettings(), LoopSecrets(api_key="k", webhook_secret="s"), transport=httpx.MockTransport(hang)
    )
    with pytest.raises(LoopUnavailable, match="timed out"):
        run(_use(client, lambda c: c.get_return(1)))


def test_validation_error_bodies_are_readable_and_permanent() -> None:
    body = {
        "message": "The given data was invalid.",
        "errors": {"to": ["The to must be a date after or equal to from."]},
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(422, json=body))
    client = LoopClient(LoopSettings(), LoopSecrets(api_key="k", webhook_secret="s"), transport=transport)
    with pytest.raises(LoopRejected) as caught:
        run(_use(client, _all_ids))
    assert "The given data was invalid. (to: The to must be a date after or equal to from.)" in str(caught.value)


def test_next_page_url_is_followed_on_our_own_host_only() -> None:
    hosts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if "cursor" not in request.url.params:
            page = {
                "returns": [{"id": 1}],
                "nextPageUrl": "https://evil.example/api/v1/warehouse/return/list?cursor=abc",
            }
            return httpx.Response(200, json=page)
        assert request.headers["X-Authorization"] == "k"
        return httpx.Response(200, json={"returns": [{"id": "2"}], "nextPageUrl": None, "previousPageUrl": "x"})

    client = LoopClient(
        LoopSettings(base_url="https://api.loop.test/api/v1"), LoopSecrets(api_key="k", webhook_secret="s"),
        transport=httpx.MockTransport(answer),
    )  # fmt: skip
    assert run(_use(client, _all_ids)) == ["1", "2"]
    assert hosts == ["api.loop.test", "api.loop.test"]


def test_a_next_page_url_that_repeats_stops_instead_of_looping() -> None:
    page = {"returns": [{"id": 1}], "nextPageUrl": "https://api.loop.test/api/v1/warehouse/return/list?cursor=same"}
    client = LoopClient(
        LoopSettings(base_url="https://api.loop.test/api/v1"), LoopSecrets(api_key="k", webhook_secret="s"),
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=page)),
    )  # fmt: skip
    with pytest.raises(RetryableError, match="twice"):
        run(_use(client, _all_ids))


def test_query_parameters_follow_loops_documented_format() -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"returns": [], "nextPageUrl": None})

    client = LoopClient(
        LoopSettings(base_url="https://api.loop.test/api/v1", page_size=50), LoopSecrets(api_key="k", webhook_secret="s"),
        transport=httpx.MockTransport(answer),
    )  # fmt: skip
    start = datetime(2026, 11, 1, 8, 30, 15, 999, tzinfo=UTC)
    end = datetime(2026, 11, 2, tzinfo=UTC)

    async def go(c: LoopClient) -> list[Any]:
        return [r async for r in c.list_returns(start, end, filter_on="updated_at", states=["open", "cancelled"])]

    run(_use(client, go))
    params = dict(seen[0].params)
    assert seen[0].path == "/api/v1/warehouse/return/list"
    assert params == {
        "paginate": "true", "pageSize": "50", "from": "2026-11-01 08:30:15", "to": "2026-11-02 00:00:00",
        "filter": "updated_at", "state": "open,cancelled",
    }  # fmt: skip


def test_secrets_never_show_in_repr() -> None:
    secrets = LoopSecrets(api_key="sk-live-123", webhook_secret="whsec-456")
    client = LoopClient(LoopSettings(), secrets)
    assert "sk-live-123" not in repr(secrets)
    assert "whsec-456" not in repr(secrets)
    assert "sk-live-123" not in repr(client)
    run(client.aclose())
    assert json.dumps(secrets.model_dump(mode="json")).count("*") > 0


def test_other_error_codes_are_kept_for_people_and_flows(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    with pytest.raises(LoopNotFound) as caught:
        run(_use(make_client(app), lambda c: c.close_return(424242)))
    assert caught.value.code == "RETURN_NOT_FOUND"
    assert "close return 424242 (404): RETURN_NOT_FOUND: Return not found." in str(caught.value)
