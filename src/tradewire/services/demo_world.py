"""The demo's world: a partner, a retailer, and its Shopify and NetSuite sandboxes on loopback."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from tradewire.connectors import get_spec
from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.runtime.store.port import Store
from tradewire.tenancy.secrets import SecretBox

CATALOG: list[tuple[str, str, str]] = [
    ("TEE-ORG-S", "Organic cotton tee — S", "24.00"),
    ("TEE-ORG-M", "Organic cotton tee — M", "24.00"),
    ("TEE-ORG-L", "Organic cotton tee — L", "24.00"),
    ("HOOD-MRN-M", "Merino hoodie — M", "89.00"),
    ("HOOD-MRN-L", "Merino hoodie — L", "89.00"),
    ("JEAN-SLM-32", "Slim jeans 32", "74.50"),
    ("JEAN-SLM-34", "Slim jeans 34", "74.50"),
    ("SOCK-3PK", "Wool socks, 3 pack", "18.00"),
    ("CAP-CRD-OS", "Corduroy cap", "29.00"),
    ("BAG-CNV-TOTE", "Canvas tote", "35.00"),
    ("SNK-RUN-42", "Running sneaker 42", "119.00"),
    ("SNK-RUN-43", "Running sneaker 43", "119.00"),
    ("SCRF-LMB", "Lambswool scarf", "45.00"),
    ("BELT-LTH-M", "Leather belt — M", "55.00"),
    ("GIFT-WRAP", "Gift wrap", "5.00"),
]

ACCOUNT_ID = "1234567_SB1"


@dataclass
class DemoKnobs:
    """How unkind the sandboxes are during the demo."""

    netsuite: FaultKnobs
    shopify: FaultKnobs
    netsuite_concurrency: int = 20

    @classmethod
    def faulty(cls, seed: int | None = None) -> DemoKnobs:
        """Some 429s, 5xx and timeouts from NetSuite; duplicate and late webhooks from Shopify."""
        return cls(
            netsuite=FaultKnobs(
                fail_rate=0.02, rate_limit_rate=0.03, retry_after_seconds=0.2, timeout_rate=0.005,
                timeout_seconds=2.5, latency_ms=2.0, seed=seed,
            ),
            shopify=FaultKnobs(duplicate_webhook_rate=0.1, out_of_order_rate=0.02, seed=seed),
        )  # fmt: skip

    @classmethod
    def calm(cls) -> DemoKnobs:
        """No faults (for benchmarks of the happy path)."""
        return cls(netsuite=FaultKnobs(), shopify=FaultKnobs())


@dataclass
class DemoWorld:
    """The running sandboxes and the ids of what was set up in the store."""

    client_id: str
    shopify_connection: str
    netsuite_connection: str
    shopify_server: LoopbackServer
    netsuite_server: LoopbackServer

    @property
    def shop(self) -> Any:
        """The Shopify sandbox's state (create orders, delivery log…)."""
        return self.shopify_server.app.state.shop

    @property
    def netsuite(self) -> Any:
        """The NetSuite sandbox's state (sales orders, duplicates, creation times…)."""
        return self.netsuite_server.app.state.netsuite

    def subscribe(self, webhook_base_url: str) -> None:
        """Point the shop's order webhooks at our receiver."""
        address = f"{webhook_base_url}/webhooks/shopify/{self.shopify_connection}"
        for topic in ("orders/create", "orders/updated", "orders/cancelled"):
            self.shop.subscribe(topic, address)

    def stop(self) -> None:
        """Stop both sandboxes."""
        self.shopify_server.stop()
        self.netsuite_server.stop()


def build_world(store: Store, box: SecretBox, knobs: DemoKnobs, *, seed: int | None = None) -> DemoWorld:
    """Start both sandboxes on free loopback ports and create the tenant that uses them."""
    ns_secrets = {
        "consumer_key": secrets.token_hex(32),
        "consumer_secret": secrets.token_hex(32),
        "token_id": secrets.token_hex(32),
        "token_secret": secrets.token_hex(32),
    }
    ns_app = get_spec("netsuite").sandbox(  # type: ignore[misc]
        account_id=ACCOUNT_ID,
        knobs=knobs.netsuite,
        concurrency_limit=knobs.netsuite_concurrency,
        items=CATALOG,
        seed=seed,
        **ns_secrets,
    )
    discount_ids = ns_app.state.netsuite.seed_items([("ORDER-DISCOUNT", "Order discount", "0")])
    netsuite_server = LoopbackServer(ns_app).start()

    shop_secrets = {"client_secret": secrets.token_hex(24), "access_token": "shpat_" + secrets.token_hex(16)}
    shop_app = get_spec("shopify").sandbox(  # type: ignore[misc]
        knobs=knobs.shopify, catalog=CATALOG, seed=seed, **shop_secrets
    )
    shopify_server = LoopbackServer(shop_app).start()

    partner = store.create_partner("Northwind Integrations")
    client = store.create_client(partner, "Evergreen Outfitters")
    netsuite_connection = store.create_connection(
        client,
        "netsuite",
        "NetSuite (sandbox)",
        {
            "account_id": ACCOUNT_ID,
            "base_url": netsuite_server.url,
            "subsidiary_id": "1",
            "discount_item_id": discount_ids["ORDER-DISCOUNT"],
            "max_concurrency": knobs.netsuite_concurrency,
            "request_timeout_seconds": 2.0,
            "budgets": {"rest": {"rate": 2000.0, "burst": 2000.0}},
        },
        box.seal(ns_secrets),
    )
    shopify_connection = store.create_connection(
        client,
        "shopify",
        "Shopify (sandbox)",
        {
            "shop_domain": "tradewire-sandbox.myshopify.com",
            "base_url": shopify_server.url,
            "routes": {"erp": netsuite_connection},
        },
        box.seal(shop_secrets),
    )
    return DemoWorld(client, shopify_connection, netsuite_connection, shopify_server, netsuite_server)
