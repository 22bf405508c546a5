"""The generated connector contract, run against the loyalty/CRM sandbox with the example definition."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from tradewire.connectors.base.contract import Call, ConnectorContract
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.base.ssrf import AllowList
from tradewire.connectors.http import SPEC
from tradewire.connectors.http.client import HttpClient
from tradewire.connectors.http.loader import load_definition
from tradewire.connectors.http.mapping import to_canonical
from tradewire.connectors.http.poller import DeclarativePoller

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "connectors" / "loyalty-crm.yaml"
API_KEY, WEBHOOK_SECRET = "contract-key", "contract-webhook-secret"
ALLOW = AllowList.parse(["127.0.0.1:8401"])
CONNECTION = Connection(
    id="conn-contract",
    client_id="client-contract",
    system="http",
    settings={"definition_path": str(EXAMPLE), "base_url": "http://127.0.0.1:8401/v1"},
    secrets={"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET},
)


def _sandbox(knobs: FaultKnobs | None = None, **options: Any) -> Any:
    assert SPEC.sandbox is not None
    return SPEC.sandbox(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, knobs=knobs, seed=11, **options)


def _small_pages() -> dict[str, Any]:
    """The example definition inline, listing three records per page."""
    data = yaml.safe_load(EXAMPLE.read_text())
    for name in ("list_members", "list_transactions"):
        data["endpoints"][name]["pagination"]["size"] = 3
    return {"definition": data, "base_url": CONNECTION.settings["base_url"]}


def _client(app: Any, api_key: str = API_KEY, *, settings: dict[str, Any] | None = None) -> HttpClient:
    connection = Connection(
        id=CONNECTION.id,
        client_id=CONNECTION.client_id,
        system="http",
        settings=settings or CONNECTION.settings,
        secrets={"api_key": api_key, "webhook_secret": WEBHOOK_SECRET},
    )
    return HttpClient.from_connection(connection, transport=httpx.ASGITransport(app), allow=ALLOW)


def _call(app: Any, api_key: str = API_KEY, *, action: str = "list") -> Call:
    async def call() -> object:
        async with _client(app, api_key) as http:
            if action == "create":
                return await http.call("create_member", {"email": "no-at-sign", "first_name": "A", "last_name": "B"})
            return await http.call("list_members")

    return call


class TestHttpContract(ConnectorContract):
    spec = SPEC

    async def seed_and_read_all(self, count: int) -> tuple[set[str], list[str]] | None:
        app = _sandbox()
        seeded = {m["id"] for m in app.state.loyalty.create_members(count)}
        async with _client(app, settings=_small_pages()) as http:
            read = [m["id"] async for page in http.pages("list_members") for m in page]
        assert app.state.loyalty.served == 3  # 3 + 3 + 1: real pages
        return seeded, read

    async def cursor_values(self) -> list[str] | None:
        app = _sandbox()
        store = app.state.loyalty
        members = store.create_members(7)
        store.update_member(members[1]["id"], phone="+15550001111")
        http = _client(app, settings=_small_pages())
        poller = DeclarativePoller(http, http.definition.pollers[0])
        values = [str(page.cursor) async for page in poller.pages(None, now=datetime.now(UTC))]
        await poller.aclose()
        assert len(values) == 3
        return values

    def mapping_round_trips(self) -> list[tuple[object, object]]:
        """vendor → canonical is deterministic, and the vendor's own read-back (GET one) maps the same."""
        definition = load_definition(EXAMPLE)
        app = _sandbox()
        store = app.state.loyalty
        store.create_transactions(5)

        async def fetched(object_name: str, ids: list[str]) -> list[dict[str, Any]]:
            async with _client(app) as http:
                return [await http.fetch(object_name, i) for i in ids]

        pairs: list[tuple[object, object]] = []
        for object_name, kind in (("member", "members"), ("transaction", "transactions")):
            listed = store.changed_since(kind, None)
            again = asyncio.run(fetched(object_name, [r["id"] for r in listed]))
            for record, read_back in zip(listed, again, strict=True):
                pairs.append(
                    (
                        to_canonical(definition, object_name, record, client_id="c", connection_id=CONNECTION.id),
                        to_canonical(definition, object_name, read_back, client_id="c", connection_id=CONNECTION.id),
                    )
                )
        return pairs

    def call_with_knobs(self, knobs: FaultKnobs) -> Call:
        return _call(_sandbox(knobs))

    def call_rejected(self) -> Call:
        return _call(_sandbox(), action="create")

    def call_with_bad_credentials(self) -> Call:
        return _call(_sandbox(), api_key="revoked-key")

    def signed_delivery(self) -> tuple[bytes, dict[str, str], Connection] | None:
        body, headers = _deliveries(statuses=[200])[0]
        return body, headers, CONNECTION

    def redelivery(self) -> tuple[dict[str, str], dict[str, str]] | None:
        sent = _deliveries(statuses=[503, 200])
        assert len(sent) == 2
        return sent[0][1], sent[1][1]


def _deliveries(statuses: list[int]) -> list[tuple[bytes, dict[str, str]]]:
    """What the sandbox really POSTs for one new member, answered with ``statuses`` in turn."""
    sent: list[tuple[bytes, dict[str, str]]] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append((request.content, dict(request.headers)))
        return httpx.Response(statuses[min(len(sent), len(statuses)) - 1])

    app = _sandbox(webhook_transport=httpx.MockTransport(receive), webhook_retry_delays=[0.01])
    store = app.state.loyalty
    store.subscribe("https://receiver.test/webhooks/http/conn-contract", ["member.created"])

    async def main() -> None:
        async with app.router.lifespan_context(app):
            store.create_members(1)
            for _ in range(500):
                if not store.sender.busy:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(main())
    return sent
