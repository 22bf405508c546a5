"""The demo's systems: each channel and ERP sandbox behind one small adapter.

A channel adapter starts its vendor's sandbox on loopback, creates the client's connection (routed
to the ERP), creates and cancels orders there, and says when each order's first notification was
sent. An ERP adapter starts its sandbox, creates the connection and reads the ledger back: which
canonical orders it holds, when each was created, whether it was cancelled, and how many duplicates
it has. The demo and its ledger check only speak to these adapters.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tradewire.connectors import get_spec
from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.runtime.store.port import Store
from tradewire.tenancy.secrets import SecretBox

CatalogEntry = tuple[str, str, str]


@dataclass(frozen=True)
class ErpRecord:
    """One sales order in the ERP, as the ledger check sees it."""

    created_at: float
    cancelled: bool


@dataclass(frozen=True)
class SystemContext:
    """What every adapter needs to set itself up."""

    store: Store
    box: SecretBox
    client_id: str
    catalog: list[CatalogEntry]
    knobs: FaultKnobs
    seed: int | None
    erp_concurrency: int = 20


class DemoChannel(Protocol):
    """A sales channel in the demo."""

    system: str
    display_name: str
    connection_id: str
    server: LoopbackServer

    def subscribe(self, api_url: str) -> None:
        """Point the channel's order notifications at our receiver."""
        ...

    def create_orders(self, count: int) -> list[str]:
        """Create ``count`` realistic orders; returns their ids in the channel."""
        ...

    def cancel_order(self, external_id: str) -> None:
        """Cancel one order (the channel notifies us)."""
        ...

    def pending_deliveries(self) -> int:
        """Notifications not delivered yet (queued, in flight or waiting for a retry)."""
        ...

    def first_sent(self) -> dict[str, float]:
        """Order id → when its first 'created' notification was sent (epoch seconds)."""
        ...

    def deliveries(self) -> tuple[int, int]:
        """(notifications sent, of which duplicates)."""
        ...

    def order_key(self, external_id: str) -> str:
        """The natural key the connector's mapping gives the canonical id of this order."""
        ...


class DemoErp(Protocol):
    """The ERP in the demo."""

    system: str
    display_name: str
    connection_id: str
    server: LoopbackServer

    def records(self) -> dict[str, ErpRecord]:
        """Sales orders by the canonical order id they were created for."""
        ...

    def duplicates(self) -> int:
        """Sales orders beyond the first for one canonical order."""
        ...

    def faults(self) -> dict[str, int]:
        """Faults injected so far (throttled, faults, timeouts…)."""
        ...


# --- Shopify -------------------------------------------------------------------------------------


class ShopifyChannel:
    """The Shopify sandbox: orders created there are signed and sent as ``orders/*`` webhooks."""

    system = "shopify"
    display_name = "Shopify"

    def __init__(self, ctx: SystemContext, erp_connection_id: str) -> None:
        shop_secrets = {"client_secret": secrets.token_hex(24), "access_token": "shpat_" + secrets.token_hex(16)}
        sandbox = get_spec("shopify").sandbox
        assert sandbox is not None
        app = sandbox(knobs=ctx.knobs, catalog=ctx.catalog, seed=ctx.seed, **shop_secrets)
        self.server = LoopbackServer(app).start()
        self.connection_id = ctx.store.create_connection(
            ctx.client_id,
            "shopify",
            "Shopify (sandbox)",
            {
                "shop_domain": "tradewire-sandbox.myshopify.com",
                "base_url": self.server.url,
                "routes": {"erp": erp_connection_id},
            },
            ctx.box.seal(shop_secrets),
        )

    @property
    def shop(self) -> Any:
        """The sandbox's state (orders, deliveries, knobs)."""
        return self.server.app.state.shop

    def subscribe(self, api_url: str) -> None:
        address = f"{api_url}/webhooks/shopify/{self.connection_id}"
        for topic in ("orders/create", "orders/updated", "orders/cancelled"):
            self.shop.subscribe(topic, address)

    def create_orders(self, count: int) -> list[str]:
        return [str(order["id"]) for order in self.shop.create_orders(count)]

    def cancel_order(self, external_id: str) -> None:
        self.shop.cancel_order(int(external_id))

    def pending_deliveries(self) -> int:
        return int(self.shop.sender.busy)

    def first_sent(self) -> dict[str, float]:
        return _first_sent(self.shop.delivery_log(), topic_prefix="orders/create", key="order_id")

    def deliveries(self) -> tuple[int, int]:
        return _delivery_counts(self.shop.delivery_log())

    def order_key(self, external_id: str) -> str:
        return f"shopify:{self.connection_id}:{external_id}"


def _first_sent(log: list[dict[str, Any]], *, topic_prefix: str, key: str) -> dict[str, float]:
    first: dict[str, float] = {}
    for delivery in log:
        sent = delivery["first_sent_at"]
        if str(delivery["topic"]).startswith(topic_prefix) and sent is not None:
            name = str(delivery[key])
            first[name] = min(first.get(name, sent), sent)
    return first


def _delivery_counts(log: list[dict[str, Any]]) -> tuple[int, int]:
    return len(log), sum(1 for d in log if d["duplicate"])


# --- Amazon --------------------------------------------------------------------------------------


class AmazonChannel:
    """The SP-API sandbox: ORDER_CHANGE notifications through a relay, orders read with getOrder."""

    system = "amazon"
    display_name = "Amazon"

    def __init__(self, ctx: SystemContext, erp_connection_id: str) -> None:
        creds = {
            "client_id": "amzn1.application-oa2-client." + secrets.token_hex(16),
            "client_secret": secrets.token_hex(32),
            "refresh_token": "Atzr|" + secrets.token_urlsafe(48),
        }
        self.relay_secret = secrets.token_urlsafe(32)
        sandbox = get_spec("amazon").sandbox
        assert sandbox is not None
        app = sandbox(knobs=ctx.knobs, catalog=ctx.catalog, seed=ctx.seed, **creds)
        self.server = LoopbackServer(app).start()
        self.connection_id = ctx.store.create_connection(
            ctx.client_id,
            "amazon",
            "Amazon (sandbox)",
            {
                "seller_id": "A3TH9S8BH6GOGM",
                "marketplace_ids": ["ATVPDKIKX0DER"],
                "base_url": self.server.url,
                "token_url": f"{self.server.url}/auth/o2/token",
                "routes": {"erp": erp_connection_id},
                "poll": {"orders": {"every_seconds": 30}},
                "budgets": _SANDBOX_BUDGETS,
            },
            ctx.box.seal({**creds, "relay_secret": self.relay_secret}),
        )

    @property
    def amazon(self) -> Any:
        """The sandbox's state."""
        return self.server.app.state.amazon

    def subscribe(self, api_url: str) -> None:
        self.amazon.subscribe(f"{api_url}/webhooks/amazon/{self.connection_id}", self.relay_secret)

    def create_orders(self, count: int) -> list[str]:
        return [str(order_id) for order_id in self.amazon.create_orders(count)]

    def cancel_order(self, external_id: str) -> None:
        self.amazon.cancel_order(external_id)

    def pending_deliveries(self) -> int:
        return int(self.amazon.sender.busy)

    def first_sent(self) -> dict[str, float]:
        return _first_sent(self.amazon.delivery_log(), topic_prefix="", key="object_id")

    def deliveries(self) -> tuple[int, int]:
        return _delivery_counts(self.amazon.delivery_log())

    def order_key(self, external_id: str) -> str:
        return f"amazon:{external_id}"  # Amazon order ids are unique across sellers and connections


# --- Walmart -------------------------------------------------------------------------------------


class WalmartChannel:
    """The Marketplace sandbox: PO_CREATED / ORDER_UPDATES webhooks with OAUTH endpoint auth."""

    system = "walmart"
    display_name = "Walmart"

    def __init__(self, ctx: SystemContext, erp_connection_id: str) -> None:
        creds = {"client_id": secrets.token_hex(16), "client_secret": secrets.token_hex(32)}
        self.oauth = {
            "webhook_oauth_client_id": secrets.token_hex(12),
            "webhook_oauth_client_secret": secrets.token_hex(24),
        }
        sandbox = get_spec("walmart").sandbox
        assert sandbox is not None
        app = sandbox(knobs=ctx.knobs, catalog=ctx.catalog, seed=ctx.seed, **creds)
        self.server = LoopbackServer(app).start()
        self.connection_id = ctx.store.create_connection(
            ctx.client_id,
            "walmart",
            "Walmart (sandbox)",
            {
                "base_url": self.server.url,
                "webhook_auth_method": "OAUTH",
                "routes": {"erp": erp_connection_id},
                "poll": {"orders": {"every_seconds": 30}},
                "budgets": _SANDBOX_BUDGETS,
            },
            ctx.box.seal({**creds, **self.oauth}),
        )

    @property
    def walmart(self) -> Any:
        """The sandbox's state."""
        return self.server.app.state.walmart

    def subscribe(self, api_url: str) -> None:
        address = f"{api_url}/webhooks/walmart/{self.connection_id}"
        auth = {
            "authMethod": "OAUTH",
            "clientId": self.oauth["webhook_oauth_client_id"],
            "clientSecret": self.oauth["webhook_oauth_client_secret"],
            "authUrl": f"{address}?oauth=token",
            "authHeaderName": "Authorization",
        }
        for event in ("PO_CREATED", "PO_LINE_AUTOCANCELLED"):
            self.walmart.subscribe(event, address, auth_details=auth)

    def create_orders(self, count: int) -> list[str]:
        return [str(order["purchaseOrderId"]) for order in self.walmart.create_orders(count)]

    def cancel_order(self, external_id: str) -> None:
        self.walmart.auto_cancel(external_id)

    def pending_deliveries(self) -> int:
        return int(self.walmart.sender.busy)

    def first_sent(self) -> dict[str, float]:
        return _first_sent(self.walmart.delivery_log(), topic_prefix="PO_CREATED", key="object_id")

    def deliveries(self) -> tuple[int, int]:
        return _delivery_counts(self.walmart.delivery_log())

    def order_key(self, external_id: str) -> str:
        return f"walmart:{self.connection_id}:{external_id}"


# Sandboxes enforce the vendor's limits; the demo's connections may use more of them.
_SANDBOX_BUDGETS: dict[str, dict[str, float]] = {}


# --- NetSuite ------------------------------------------------------------------------------------

NETSUITE_ACCOUNT = "1234567_SB1"


class NetSuiteErp:
    """The NetSuite sandbox: sales orders upserted by external id (the canonical order id)."""

    system = "netsuite"
    display_name = "NetSuite"

    def __init__(self, ctx: SystemContext) -> None:
        keys = {k: secrets.token_hex(32) for k in ("consumer_key", "consumer_secret", "token_id", "token_secret")}
        sandbox = get_spec("netsuite").sandbox
        assert sandbox is not None
        app = sandbox(
            account_id=NETSUITE_ACCOUNT,
            knobs=ctx.knobs,
            concurrency_limit=ctx.erp_concurrency,
            items=ctx.catalog,
            seed=ctx.seed,
            **keys,
        )
        discount_ids = app.state.netsuite.seed_items([("ORDER-DISCOUNT", "Order discount", "0")])
        self.server = LoopbackServer(app).start()
        self.connection_id = ctx.store.create_connection(
            ctx.client_id,
            "netsuite",
            "NetSuite (sandbox)",
            {
                "account_id": NETSUITE_ACCOUNT,
                "base_url": self.server.url,
                "subsidiary_id": "1",
                "discount_item_id": discount_ids["ORDER-DISCOUNT"],
                "max_concurrency": ctx.erp_concurrency,
                "request_timeout_seconds": 2.0,
                "budgets": {"rest": {"rate": 2000.0, "burst": 2000.0}},
            },
            ctx.box.seal(keys),
        )

    @property
    def netsuite(self) -> Any:
        """The sandbox's state (sales orders, duplicates, counters)."""
        return self.server.app.state.netsuite

    def records(self) -> dict[str, ErpRecord]:
        return {
            row.external_id: ErpRecord(created_at=row.created_at, cancelled=row.status == "C")
            for row in self.netsuite.sales_orders()
            if row.external_id
        }

    def duplicates(self) -> int:
        return int(sum(count - 1 for count in self.netsuite.duplicates().values()))

    def faults(self) -> dict[str, int]:
        stats = self.netsuite.snapshot_stats()
        names = ("throttled", "faults", "timeouts", "concurrency_rejections", "auth_failures")
        return {k: int(v) for k, v in stats.items() if k in names and v}


# --- Business Central ----------------------------------------------------------------------------

BC_COMPANY = "824820a2-508c-ed11-aada-000d3a298ab3"


class BusinessCentralErp:
    """The Business Central sandbox: sales orders found by externalDocumentNumber before any create."""

    system = "businesscentral"
    display_name = "Business Central"

    def __init__(self, ctx: SystemContext) -> None:
        creds = {"client_id": secrets.token_hex(16), "client_secret": secrets.token_hex(32)}
        sandbox = get_spec("businesscentral").sandbox
        assert sandbox is not None
        app = sandbox(
            tenant_id="evergreen", company_id=BC_COMPANY, knobs=ctx.knobs, items=ctx.catalog, seed=ctx.seed, **creds
        )
        self.server = LoopbackServer(app).start()
        self.connection_id = ctx.store.create_connection(
            ctx.client_id,
            "businesscentral",
            "Business Central (sandbox)",
            {
                "tenant_id": "evergreen",
                "company_id": BC_COMPANY,
                "base_url": self.server.url,
                "authority_url": self.server.url,
                "shipping_account_number": "8110",
                "request_timeout_seconds": 5.0,
            },
            ctx.box.seal({**creds, "webhook_client_state": secrets.token_urlsafe(32)}),
        )

    @property
    def businesscentral(self) -> Any:
        """The sandbox's state (sales orders, duplicates, counters)."""
        return self.server.app.state.businesscentral

    def records(self) -> dict[str, ErpRecord]:
        records: dict[str, ErpRecord] = {}
        for row in self.businesscentral.sales_orders():
            if row.canonical_order_id:
                records[row.canonical_order_id] = ErpRecord(
                    created_at=row.created_at, cancelled=row.status == "Deleted"
                )
        return records

    def duplicates(self) -> int:
        return int(sum(count - 1 for count in self.businesscentral.duplicates().values()))

    def faults(self) -> dict[str, int]:
        stats = self.businesscentral.snapshot_stats()
        names = ("throttled", "faults", "timeouts", "concurrency_rejections", "auth_failures")
        return {k: int(v) for k, v in stats.items() if k in names and v}


CHANNELS: dict[str, Callable[[SystemContext, str], DemoChannel]] = {
    "shopify": ShopifyChannel,
    "amazon": AmazonChannel,
    "walmart": WalmartChannel,
}
ERPS: dict[str, Callable[[SystemContext], DemoErp]] = {"netsuite": NetSuiteErp, "businesscentral": BusinessCentralErp}
