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
from tradewire.errors import ConfigError
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


def start_sandbox(system: str, **kwargs: Any) -> LoopbackServer:
    """The connector's sandbox (``SPEC.sandbox(**kwargs)``) served on a free loopback port."""
    factory = get_spec(system).sandbox
    if factory is None:
        raise ConfigError(f"{system} has no sandbox")
    return LoopbackServer(factory(**kwargs)).start()


class NotifyingChannel:
    """What channels whose sandbox sends notifications through ``WebhookSender`` share.

    Subclasses set ``created_topic`` (prefix of the delivery topic that announces an order) and
    ``order_field`` (the delivery-log field naming the order), and ``state`` is the sandbox's state.
    """

    server: LoopbackServer
    created_topic = ""
    order_field = "object_id"

    @property
    def state(self) -> Any:
        """The sandbox's state object (``app.state.<system>``)."""
        raise NotImplementedError

    def pending_deliveries(self) -> int:
        return int(self.state.sender.busy)

    def first_sent(self) -> dict[str, float]:
        first: dict[str, float] = {}
        for delivery in self.state.delivery_log():
            sent = delivery["first_sent_at"]
            if str(delivery["topic"]).startswith(self.created_topic) and sent is not None:
                name = str(delivery[self.order_field])
                first[name] = min(first.get(name, sent), sent)
        return first

    def deliveries(self) -> tuple[int, int]:
        log = self.state.delivery_log()
        return len(log), sum(1 for d in log if d["duplicate"])


# --- Shopify -------------------------------------------------------------------------------------


class ShopifyChannel(NotifyingChannel):
    """The Shopify sandbox: orders created there are signed and sent as ``orders/*`` webhooks."""

    system = "shopify"
    display_name = "Shopify"
    created_topic = "orders/create"
    order_field = "order_id"

    def __init__(self, ctx: SystemContext, erp_connection_id: str) -> None:
        shop_secrets = {"client_secret": secrets.token_hex(24), "access_token": "shpat_" + secrets.token_hex(16)}
        self.server = start_sandbox("shopify", knobs=ctx.knobs, catalog=ctx.catalog, seed=ctx.seed, **shop_secrets)
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
    def state(self) -> Any:
        """The sandbox's state (orders, deliveries, knobs)."""
        return self.server.app.state.shop

    shop = state

    def subscribe(self, api_url: str) -> None:
        address = f"{api_url}/webhooks/shopify/{self.connection_id}"
        for topic in ("orders/create", "orders/updated", "orders/cancelled"):
            self.shop.subscribe(topic, address)

    def create_orders(self, count: int) -> list[str]:
        return [str(order["id"]) for order in self.shop.create_orders(count)]

    def cancel_order(self, external_id: str) -> None:
        self.shop.cancel_order(int(external_id))

    def order_key(self, external_id: str) -> str:
        return f"shopify:{self.connection_id}:{external_id}"


# --- Amazon --------------------------------------------------------------------------------------


class AmazonChannel(NotifyingChannel):
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
        self.server = start_sandbox("amazon", knobs=ctx.knobs, catalog=ctx.catalog, seed=ctx.seed, **creds)
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
            },
            ctx.box.seal({**creds, "relay_secret": self.relay_secret}),
        )

    @property
    def state(self) -> Any:
        """The sandbox's state."""
        return self.server.app.state.amazon

    def subscribe(self, api_url: str) -> None:
        self.state.subscribe(f"{api_url}/webhooks/amazon/{self.connection_id}", self.relay_secret)

    def create_orders(self, count: int) -> list[str]:
        return [str(order_id) for order_id in self.state.create_orders(count)]

    def cancel_order(self, external_id: str) -> None:
        self.state.cancel_order(external_id)

    def order_key(self, external_id: str) -> str:
        return f"amazon:{external_id}"  # Amazon order ids are unique across sellers and connections


# --- Walmart -------------------------------------------------------------------------------------


class WalmartChannel(NotifyingChannel):
    """The Marketplace sandbox: PO_CREATED / ORDER_UPDATES webhooks with OAUTH endpoint auth."""

    system = "walmart"
    display_name = "Walmart"
    created_topic = "PO_CREATED"

    def __init__(self, ctx: SystemContext, erp_connection_id: str) -> None:
        creds = {"client_id": secrets.token_hex(16), "client_secret": secrets.token_hex(32)}
        self.oauth = {
            "webhook_oauth_client_id": secrets.token_hex(12),
            "webhook_oauth_client_secret": secrets.token_hex(24),
        }
        self.server = start_sandbox("walmart", knobs=ctx.knobs, catalog=ctx.catalog, seed=ctx.seed, **creds)
        self.connection_id = ctx.store.create_connection(
            ctx.client_id,
            "walmart",
            "Walmart (sandbox)",
            {
                "base_url": self.server.url,
                "webhook_auth_method": "OAUTH",
                "routes": {"erp": erp_connection_id},
                "poll": {"orders": {"every_seconds": 30}},
            },
            ctx.box.seal({**creds, **self.oauth}),
        )

    @property
    def state(self) -> Any:
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
            self.state.subscribe(event, address, auth_details=auth)

    def create_orders(self, count: int) -> list[str]:
        return [str(order["purchaseOrderId"]) for order in self.state.create_orders(count)]

    def cancel_order(self, external_id: str) -> None:
        self.state.auto_cancel(external_id)

    def order_key(self, external_id: str) -> str:
        return f"walmart:{self.connection_id}:{external_id}"


# --- ERPs ----------------------------------------------------------------------------------------

FAULT_COUNTERS = ("throttled", "faults", "timeouts", "concurrency_rejections", "auth_failures")


def extra_copies(duplicates: dict[str, int]) -> int:
    """Records beyond the first, from a sandbox's ``{key: copies}`` duplicate report."""
    return int(sum(count - 1 for count in duplicates.values()))


def injected_faults(stats: dict[str, int]) -> dict[str, int]:
    """The fault counters of an ERP sandbox's stats that are not zero (both sandboxes name them alike)."""
    return {name: int(value) for name, value in stats.items() if name in FAULT_COUNTERS and value}


# --- NetSuite ------------------------------------------------------------------------------------

NETSUITE_ACCOUNT = "1234567_SB1"


class NetSuiteErp:
    """The NetSuite sandbox: sales orders upserted by external id (the canonical order id)."""

    system = "netsuite"
    display_name = "NetSuite"

    def __init__(self, ctx: SystemContext) -> None:
        keys = {k: secrets.token_hex(32) for k in ("consumer_key", "consumer_secret", "token_id", "token_secret")}
        self.server = start_sandbox(
            "netsuite",
            account_id=NETSUITE_ACCOUNT,
            knobs=ctx.knobs,
            concurrency_limit=ctx.erp_concurrency,
            items=ctx.catalog,
            seed=ctx.seed,
            **keys,
        )
        discount_ids = self.netsuite.seed_items([("ORDER-DISCOUNT", "Order discount", "0")])
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
        return extra_copies(self.netsuite.duplicates())

    def faults(self) -> dict[str, int]:
        return injected_faults(self.netsuite.snapshot_stats())


# --- Business Central ----------------------------------------------------------------------------

BC_COMPANY = "824820a2-508c-ed11-aada-000d3a298ab3"


class BusinessCentralErp:
    """The Business Central sandbox: sales orders found by externalDocumentNumber before any create."""

    system = "businesscentral"
    display_name = "Business Central"

    def __init__(self, ctx: SystemContext) -> None:
        creds = {"client_id": secrets.token_hex(16), "client_secret": secrets.token_hex(32)}
        self.server = start_sandbox(
            "businesscentral",
            tenant_id="evergreen",
            company_id=BC_COMPANY,
            knobs=ctx.knobs,
            items=ctx.catalog,
            seed=ctx.seed,
            **creds,
        )
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
        return extra_copies(self.businesscentral.duplicates())

    def faults(self) -> dict[str, int]:
        return injected_faults(self.businesscentral.snapshot_stats())


CHANNELS: dict[str, Callable[[SystemContext, str], DemoChannel]] = {
    "shopify": ShopifyChannel,
    "amazon": AmazonChannel,
    "walmart": WalmartChannel,
}
ERPS: dict[str, Callable[[SystemContext], DemoErp]] = {"netsuite": NetSuiteErp, "businesscentral": BusinessCentralErp}
