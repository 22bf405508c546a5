"""A tenant on a real database (SQLite or PostgreSQL) with a NetSuite sandbox on loopback.

``world`` gives each test its own database, its own sandbox and its own client, plus the small
helpers both integration suites need: signed Shopify headers, counting what was stored, and a
worker running in the test's event loop until the runs settle (always with a bounded wait).
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tradewire.connectors.base.auth import hmac_sha256_base64
from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.connectors.netsuite.sandbox import NetSuiteSandbox, create_sandbox
from tradewire.connectors.shopify.sandbox_shop import SandboxOptions, SandboxShop
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.port import RunFilter, RunRecord, Store
from tradewire.runtime.store.tables import messages
from tradewire.services.demo_world import ACCOUNT_ID, CATALOG
from tradewire.services.ingest import WebhookIngest
from tradewire.services.processes import WorkerBundle, build_ingest, build_worker
from tradewire.settings import Settings
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

SECRET_KEY = "integration-tests-" + "k" * 40
SETTLE_SECONDS = 30.0


def make_settings(url: str, **api: Any) -> Settings:
    """Settings for a test: fast retries and polling, the given database."""
    return Settings(
        secret_key=SECRET_KEY,
        database={"url": url},
        api=api,
        retry={"base_seconds": 0.05, "cap_seconds": 0.5},
        worker={"idle_poll_seconds": 0.02, "heartbeat_seconds": 0.5, "budget_wait_inline_seconds": 0.2},
    )


def now_iso(delta_seconds: float = 0.0) -> str:
    """An X-Shopify-Triggered-At value ``delta_seconds`` from now."""
    moment = datetime.now(UTC).timestamp() + delta_seconds
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class World:
    """One client with a Shopify connection routed to a NetSuite sandbox connection."""

    settings: Settings
    store: Store
    client_id: str
    shopify_id: str
    netsuite_id: str
    shop_secret: str
    ns_secrets: dict[str, str]
    netsuite_server: LoopbackServer
    shop: SandboxShop

    @property
    def ns(self) -> NetSuiteSandbox:
        """The NetSuite sandbox's state."""
        sandbox: NetSuiteSandbox = self.netsuite_server.app.state.netsuite
        return sandbox

    # --- deliveries ---------------------------------------------------------------------------

    @staticmethod
    def now_iso(delta_seconds: float = 0.0) -> str:
        """An X-Shopify-Triggered-At value ``delta_seconds`` from now."""
        return now_iso(delta_seconds)

    def headers(
        self,
        body: bytes,
        *,
        topic: str = "orders/create",
        event_id: str | None = None,
        triggered_at: str | None = None,
        secret: str | None = None,
    ) -> dict[str, str]:
        """Headers Shopify would send with ``body``."""
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": hmac_sha256_base64(secret or self.shop_secret, body),
            "X-Shopify-Shop-Domain": "tradewire-sandbox.myshopify.com",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": triggered_at or now_iso(),
        }

    def new_order(self, *, same_customer_as: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
        """A realistic Shopify REST order (the shop sandbox's generator) of a new customer, or of the given
        order's customer."""
        number = 1000 + len(self.shop.orders) + 1
        order = self.shop.generator.new_order(order_id=self.shop.next_id(), number=number, now=self.shop.now_text())
        if same_customer_as is not None:
            for key in ("customer", "email", "contact_email", "billing_address", "shipping_address"):
                order[key] = copy.deepcopy(same_customer_as[key])
        else:
            customer_id = self.shop.next_id()
            email = f"buyer.{customer_id}@example.com"
            order["customer"] = {**order["customer"], "id": customer_id, "email": email,
                                 "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}"}  # fmt: skip
            order["email"] = order["contact_email"] = email
        order.update(changes)
        self.shop.orders[order["id"]] = order
        return order

    async def deliver(self, ingest: WebhookIngest, order: dict[str, Any], topic: str = "orders/create") -> str:
        """Ingest one signed delivery of ``order``; returns the acknowledgement status."""
        body = json.dumps(order).encode()
        accepted = await ingest.receive("shopify", self.shopify_id, body, self.headers(body, topic=topic))
        return accepted.status

    # --- what was stored ------------------------------------------------------------------------

    def runs(self, **fields: Any) -> list[RunRecord]:
        """This client's runs (newest first), filtered like the API filters them."""
        with client_scope(self.client_id):
            return self.store.list_runs(RunFilter(limit=1000, **fields))

    def run(self, run_id: int) -> RunRecord:
        """One run with its steps."""
        with client_scope(self.client_id):
            return self.store.get_run(run_id)

    def message_count(self) -> int:
        """Messages stored for this client."""
        engine = self.store.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            query = select(func.count()).select_from(messages).where(messages.c.client_id == self.client_id)
            return int(conn.execute(query).scalar_one())

    def sales_orders_for(self, order: dict[str, Any]) -> list[Any]:
        """NetSuite sales orders carrying the Shopify order's name."""
        return [so for so in self.ns.sales_orders() if so.other_ref_num == order["name"]]

    # --- running the worker ---------------------------------------------------------------------

    @asynccontextmanager
    async def pipeline(self, *, worker: bool = True) -> AsyncIterator[tuple[WebhookIngest, WorkerBundle]]:
        """The receiver's use case and a worker looping in this event loop (stopped on exit)."""
        ingest = build_ingest(self.settings, self.store)
        bundle = build_worker(self.settings, self.store, worker_id=f"test-{uuid.uuid4().hex[:6]}")
        ingest.on_enqueued = bundle.worker.wake
        stop = asyncio.Event()
        task = asyncio.create_task(bundle.worker.run(stop, drain_seconds=5.0)) if worker else None
        try:
            yield ingest, bundle
        finally:
            stop.set()
            if task is not None:
                await asyncio.wait_for(task, 15.0)
            await bundle.aclose()
            await ingest.batcher.aclose()
            ingest.db.shutdown()

    async def wait_for(self, check: Callable[[], bool], what: str, timeout: float = SETTLE_SECONDS) -> None:
        """Poll ``check`` (off the loop) until true; fail with ``what`` after ``timeout`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not await asyncio.to_thread(check):
            if asyncio.get_running_loop().time() > deadline:
                states = [(r.id, r.flow, r.state.value, r.last_error) for r in self.runs()]
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; runs: {states}")
            await asyncio.sleep(0.02)

    async def settle(self, expected_runs: int, timeout: float = SETTLE_SECONDS) -> list[RunRecord]:
        """Wait until at least ``expected_runs`` runs exist and every run has ended."""

        def done() -> bool:
            runs = self.runs()
            return len(runs) >= expected_runs and all(r.state.terminal for r in runs)

        await self.wait_for(done, f"{expected_runs} runs to end", timeout)
        return self.runs()


def start_netsuite(knobs: FaultKnobs | None = None) -> tuple[LoopbackServer, dict[str, str], str]:
    """The NetSuite sandbox on 127.0.0.1 with the demo catalogue; returns server, secrets, discount item id."""
    ns_secrets = {k: secrets.token_hex(16) for k in ("consumer_key", "consumer_secret", "token_id", "token_secret")}
    app = create_sandbox(account_id=ACCOUNT_ID, knobs=knobs, concurrency_limit=50, items=CATALOG, **ns_secrets)
    discount = app.state.netsuite.seed_items([("ORDER-DISCOUNT", "Order discount", "0")])["ORDER-DISCOUNT"]
    return LoopbackServer(app).start(), ns_secrets, discount


def build_tenant(
    settings: Settings, store: Store, server: LoopbackServer, ns_secrets: dict[str, str], discount_id: str
) -> World:
    """A partner, a client, its NetSuite and Shopify connections (secrets sealed like production)."""
    box = SecretBox(settings.secret_key.get_secret_value())
    partner = store.create_partner(f"Partner {uuid.uuid4().hex[:6]}")
    client = store.create_client(partner, f"Retailer {uuid.uuid4().hex[:6]}")
    netsuite_id = store.create_connection(
        client,
        "netsuite",
        "NetSuite (sandbox)",
        {
            "account_id": ACCOUNT_ID,
            "base_url": server.url,
            "subsidiary_id": "1",
            "discount_item_id": discount_id,
            "max_concurrency": 10,
            "request_timeout_seconds": 5.0,
            "budgets": {"rest": {"rate": 2000.0, "burst": 2000.0}},
        },
        box.seal(ns_secrets),
    )
    shop_secret = secrets.token_hex(24)
    shopify_id = store.create_connection(
        client,
        "shopify",
        "Shopify (sandbox)",
        {"shop_domain": "tradewire-sandbox.myshopify.com", "routes": {"erp": netsuite_id}},
        box.seal({"client_secret": shop_secret, "access_token": "shpat_" + secrets.token_hex(16)}),
    )
    shop = SandboxShop(
        client_secret=shop_secret,
        access_token="unused",
        catalog=CATALOG,
        seed=7,
        options=SandboxOptions(customer_pool=1000, guest_rate=0.0),
    )
    return World(settings, store, client, shopify_id, netsuite_id, shop_secret, ns_secrets, server, shop)


@pytest.fixture
def world_factory(db_url: str) -> Iterator[Callable[..., World]]:
    """Builds the test's world (optionally with API settings such as ``token``); cleans up after."""
    opened: list[tuple[Store, LoopbackServer]] = []

    def make(**api: Any) -> World:
        settings = make_settings(db_url, **api)
        store = open_store(db_url, settings=settings.database)
        server, ns_secrets, discount = start_netsuite()
        opened.append((store, server))
        return build_tenant(settings, store, server, ns_secrets, discount)

    yield make
    for store, server in opened:
        server.stop()
        store.close()


@pytest.fixture
def world(world_factory: Callable[..., World]) -> World:
    """The default world."""
    return world_factory()
