"""Access to /v1, generated from the app's own routes: every endpoint × every role × own, sub-account,
sibling and other partner's clients.

The rules: no credentials, or a revoked or expired key → 401; a client outside the key's scope →
404 (never 403, never 2xx); a role without the permission → 403 (never 2xx).
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import update
from tests.integration.test_webhook_api import api, api_key, order_body, webhook_path

from tradewire.api.app import create_app
from tradewire.governance.permissions import ROLE_PERMISSIONS, Permission, Role
from tradewire.runtime.store.tables import api_keys
from tradewire.services.processes import build_ingest
from tradewire.services.tenants import Tenants

if TYPE_CHECKING:
    from tests.integration.conftest import World

BODIES: dict[str, dict[str, Any]] = {
    "/v1/runs/replay": {"dead": True},
    "/v1/keys": {"name": "matrix", "role": "client_viewer"},
    "/v1/clients": {"name": "Matrix store"},
}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def v1_routes(world: World) -> list[tuple[str, str, Permission]]:
    """Every /v1 operation the app publishes, with the permission it needs.

    The default is ``read`` for GET and ``operate`` for other methods; a route that needs more
    says so as ``x-permission`` in the OpenAPI document.
    """
    app = create_app(world.settings, world.store, build_ingest(world.settings, world.store))
    found = [
        (method.upper(), path, Permission(spec.get("x-permission") or default_permission(method)))
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/v1")
        for method, spec in operations.items()
    ]
    assert len(found) >= 8, found
    return found


def default_permission(method: str) -> str:
    return Permission.OPERATE.value if method.upper() in MUTATING else Permission.READ.value


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "x"), path)


def world_ids(world: World) -> dict[str, str]:
    """Real ids of the world's client, so a wrong 2xx would act on real data."""

    async def deliver() -> None:
        body = order_body(world)
        async with api(world) as client:
            assert (
                await client.post(webhook_path(world), content=body, headers=world.headers(body))
            ).status_code == 200

    asyncio.run(deliver())
    from tradewire.runtime.store.port import RunFilter
    from tradewire.tenancy.context import client_scope

    with client_scope(world.client_id):
        run = world.store.list_runs(RunFilter())[0]
    return {
        "run_id": str(run.id),
        "message_id": str(run.message_id),
        "connection_id": world.shopify_id,
        "object_type": "order",
        "canonical_id": "x",
    }


def neighbours(world: World) -> dict[str, str]:
    """A sub-account of the world's client, a sibling client, and another partner's client."""
    partner = world.store.get_client(world.client_id).partner_id
    tenants = Tenants(world.store, actor="test")
    sub = tenants.create_client("Store EU", parent_id=world.client_id).id
    sibling = tenants.create_client("Sibling retailer", partner_id=partner).id
    other_partner = tenants.create_partner("Rival agency").id
    stranger = tenants.create_client("Rival's retailer", partner_id=other_partner).id
    return {"sub": sub, "sibling": sibling, "stranger": stranger}


async def call(client: httpx.AsyncClient, method: str, path: str, target: str) -> httpx.Response:
    headers = {"X-Tradewire-Client": target}
    if method in MUTATING:
        return await client.request(method, path, json=BODIES.get(path, {}), headers=headers)
    return await client.request(method, path, headers=headers)


def test_the_access_matrix(world: World) -> None:
    routes = v1_routes(world)
    ids = world_ids(world)
    near = neighbours(world)
    keys = {role: api_key(world, role) for role in Role}
    app = create_app(world.settings, world.store, build_ingest(world.settings, world.store))
    breaches: list[str] = []

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tradewire.test") as client:
            for role, key in keys.items():
                client.headers["Authorization"] = f"Bearer {key}"
                for method, template, permission in routes:
                    path = fill(template, ids)
                    own = await call(client, method, path, world.client_id)
                    allowed = permission in ROLE_PERMISSIONS[role]
                    if not allowed and own.status_code != 403:
                        breaches.append(f"{role} {method} {path} own: {own.status_code} (want 403)")
                    if allowed and own.status_code in (401, 403):
                        breaches.append(f"{role} {method} {path} own: {own.status_code} (want access)")
                    for name in ("sibling", "stranger") if not role.partner_level else ("stranger",):
                        other = await call(client, method, path, near[name])
                        if other.status_code != 404:
                            breaches.append(f"{role} {method} {path} {name}: {other.status_code} (want 404)")

    asyncio.run(main())
    assert breaches == []


def test_revoked_expired_and_unknown_keys_get_401_on_every_endpoint(world: World) -> None:
    routes = v1_routes(world)
    ids = world_ids(world)
    revoked, expired = api_key(world, Role.PARTNER_ADMIN), api_key(world, Role.PARTNER_ADMIN)
    with world.store.engine.begin() as conn:  # type: ignore[attr-defined]
        past = datetime.now(UTC) - timedelta(seconds=1)
        conn.execute(update(api_keys).where(api_keys.c.prefix == revoked[:15]).values(revoked_at=past))
        conn.execute(update(api_keys).where(api_keys.c.prefix == expired[:15]).values(expires_at=past))
    forged = revoked[:16] + ("A" * 43)
    answers: list[tuple[str, int]] = []

    async def main() -> None:
        async with api(world, role=None) as client:
            for key in (revoked, expired, forged, "tw_nonsense", ""):
                for method, template, _ in routes:
                    headers = {"Authorization": f"Bearer {key}"} if key else {}
                    response = await client.request(method, fill(template, ids), headers=headers, json={})
                    answers.append((f"{method} {template} with {key[:15] or 'nothing'}", response.status_code))

    asyncio.run(main())
    assert {label: status for label, status in answers if status != 401} == {}


def test_the_audit_log_says_which_key_did_it_and_from_where(world: World) -> None:
    async def main() -> httpx.Response:
        async with api(world, role=Role.CLIENT_OPERATOR) as client:
            return await client.post(f"/v1/connections/{world.shopify_id}/pause", json={"reason": "maintenance"})

    assert asyncio.run(main()).status_code == 200
    from tradewire.tenancy.context import client_scope

    with client_scope(world.client_id):
        [entry] = [e for e in world.store.list_audit() if e.action == "connection.pause"]
    assert entry.actor.startswith("api_key:test client_operator")
    assert entry.source == "127.0.0.1"
