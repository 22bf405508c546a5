"""What ``benchmarks/connectors.py`` runs for each connector: a sandbox, a client, one typical call.

A :class:`Case` starts a fresh sandbox on 127.0.0.1, either with the vendor's published limits
enforced (``limited=True``) or lifted, and returns a :class:`Harness` whose ``call`` makes one
typical read and returns how many of the vendor's limit units it consumed (requests, or cost points
for Shopify's GraphQL).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tradewire.connectors import get_spec
from tradewire.connectors.base.budget import RateBudget, RateLimit
from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.connectors.base.spec import Connection
from tradewire.services.demo_world import CATALOG


@dataclass
class Harness:
    """A running sandbox and how to call it."""

    server: LoopbackServer
    open_client: Callable[[RateBudget], Any]
    call: Callable[[Any], Awaitable[float]]

    def server_native_id(self) -> int | None:
        """The OS thread id of the sandbox's server (for its CPU time)."""
        thread = self.server._thread
        return thread.native_id if thread is not None else None

    async def close_client(self, client: Any) -> None:
        await client.aclose()

    def stop(self) -> None:
        self.server.stop()


@dataclass
class Case:
    system: str
    operation: str
    unit: str
    published_limit: str
    limit_per_second: float | None
    limit_burst: float
    start: Callable[[bool], Harness]

    def spec_limits(self) -> tuple[RateLimit, ...]:
        """The limits the connector declares (what its shared budget enforces)."""
        return get_spec(self.system).rate_limits


def _connection(system: str, settings: dict[str, Any], secrets_: dict[str, str]) -> Connection:
    return Connection(id=f"bench-{system}", client_id="bench", system=system, settings=settings, secrets=secrets_)


def shopify(limited: bool) -> Harness:
    from tradewire.connectors.shopify.client import ORDER_QUERY_COST, ShopifyAdminClient
    from tradewire.connectors.shopify.sandbox import create_sandbox
    from tradewire.connectors.shopify.sandbox_shop import SandboxOptions

    token, secret = "shpat_" + secrets.token_hex(16), secrets.token_hex(16)
    options = SandboxOptions() if limited else SandboxOptions(bucket_size=1e9, restore_rate=1e9)
    app = create_sandbox(client_secret=secret, access_token=token, catalog=CATALOG, seed=3, options=options)
    ids = [order["id"] for order in app.state.shop.create_orders(50)]
    server = LoopbackServer(app).start()
    connection = _connection(
        "shopify",
        {"shop_domain": "bench.myshopify.com", "base_url": server.url},
        {"client_secret": secret, "access_token": token},
    )
    rng = random.Random(1)

    async def call(client: ShopifyAdminClient) -> float:
        await client.get_order(rng.choice(ids))
        return float(ORDER_QUERY_COST)

    return Harness(server, lambda budget: ShopifyAdminClient.from_connection(connection, budget), call)


def netsuite(limited: bool) -> Harness:
    from tradewire.connectors.netsuite.client import NetSuiteClient
    from tradewire.connectors.netsuite.sandbox import create_sandbox
    from tradewire.connectors.netsuite.settings import NetSuiteSecrets, NetSuiteSettings

    keys = {k: secrets.token_hex(16) for k in ("consumer_key", "consumer_secret", "token_id", "token_secret")}
    app = create_sandbox(account_id="BENCH_SB1", concurrency_limit=5 if limited else 1000, items=CATALOG, **keys)
    item_ids = list(app.state.netsuite.seed_items([("BENCH-1", "Bench item", "1")]).values())
    server = LoopbackServer(app).start()
    settings = NetSuiteSettings(
        account_id="BENCH_SB1", base_url=server.url, subsidiary_id="1", max_concurrency=5 if limited else 64
    )
    secrets_ = NetSuiteSecrets.model_validate(keys)

    async def call(client: NetSuiteClient) -> float:
        await client.get_record("inventoryItem", item_ids[0])
        return 1.0

    return Harness(server, lambda budget: NetSuiteClient(settings, secrets_, budget=budget), call)


def shipstation(limited: bool) -> Harness:
    from tradewire.connectors.shipstation.client import ShipStationClient
    from tradewire.connectors.shipstation.sandbox import create_sandbox
    from tradewire.connectors.shipstation.sandbox_query import SandboxOptions
    from tradewire.connectors.shipstation.settings import ShipStationSecrets, ShipStationSettings

    key, secret = secrets.token_hex(8), secrets.token_hex(16)
    options = SandboxOptions() if limited else SandboxOptions(requests_per_minute=10**9)
    app = create_sandbox(api_key=key, api_secret=secret, options=options)
    server = LoopbackServer(app).start()
    settings = ShipStationSettings(base_url=server.url)
    secrets_ = ShipStationSecrets.model_validate(
        {"api_key": key, "api_secret": secret, "webhook_token": secrets.token_hex(16)}
    )

    async def call(client: ShipStationClient) -> float:
        await client.shipments_page(page=1, page_size=50)
        return 1.0

    return Harness(server, lambda budget: ShipStationClient(settings, secrets_, budget=budget), call)


def amazon(limited: bool) -> Harness:
    from tradewire.connectors.amazon.client import AmazonClient
    from tradewire.connectors.amazon.operations import OPERATIONS
    from tradewire.connectors.amazon.sandbox import create_sandbox
    from tradewire.connectors.amazon.sandbox_store import SandboxOptions
    from tradewire.connectors.amazon.settings import AmazonSecrets, AmazonSettings

    creds = {"client_id": "amzn1.application-oa2-client.b", "client_secret": "cs", "refresh_token": "Atzr|b"}
    lifted = dict.fromkeys(OPERATIONS, (1000000.0, 1000000.0))
    app = create_sandbox(
        **creds, catalog=CATALOG, seed=3, options=SandboxOptions() if limited else SandboxOptions(limits=lifted)
    )
    ids = app.state.amazon.create_orders(30)
    server = LoopbackServer(app).start()
    settings = AmazonSettings(seller_id="A3TH9S8BH6GOGM", base_url=server.url, token_url=f"{server.url}/auth/o2/token")
    secrets_ = AmazonSecrets.model_validate(creds)
    rng = random.Random(2)

    async def call(client: AmazonClient) -> float:
        await client.get_order(rng.choice(ids))
        return 1.0

    return Harness(server, lambda budget: AmazonClient(settings, secrets_, budget=budget), call)


def walmart(limited: bool) -> Harness:
    from tradewire.connectors.walmart.client import WalmartClient
    from tradewire.connectors.walmart.sandbox import create_sandbox
    from tradewire.connectors.walmart.sandbox_store import SandboxOptions

    creds = {"client_id": secrets.token_hex(8), "client_secret": secrets.token_hex(16)}
    options = SandboxOptions()
    if not limited:
        options = SandboxOptions(buckets=dict.fromkeys(options.buckets, (1000000.0, 1000000.0)))
    app = create_sandbox(**creds, catalog=CATALOG, seed=3, options=options)
    ids = [order["purchaseOrderId"] for order in app.state.walmart.create_orders(30)]
    server = LoopbackServer(app).start()
    connection = _connection("walmart", {"base_url": server.url}, creds)
    rng = random.Random(2)

    async def call(client: WalmartClient) -> float:
        await client.get_order(rng.choice(ids))
        return 1.0

    return Harness(server, lambda budget: WalmartClient.from_connection(connection, budget), call)


def loop(limited: bool) -> Harness:
    from tradewire.connectors.loop.client import LoopClient
    from tradewire.connectors.loop.sandbox import create_sandbox
    from tradewire.connectors.loop.sandbox_options import SandboxOptions

    key, webhook_secret = secrets.token_hex(16), secrets.token_hex(16)
    options = SandboxOptions() if limited else SandboxOptions(rate_per_second=1e6, rate_burst=1e6)
    app = create_sandbox(api_key=key, webhook_secret=webhook_secret, catalog=CATALOG, seed=3, options=options)
    ids = [r["id"] for r in app.state.loop.create_returns(30)]
    server = LoopbackServer(app).start()
    connection = _connection(
        "loop", {"base_url": f"{server.url}/api/v1"}, {"api_key": key, "webhook_secret": webhook_secret}
    )
    rng = random.Random(2)

    async def call(client: LoopClient) -> float:
        await client.get_return(rng.choice(ids))
        return 1.0

    return Harness(server, lambda budget: LoopClient.from_connection(connection, budget), call)


def businesscentral(limited: bool) -> Harness:
    from tradewire.connectors.businesscentral.client import BusinessCentralClient
    from tradewire.connectors.businesscentral.sandbox import create_sandbox
    from tradewire.connectors.businesscentral.settings import BusinessCentralSecrets, BusinessCentralSettings

    creds = {"client_id": secrets.token_hex(8), "client_secret": secrets.token_hex(16)}
    company = "824820a2-508c-ed11-aada-000d3a298ab3"
    lifted = {} if limited else {"rate_limit_requests": 10**9, "concurrency_limit": 1000, "queue_size": 10**6}
    app = create_sandbox(tenant_id="bench", company_id=company, items=CATALOG, **creds, **lifted)
    server = LoopbackServer(app).start()
    settings = BusinessCentralSettings(
        tenant_id="bench",
        company_id=company,
        base_url=server.url,
        authority_url=server.url,
        max_concurrency=5 if limited else 64,
    )
    secrets_ = BusinessCentralSecrets.model_validate(creds)
    rng = random.Random(2)
    skus = [sku for sku, _, _ in CATALOG]

    async def call(client: BusinessCentralClient) -> float:
        await client.items_by_number([rng.choice(skus)])
        return 1.0

    return Harness(server, lambda budget: BusinessCentralClient(settings, secrets_, budget=budget), call)


CASES: dict[str, Case] = {
    "shopify": Case(
        "shopify", "GraphQL order (full, 50 lines)", "cost points",
        "100 points/s restored, bucket 2000 (Standard plan)", 100.0, 2000.0, shopify,
    ),
    "netsuite": Case(
        "netsuite", "REST GET inventoryItem", "requests",
        "5 concurrent requests (shared tier); no rate limit", None, 0.0, netsuite,
    ),
    "shipstation": Case(
        "shipstation", "V1 GET /shipments (page of 50)", "requests",
        "40 requests per 60 s window per key+secret", 40 / 60.0, 0.0, shipstation,
    ),
    "amazon": Case(
        "amazon", "Orders v0 getOrder", "requests",
        "getOrder: 0.5 requests/s, burst 30 (per selling partner and application)", 0.5, 30.0, amazon,
    ),
    "walmart": Case(
        "walmart", "GET /v3/orders/{purchaseOrderId}", "requests",
        "orders: 10 requests/s, 50 tokens [unverified: Walmart publishes per-seller numbers]", 10.0, 50.0, walmart,
    ),
    "loop": Case(
        "loop", "GET /warehouse/return/details", "requests",
        "sandbox 10 requests/s, burst 20 [unverified: Loop publishes no number]", 10.0, 20.0, loop,
    ),
    "businesscentral": Case(
        "businesscentral", "GET items?$filter=number eq …", "requests",
        "6,000 requests per 5 min per user (20/s), 5 concurrent", 20.0, 100.0, businesscentral,
    ),
}  # fmt: skip
