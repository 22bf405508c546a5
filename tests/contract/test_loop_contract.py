"""The generated connector contract, run against the Loop sandbox."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tradewire.canonical import Return
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.contract import Call, ConnectorContract, PollWorld
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.loop import SPEC
from tradewire.connectors.loop.client import LoopClient
from tradewire.connectors.loop.mapping import return_to_canonical
from tradewire.connectors.loop.sandbox_options import SandboxOptions

API_KEY, SECRET = "loop-contract-key", "loop-contract-secret"
CONNECTION = Connection(
    id="conn-contract",
    client_id="client-contract",
    system="loop",
    settings={"base_url": "http://sandbox.test/api/v1", "page_size": 3},
    secrets={"api_key": API_KEY, "webhook_secret": SECRET},
)


def _sandbox(knobs: FaultKnobs | None = None, **kwargs: Any) -> Any:
    assert SPEC.sandbox is not None
    return SPEC.sandbox(api_key=API_KEY, webhook_secret=SECRET, knobs=knobs, seed=11, **kwargs)


def _client(app: Any, api_key: str = API_KEY) -> LoopClient:
    secrets = {"api_key": api_key, "webhook_secret": SECRET}
    connection = Connection(CONNECTION.id, CONNECTION.client_id, "loop", CONNECTION.settings, secrets)
    return LoopClient.from_connection(connection, transport=httpx.ASGITransport(app))


def _call(app: Any, api_key: str = API_KEY, *, action: str = "details") -> Call:
    async def call() -> object:
        async with _client(app, api_key) as client:
            if action == "remove":
                return await client.remove_line_item(1001, 1)  # no such line item on return 1001
            return await client.get_return(1001)

    return call


class TestLoopContract(ConnectorContract):
    spec = SPEC

    def poll_world(self) -> PollWorld | None:
        app = _sandbox()
        app.state.loop.create_returns(5)
        return PollWorld(CONNECTION, httpx.ASGITransport(app), "returns", 5)

    async def seed_and_read_all(self, count: int) -> tuple[set[str], list[str]] | None:
        app = _sandbox()
        seeded = {str(r["id"]) for r in app.state.loop.create_returns(count)}
        now = datetime.now(UTC)
        async with _client(app) as client:
            read = [r.id async for r in client.list_returns(now - timedelta(hours=1), now + timedelta(minutes=1))]
        return seeded, read

    async def cursor_values(self) -> list[str] | None:
        """A first poll over 200 days (two 120-day windows), then a later poll after more changes."""
        app = _sandbox()
        loop = app.state.loop
        rs = loop.create_returns(6)
        connection = Connection(
            CONNECTION.id, CONNECTION.client_id, "loop",
            {**CONNECTION.settings, "poll_initial_lookback_hours": 200 * 24}, CONNECTION.secrets,
        )  # fmt: skip
        assert SPEC.pollers
        values: list[str] = []
        cursor: str | None = None
        for now in (datetime.now(UTC), None):
            if now is None:
                loop.process(rs[1]["id"])
                loop.update_return(rs[2]["id"], {"note": "later"})
                now = datetime.now(UTC) + timedelta(seconds=2)
            poller = SPEC.pollers[0].open(connection, UnlimitedBudget(), httpx.ASGITransport(app))
            try:
                async for page in poller.pages(cursor, now=now):
                    if page.cursor is not None:
                        cursor = page.cursor
                        values.append(cursor)
            finally:
                await poller.aclose()
        assert len(values) == 3
        return values

    def mapping_round_trips(self) -> list[tuple[object, object]]:
        """The same return read three ways (webhook body, details answer, list entry) maps to one
        canonical Return, and the canonical JSON reads back to the same model."""
        app = _sandbox(options=SandboxOptions(webhook_ids_as_strings=True))
        loop = app.state.loop
        rs = loop.create_returns(12)
        loop.create_label(rs[0]["id"])
        loop.update_label(rs[0]["id"], "in_transit")
        loop.request_restock(rs[1]["id"])
        loop.process(rs[2]["id"])

        async def read() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
            now = datetime.now(UTC)
            async with _client(app) as client:
                listed = {
                    r["id"]: r
                    async for page in client.list_return_pages(
                        now - timedelta(hours=1), now + timedelta(minutes=1), states=["open", "closed"]
                    )
                    for r in page
                }
                details = {rid: await client.get_return_payload(rid) for rid in listed}
            return {str(k): v for k, v in listed.items()}, {str(k): v for k, v in details.items()}

        listed, details = asyncio.run(read())
        pairs: list[tuple[object, object]] = []
        for rid, payload in details.items():
            webhook = json.loads(loop.webhook_body("return", "return.updated", int(rid)))
            canonical = return_to_canonical(payload, client_id="client-contract", connection_id=CONNECTION.id)
            for other in (listed[rid], webhook):
                pairs.append(
                    (canonical, return_to_canonical(other, client_id="client-contract", connection_id=CONNECTION.id))
                )
            pairs.append((canonical, Return.model_validate_json(canonical.model_dump_json())))
        return pairs

    def call_with_knobs(self, knobs: FaultKnobs) -> Call:
        app = _sandbox(knobs)
        app.state.loop.create_returns(1)
        return _call(app)

    def call_rejected(self) -> Call:
        app = _sandbox()
        app.state.loop.create_returns(1)
        return _call(app, action="remove")

    def call_with_bad_credentials(self) -> Call:
        return _call(_sandbox(), api_key="revoked-key")

    def signed_delivery(self) -> tuple[bytes, dict[str, str], Connection] | None:
        body, headers = _deliveries([200])[0]
        return body, headers, CONNECTION

    def redelivery(self) -> tuple[dict[str, str], dict[str, str]] | None:
        sent = _deliveries([503, 200])
        assert len(sent) == 2
        assert sent[0][0] == sent[1][0]
        return sent[0][1], sent[1][1]


def _deliveries(statuses: list[int]) -> list[tuple[bytes, dict[str, str]]]:
    """What the sandbox really POSTs for one new return, answered with ``statuses`` in turn."""
    sent: list[tuple[bytes, dict[str, str]]] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append((request.content, dict(request.headers)))
        return httpx.Response(statuses[min(len(sent), len(statuses)) - 1])

    app = _sandbox(options=SandboxOptions(webhook_retry_delays=[0.01]), webhook_transport=httpx.MockTransport(receive))
    loop = app.state.loop
    loop.subscribe("return", "https://receiver.test/webhooks/loop/conn-contract", triggers=["return.created"])

    async def main() -> None:
        async with app.router.lifespan_context(app):
            loop.create_returns(1)
            for _ in range(500):
                if not loop.sender.busy:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(main())
    return sent
