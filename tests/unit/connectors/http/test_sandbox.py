"""The loyalty/CRM sandbox itself: state, pagination, auth, limits, faults and the admin routes."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from typing import Any

import httpx
import pytest
from http_support import API_KEY, CLIENT_ID, CLIENT_SECRET, sandbox, sandbox_deliveries

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.http.sandbox_store import decode_cursor, encode_cursor

KEY = {"X-Api-Key": API_KEY}


def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
            return await http.request(method, path, **kwargs)

    return asyncio.run(main())


def test_what_is_created_appears_in_later_reads() -> None:
    app = sandbox()
    made = call(app, "POST", "/v1/members", headers=KEY, json={"email": "Zoe@Example.com", "first_name": "Zoe"})
    assert made.status_code == 201
    member = made.json()["data"]
    assert member["email"] == "zoe@example.com"
    assert member["tier"] == "bronze"
    got = call(app, "GET", f"/v1/members/{member['id']}", headers=KEY)
    assert got.json()["data"]["first_name"] == "Zoe"
    patched = call(app, "PATCH", f"/v1/members/{member['id']}", headers=KEY, json={"phone": "+15550000001"})
    assert patched.json()["data"]["updated_at"] > member["updated_at"]
    points = call(app, "POST", f"/v1/members/{member['id']}/points", headers=KEY, json={"delta": 600})
    assert points.json()["data"]["tier"] == "silver"


def test_validation_conflicts_and_missing_records() -> None:
    app = sandbox()
    bad = call(app, "POST", "/v1/members", headers=KEY, json={"email": "nope"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "validation_failed"
    call(app, "POST", "/v1/members", headers=KEY, json={"email": "a@example.com"})
    assert call(app, "POST", "/v1/members", headers=KEY, json={"email": "a@example.com"}).status_code == 409
    assert call(app, "GET", "/v1/members/mbr_0", headers=KEY).status_code == 404
    assert call(app, "POST", "/v1/members", headers=KEY, content=b"[1]").status_code == 422
    member = app.state.loyalty.create_members(1)[0]
    too_many = call(app, "POST", f"/v1/members/{member['id']}/points", headers=KEY, json={"delta": -1})
    assert too_many.status_code == 422


def test_transactions_earn_points_and_voids_take_them_back() -> None:
    store = sandbox().state.loyalty
    member = store.create_members(1)[0]
    tx = store.add_transaction(member["id"], [{"sku": "A", "qty": 2, "unit_price": "300.00"}], tax="10.00")
    assert tx["total"] == "610.00"
    assert store.members[member["id"]]["points_balance"] == 600
    assert store.members[member["id"]]["tier"] == "silver"
    voided = store.void_transaction(tx["id"])
    assert voided["status"] == "voided"
    assert voided["voided_at"] == voided["updated_at"]
    assert store.members[member["id"]]["points_balance"] == 0
    assert store.void_transaction(tx["id"])["updated_at"] == voided["updated_at"]  # idempotent
    with pytest.raises(ValueError, match="at least one item"):
        store.add_transaction(member["id"], [])


def test_cursor_pages_follow_the_change_order_and_cursors_are_opaque() -> None:
    app = sandbox()
    ids = [m["id"] for m in app.state.loyalty.create_members(5)]
    first = call(app, "GET", "/v1/members", headers=KEY, params={"limit": 2}).json()
    assert [m["id"] for m in first["data"]] == ids[:2]
    assert first["meta"]["has_more"] is True
    cursor = first["meta"]["next_cursor"]
    assert decode_cursor(cursor)[1] == ids[1]
    second = call(app, "GET", "/v1/members", headers=KEY, params={"limit": 2, "cursor": cursor}).json()
    assert [m["id"] for m in second["data"]] == ids[2:4]
    assert call(app, "GET", "/v1/members", headers=KEY, params={"cursor": "garbage!"}).status_code == 422
    assert call(app, "GET", "/v1/members", headers=KEY, params={"limit": 1000}).status_code == 422
    assert encode_cursor("t", "i", None) != encode_cursor("t", "i", "s")


def test_page_mode_has_totals_and_a_link_header() -> None:
    app = sandbox(pagination="page")
    app.state.loyalty.create_members(5)
    page = call(app, "GET", "/v1/members", headers=KEY, params={"per_page": 2, "page": 2})
    assert page.json()["meta"] == {"page": 2, "per_page": 2, "total": 5, "total_pages": 3}
    assert 'rel="next"' in page.headers["link"]
    assert "page=3" in page.headers["link"]
    last = call(app, "GET", "/v1/members", headers=KEY, params={"per_page": 2, "page": 3})
    assert "link" not in last.headers


def test_api_key_and_oauth2_are_checked() -> None:
    app = sandbox()
    assert call(app, "GET", "/v1/members").status_code == 401
    assert call(app, "GET", "/v1/members", headers={"X-Api-Key": "nope"}).json()["error"]["code"] == "unauthorized"
    oauth = sandbox(auth="oauth2", token_ttl_seconds=120)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    token = call(
        oauth,
        "POST",
        "/oauth/token",
        headers={"Authorization": f"Basic {basic}"},
        content=b"grant_type=client_credentials",
    ).json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 120
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert call(oauth, "GET", "/v1/members", headers=bearer).status_code == 200
    assert call(oauth, "GET", "/v1/members", headers=KEY).status_code == 401  # api keys do not work in oauth2 mode
    oauth.state.loyalty.revoke_tokens()
    refused = call(oauth, "GET", "/v1/members", headers=bearer)
    assert refused.status_code == 401
    assert "invalid_token" in refused.headers["www-authenticate"]
    wrong = call(oauth, "POST", "/oauth/token", content=b"grant_type=client_credentials&client_id=x&client_secret=y")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    grant = call(oauth, "POST", "/oauth/token", content=b"grant_type=password")
    assert grant.json()["error"] == "unsupported_grant_type"


def test_quota_headers_and_429() -> None:
    app = sandbox(requests_per_minute=2)
    first = call(app, "GET", "/v1/members", headers=KEY)
    assert first.headers["x-ratelimit-limit"] == "2"
    assert first.headers["x-ratelimit-remaining"] == "1"
    call(app, "GET", "/v1/members", headers=KEY)
    limited = call(app, "GET", "/v1/members", headers=KEY)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 0 <= int(limited.headers["retry-after"]) <= 60


def test_fault_knobs() -> None:
    app = sandbox(knobs=FaultKnobs(rate_limit_after=1, retry_after_seconds=4))
    assert call(app, "GET", "/v1/members", headers=KEY).status_code == 200
    limited = call(app, "GET", "/v1/members", headers=KEY)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "4")
    assert call(sandbox(knobs=FaultKnobs(fail_rate=1.0)), "GET", "/v1/members", headers=KEY).status_code in (500, 503)
    slow = sandbox(knobs=FaultKnobs(timeout_rate=1.0, timeout_seconds=0.01))
    assert call(slow, "GET", "/v1/members", headers=KEY).status_code == 504
    garbage = {call(sandbox(garbage_rate=1.0, seed=s), "GET", "/v1/members", headers=KEY).text[:6] for s in range(8)}
    assert "<html>" in garbage
    assert '{"data' in garbage


def test_admin_routes_drive_the_sandbox() -> None:
    app = sandbox()
    made = call(app, "POST", "/_sandbox/members", json={"count": 3}).json()["data"]
    assert len(made) == 3
    txs = call(app, "POST", "/_sandbox/transactions", json={"count": 2, "member_id": made[0]["id"]}).json()["data"]
    assert {t["member_id"] for t in txs} == {made[0]["id"]}
    assert call(app, "POST", "/_sandbox/members", json={"count": -1}).status_code == 400
    hook = call(app, "POST", "/_sandbox/webhooks", json={"url": "https://r.test/h", "events": ["member.updated"]})
    assert hook.json()["data"]["events"] == ["member.updated"]
    assert call(app, "POST", "/_sandbox/webhooks", json={"url": "ftp://r.test"}).status_code == 400
    assert call(app, "POST", "/_sandbox/webhooks", json={"url": "https://r.test", "events": ["x"]}).status_code == 400
    knobs = call(app, "POST", "/_sandbox/knobs", json={"fail_rate": 0.5}).json()["knobs"]
    assert knobs["fail_rate"] == 0.5
    assert call(app, "POST", "/_sandbox/knobs", json={"fail_rate": 5}).status_code == 400
    assert call(app, "GET", "/_sandbox/deliveries").json() == {"deliveries": []}
    assert call(app, "POST", "/_sandbox/tokens/revoke").json() == {"revoked": 0}


def test_webhooks_are_signed_with_timestamp_and_can_be_duplicated() -> None:
    sent = sandbox_deliveries(
        lambda store: store.create_members(3), knobs=FaultKnobs(duplicate_webhook_rate=1.0, seed=1)
    )
    assert len(sent) == 6
    ids = [json.loads(body)["id"] for body, _ in sent]
    assert sorted(Counter(ids).values()) == [2, 2, 2]  # each event twice, same id
    body, headers = sent[0]
    assert headers["x-loyalty-signature"].startswith("sha256=")
    assert headers["x-loyalty-event-id"] == json.loads(body)["id"]
    assert headers["x-loyalty-timestamp"].isdigit()


def test_unknown_sandbox_options_are_refused() -> None:
    with pytest.raises(TypeError, match="unknown sandbox option"):
        sandbox(colour="blue")
