"""The declarative client against the loyalty sandbox (and a few hand-made vendors for odd behaviour)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import yaml
from http_support import (
    ALLOW,
    API_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    EXAMPLE,
    SANDBOX_URL,
    WEBHOOK_SECRET,
    client,
    connection,
    sandbox,
)

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.ssrf import AllowList, DestinationRefused
from tradewire.connectors.http.client import SCOPE, HttpClient, rate_limit_of
from tradewire.connectors.http.loader import definition_from_data, load_definition
from tradewire.connectors.http.settings import HttpSecrets
from tradewire.errors import (
    ConfigError,
    VendorAuthError,
    VendorRateLimited,
    VendorRejected,
    VendorRetryable,
)


def example_data() -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE.read_text())
    assert isinstance(data, dict)
    return data


def inline(mutate: Callable[[dict[str, Any]], None], **secrets: str) -> Any:
    data = example_data()
    mutate(data)
    return connection(
        settings={"definition": data, "base_url": SANDBOX_URL},
        secrets=secrets or {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET},
    )


def small_pages(data: dict[str, Any]) -> None:
    data["endpoints"]["list_members"]["pagination"]["size"] = 3


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def members(http: HttpClient, **query: str) -> list[str]:
    async with http:
        return [m["id"] async for page in http.pages("list_members", extra_query=query) for m in page]


def test_cursor_pagination_reads_every_member_once() -> None:
    app = sandbox()
    seeded = [m["id"] for m in app.state.loyalty.create_members(10)]
    read = run(members(client(app, inline(small_pages))))
    assert read == seeded
    assert app.state.loyalty.served == 4  # 3 + 3 + 3 + 1


def test_page_number_pagination_with_total_pages() -> None:
    def page_mode(data: dict[str, Any]) -> None:
        data["endpoints"]["list_members"]["pagination"] = {
            "type": "page", "page_param": "page", "size_param": "per_page", "size": 4, "total_pages": "meta.total_pages"
        }  # fmt: skip

    app = sandbox(pagination="page")
    seeded = [m["id"] for m in app.state.loyalty.create_members(9)]
    assert run(members(client(app, inline(page_mode)))) == seeded
    assert app.state.loyalty.served == 3


def test_link_header_pagination() -> None:
    def link_mode(data: dict[str, Any]) -> None:
        data["endpoints"]["list_members"]["pagination"] = {"type": "link_header", "size_param": "per_page", "size": 2}

    app = sandbox(pagination="page")
    seeded = [m["id"] for m in app.state.loyalty.create_members(5)]
    assert run(members(client(app, inline(link_mode)))) == seeded


def test_updated_since_filters_on_the_server() -> None:
    app = sandbox()
    store = app.state.loyalty
    old = store.create_members(3)
    later = store.create_members(2)
    since = later[0]["updated_at"]
    assert run(members(client(app), updated_since=since)) == [m["id"] for m in later]
    assert old


def test_fetch_one_and_create_with_a_body_template() -> None:
    app = sandbox()
    created = app.state.loyalty.create_members(1)[0]

    async def main() -> tuple[dict[str, Any], Any]:
        async with client(app) as http:
            one = await http.fetch("member", created["id"])
            made = await http.call("create_member", {"email": "new@example.com", "first_name": "N", "last_name": "M"})
            return one, made

    one, made = run(main())
    assert one["email"] == created["email"]
    assert made["data"]["email"] == "new@example.com"
    assert "new@example.com" in {m["email"] for m in app.state.loyalty.members.values()}


def test_a_422_is_permanent_with_the_vendors_reason() -> None:
    async def main() -> None:
        async with client(sandbox()) as http:
            await http.call("create_member", {"email": "nope", "first_name": "A", "last_name": "B"})

    with pytest.raises(VendorRejected, match="not a valid e-mail") as caught:
        run(main())
    assert caught.value.status == 422


def test_missing_parameters_and_unknown_endpoints_are_config_errors() -> None:
    async def main(name: str, params: dict[str, Any]) -> None:
        async with client(sandbox()) as http:
            await http.call(name, params)

    with pytest.raises(ConfigError, match=r"\{email\}"):
        run(main("create_member", {}))
    with pytest.raises(ConfigError, match="no endpoint"):
        run(main("delete_everything", {}))


def test_path_parameters_are_escaped_and_dot_segments_refused() -> None:
    app = sandbox()

    async def fetch(value: str) -> None:
        async with client(app) as http:
            await http.fetch("member", value)

    with pytest.raises(VendorRejected) as caught:
        run(fetch("../transactions"))
    assert caught.value.status == 404  # sent as one escaped segment, not a path
    with pytest.raises(VendorRejected, match="may not be"):
        run(fetch(".."))


def test_bad_api_key_is_an_auth_error() -> None:
    app = sandbox()
    with pytest.raises(VendorAuthError) as caught:
        run(members(client(app, connection(secrets={"api_key": "wrong", "webhook_secret": "x"}))))
    assert "wrong" not in str(caught.value)


def test_missing_secrets_are_named_without_values() -> None:
    with pytest.raises(ConfigError, match="api_key"):
        client(sandbox(), connection(secrets={"webhook_secret": "s3cr3t"}))


def oauth(data: dict[str, Any]) -> None:
    data["auth"] = {"type": "oauth2_client_credentials", "token_url": "/oauth/token", "scope": "members:read"}


def test_oauth2_client_credentials_token_is_fetched_once_and_cached() -> None:
    app = sandbox(auth="oauth2")
    app.state.loyalty.create_members(7)
    conn = inline(lambda d: (oauth(d), small_pages(d)), client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    http = client(app, conn)
    assert len(run(members(http))) == 7
    assert http.tokens is not None
    assert http.tokens.fetches == 1
    assert len(app.state.loyalty.tokens) == 1


def test_oauth2_form_body_client_auth() -> None:
    def body_auth(data: dict[str, Any]) -> None:
        oauth(data)
        data["auth"]["client_auth"] = "body"

    app = sandbox(auth="oauth2")
    app.state.loyalty.create_members(1)
    conn = inline(body_auth, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert len(run(members(client(app, conn)))) == 1


def test_oauth2_revoked_token_mid_run_is_refreshed_once() -> None:
    app = sandbox(auth="oauth2")
    store = app.state.loyalty
    store.create_members(2)
    conn = inline(oauth, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    async def main() -> HttpClient:
        async with client(app, conn) as http:
            await http.call("list_members")
            store.revoke_tokens()
            await http.call("list_members")
            return http

    http = run(main())
    assert http.tokens is not None
    assert http.tokens.fetches == 2


def test_oauth2_bad_client_secret_is_an_auth_error() -> None:
    app = sandbox(auth="oauth2")
    conn = inline(oauth, client_id=CLIENT_ID, client_secret="wrong")
    with pytest.raises(VendorAuthError) as caught:
        run(members(client(app, conn)))
    assert "wrong" not in str(caught.value)
    assert app.state.loyalty.token_requests == 1  # refused credentials are not asked for twice
    assert app.state.loyalty.served == 0


def test_oauth2_token_that_keeps_failing_is_an_auth_error_after_one_refresh() -> None:
    app = sandbox(auth="oauth2", token_ttl_seconds=-1)  # every token is already expired at the API
    conn = inline(oauth, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    http = client(app, conn)
    with pytest.raises(VendorAuthError):
        run(members(http))
    assert http.tokens is not None
    assert http.tokens.fetches == 2


def test_429_carries_retry_after_and_5xx_is_retryable() -> None:
    with pytest.raises(VendorRateLimited) as caught:
        run(members(client(sandbox(knobs=FaultKnobs(rate_limit_after=0, retry_after_seconds=7)))))
    assert caught.value.retry_after == 7.0
    with pytest.raises(VendorRetryable):
        run(members(client(sandbox(knobs=FaultKnobs(fail_rate=1.0)))))


def test_the_per_minute_quota_answers_429_until_the_window_resets() -> None:
    app = sandbox(requests_per_minute=2)
    app.state.loyalty.create_members(1)

    async def main() -> None:
        async with client(app) as http:
            await http.call("list_members")
            await http.call("list_members")
            await http.call("list_members")

    with pytest.raises(VendorRateLimited) as caught:
        run(main())
    assert caught.value.retry_after is not None
    assert 0 <= caught.value.retry_after <= 60


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_html_and_truncated_bodies_are_retryable(seed: int) -> None:
    app = sandbox(garbage_rate=1.0, knobs=FaultKnobs(seed=seed))
    with pytest.raises(VendorRetryable, match=r"HTML|not JSON"):
        run(members(client(app)))


class Budget:
    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.observed: list[tuple[str, float | None, float | None]] = []

    async def acquire(self, scope: str, cost: float = 1.0) -> None:
        self.acquired.append(scope)

    def observe(self, scope: str, *, remaining: float | None, capacity: float | None, refill: float | None) -> None:
        self.observed.append((scope, remaining, capacity))


def test_every_call_takes_a_budget_token_and_reports_the_rate_headers() -> None:
    app = sandbox(requests_per_minute=100)
    app.state.loyalty.create_members(4)
    budget = Budget()
    run(members(client(app, inline(small_pages), budget=budget)))
    assert budget.acquired == [SCOPE, SCOPE]
    assert budget.observed == [(SCOPE, 99.0, 100.0), (SCOPE, 98.0, 100.0)]
    assert rate_limit_of(load_definition(EXAMPLE)).rate == 8.0


def test_the_ssrf_guard_applies_without_an_allow_list() -> None:
    with pytest.raises(DestinationRefused, match="loopback"):
        run(members(client(sandbox(), allow=AllowList())))


# --- hand-made vendors for behaviour the sandbox does not have ---------------------------------

MINI = {
    "name": "mini",
    "base_url": "https://api.vendor.test/v2",
    "auth": {"type": "api_key", "in": "query", "name": "key", "secret": "api_key"},
    "endpoints": {"list": {"path": "/items", "records": "items"}},
}
VENDOR_DNS = {"api.vendor.test": ["93.184.215.14"], "cdn.vendor.test": ["93.184.215.15"], "evil.test": ["10.0.0.1"]}


async def _dns(host: str, port: int) -> list[str]:
    if host not in VENDOR_DNS:
        raise DestinationRefused(f"{host} does not resolve")
    return VENDOR_DNS[host]


def mini(handler: Callable[[httpx.Request], httpx.Response], **endpoint: Any) -> tuple[HttpClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    data = {**MINI, "endpoints": {"list": {"path": "/items", "records": "items", **endpoint}}}
    definition = definition_from_data(data, source="test")
    http = HttpClient(
        definition,
        HttpSecrets.model_validate({"api_key": "k3y"}),
        transport=httpx.MockTransport(record),
        allow=AllowList(),
        resolver=_dns,
    )
    return http, seen


async def all_items(http: HttpClient) -> list[Any]:
    async with http:
        return [item["n"] async for page in http.pages("list") for item in page]


def test_offset_pagination_stops_at_a_short_page_and_sends_the_key_in_the_query() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"items": [{"n": i} for i in range(offset, min(offset + 2, 5))]})

    http, seen = mini(handler, pagination={"type": "offset", "size": 2})
    assert run(all_items(http)) == [0, 1, 2, 3, 4]
    assert [r.url.params["offset"] for r in seen] == ["0", "2", "4"]
    assert all(r.url.params["key"] == "k3y" for r in seen)
    assert seen[0].url.host == "93.184.215.14"
    assert seen[0].headers["host"] == "api.vendor.test"


def test_next_url_pagination_and_a_repeated_token_stops_the_loop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("p", "1"))
        # The vendor hands out page 2 as "next" on page 2 as well.
        return httpx.Response(200, json={"items": [{"n": page}], "next": "/v2/items?p=2"})

    http, _ = mini(handler, pagination={"type": "next_url", "next": "next"})
    with pytest.raises(VendorRetryable, match="twice"):
        run(all_items(http))


def test_a_next_link_to_another_origin_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"items": [{"n": 1}]}, headers={"Link": '<https://evil.test/steal>; rel="next"'}
        )

    http, seen = mini(handler, pagination={"type": "link_header"})
    with pytest.raises(VendorRejected, match="not its own origin"):
        run(all_items(http))
    assert len(seen) == 1


def test_same_origin_redirects_are_followed_with_credentials() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/items":
            return httpx.Response(301, headers={"Location": "/v3/items"})
        return httpx.Response(200, json={"items": [{"n": 1}]})

    http, seen = mini(handler)
    assert run(all_items(http)) == [1]
    assert [r.url.path for r in seen] == ["/v2/items", "/v3/items"]
    assert seen[1].url.params["key"] == "k3y"


def test_cross_origin_redirects_drop_credentials_and_are_checked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["host"] == "api.vendor.test":
            return httpx.Response(302, headers={"Location": "https://cdn.vendor.test/items.json"})
        return httpx.Response(200, json={"items": [{"n": 2}]})

    http, seen = mini(handler)
    assert run(all_items(http)) == [2]
    assert "key" not in seen[1].url.params

    def to_private(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"Location": "https://evil.test/admin"})

    http, seen = mini(to_private)
    with pytest.raises(DestinationRefused, match="private"):
        run(all_items(http))
    assert len(seen) == 1

    def to_metadata(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://169.254.169.254/latest/meta-data/"})

    http, seen = mini(to_metadata)
    with pytest.raises(DestinationRefused, match="metadata"):
        run(all_items(http))
    assert len(seen) == 1


def test_redirect_loops_downgrades_and_missing_locations_are_refused() -> None:
    http, seen = mini(lambda r: httpx.Response(302, headers={"Location": "/v2/items"}))
    with pytest.raises(VendorRejected, match="more than 3"):
        run(all_items(http))
    assert len(seen) == 4
    http, _ = mini(lambda r: httpx.Response(302, headers={"Location": "http://api.vendor.test/v2/items"}))
    with pytest.raises(VendorRejected, match="https to http"):
        run(all_items(http))
    http, _ = mini(lambda r: httpx.Response(302))
    with pytest.raises(VendorRejected, match="without a Location"):
        run(all_items(http))


def test_errors_hidden_in_a_200_body_are_rejected_when_the_definition_says_where() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [], "error": {"code": "E42", "message": "account suspended"}})

    http, _ = mini(handler, error="error")
    with pytest.raises(VendorRejected, match="account suspended"):
        run(all_items(http))


def test_records_that_are_not_objects_are_rejected() -> None:
    http, _ = mini(lambda r: httpx.Response(200, json={"items": [1, 2, 3]}))
    with pytest.raises(VendorRejected, match="other than objects"):
        run(all_items(http))


def test_allow_list_is_read_from_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    app = sandbox()
    app.state.loyalty.create_members(1)
    monkeypatch.setenv("TRADEWIRE_EGRESS_ALLOW", "127.0.0.1:8400")
    http = HttpClient.from_connection(connection(), transport=httpx.ASGITransport(app))
    assert len(run(members(http))) == 1
    assert ALLOW.permits_endpoint("127.0.0.1", 8400)


def test_a_key_sent_in_the_query_never_appears_in_error_messages() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    http, seen = mini(timeout)
    with pytest.raises(VendorRetryable) as caught:
        run(all_items(http))
    assert seen[0].url.params["key"] == "k3y"
    assert "k3y" not in str(caught.value)

    http, _ = mini(lambda r: httpx.Response(500, text="boom"))
    with pytest.raises(VendorRetryable) as failed:
        run(all_items(http))
    assert "k3y" not in str(failed.value)
    assert "k3y" not in repr(failed.value.detail)


def test_secrets_are_hidden_in_repr() -> None:
    secrets = HttpSecrets.model_validate({"api_key": "s3cr3t-value"})
    assert "s3cr3t-value" not in repr(secrets)
    assert "s3cr3t-value" not in str(secrets)
    assert secrets.get("api_key") == "s3cr3t-value"
    with pytest.raises(ConfigError, match="no secret named 'token'"):
        secrets.get("token")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"token_type": "Bearer"}, "access_token"),
        ({"access_token": "", "token_type": "Bearer"}, "access_token"),
        ({"access_token": "t", "token_type": "mac"}, "not Bearer"),
        ("<html>login</html>", "HTML"),
    ],
)
def test_unusable_token_answers_are_retryable(answer: Any, reason: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            if isinstance(answer, str):
                return httpx.Response(200, text=answer)
            return httpx.Response(200, json=answer)
        return httpx.Response(200, json={"items": []})

    data = {**MINI, "auth": {"type": "oauth2_client_credentials", "token_url": "/oauth/token"}}
    http = HttpClient(
        definition_from_data(data, source="test"),
        HttpSecrets.model_validate({"client_id": "i", "client_secret": "s"}),
        transport=httpx.MockTransport(handler),
        allow=AllowList(),
        resolver=_dns,
    )
    with pytest.raises(VendorRetryable, match=reason):
        run(all_items(http))


def test_token_lifetime_defaults_to_an_hour() -> None:
    from tradewire.connectors.http.schemas import TokenResponse

    assert TokenResponse(access_token="t").lifetime_seconds == 3600.0
    assert TokenResponse(access_token="t", expires_in=0).lifetime_seconds == 1.0
    assert "tok-3f9a" not in repr(TokenResponse(access_token="tok-3f9a", scope="x"))
