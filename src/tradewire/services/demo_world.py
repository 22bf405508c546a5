"""The demo's world: a partner, a retailer, its channels and its ERP, each a sandbox on loopback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.errors import ConfigError
from tradewire.runtime.store.port import Store
from tradewire.services.demo_systems import (
    CHANNELS,
    ERPS,
    NETSUITE_ACCOUNT,
    DemoChannel,
    DemoErp,
    ShopifyChannel,
    SystemContext,
)
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

ACCOUNT_ID = NETSUITE_ACCOUNT


@dataclass
class DemoKnobs:
    """How unkind the sandboxes are during the demo."""

    erp: FaultKnobs
    channel: FaultKnobs
    erp_concurrency: int = 20

    @classmethod
    def faulty(cls, seed: int | None = None) -> DemoKnobs:
        """Some 429s, 5xx and timeouts from the ERP; duplicate and late notifications from the channels."""
        return cls(
            erp=FaultKnobs(
                fail_rate=0.02, rate_limit_rate=0.03, retry_after_seconds=0.2, timeout_rate=0.005,
                timeout_seconds=2.5, latency_ms=2.0, seed=seed,
            ),
            channel=FaultKnobs(duplicate_webhook_rate=0.1, out_of_order_rate=0.02, seed=seed),
        )  # fmt: skip

    @classmethod
    def calm(cls) -> DemoKnobs:
        """No faults (for benchmarks of the happy path)."""
        return cls(erp=FaultKnobs(), channel=FaultKnobs())


@dataclass
class DemoWorld:
    """The running sandboxes and the ids of what was set up in the store."""

    client_id: str
    erp: DemoErp
    channels: list[DemoChannel] = field(default_factory=list)

    def subscribe(self, api_url: str) -> None:
        """Point every channel's order notifications at our receiver."""
        for channel in self.channels:
            channel.subscribe(api_url)

    def stop(self) -> None:
        """Stop every sandbox."""
        for channel in self.channels:
            channel.server.stop()
        self.erp.server.stop()

    # --- the Shopify → NetSuite world of the benchmarks and crash tests --------------------------

    def _shopify(self) -> ShopifyChannel:
        for channel in self.channels:
            if isinstance(channel, ShopifyChannel):
                return channel
        raise ConfigError("this demo world has no Shopify channel")

    @property
    def shop(self) -> Any:
        """The Shopify sandbox's state (create orders, delivery log…)."""
        return self._shopify().shop

    @property
    def shopify_connection(self) -> str:
        """The Shopify connection's id."""
        return self._shopify().connection_id

    @property
    def shopify_server(self) -> LoopbackServer:
        """The Shopify sandbox's server."""
        return self._shopify().server

    @property
    def netsuite(self) -> Any:
        """The NetSuite sandbox's state (sales orders, duplicates, creation times…)."""
        if self.erp.system != "netsuite":
            raise ConfigError(f"this demo world's ERP is {self.erp.display_name}, not NetSuite")
        return self.erp.server.app.state.netsuite

    @property
    def netsuite_connection(self) -> str:
        """The ERP connection's id."""
        return self.erp.connection_id

    @property
    def netsuite_server(self) -> LoopbackServer:
        """The ERP sandbox's server."""
        return self.erp.server


def build_world(
    store: Store,
    box: SecretBox,
    knobs: DemoKnobs,
    *,
    seed: int | None = None,
    channels: Sequence[str] = ("shopify",),
    erp: str = "netsuite",
) -> DemoWorld:
    """Start the ERP's and each channel's sandbox on free loopback ports and create the tenant using them.

    Raises:
        ConfigError: an unknown channel or ERP, or no channel at all.
    """
    unknown = [name for name in channels if name not in CHANNELS]
    if unknown or not channels:
        raise ConfigError(
            f"unknown channel(s) {', '.join(unknown) or '(none given)'}; the demo offers: {', '.join(CHANNELS)}"
        )
    if erp not in ERPS:
        raise ConfigError(f"unknown ERP {erp!r}; the demo offers: {', '.join(ERPS)}")
    partner = store.create_partner("Northwind Integrations")
    client = store.create_client(partner, "Evergreen Outfitters")

    def context(system_knobs: FaultKnobs) -> SystemContext:
        return SystemContext(store, box, client, CATALOG, system_knobs, seed, knobs.erp_concurrency)

    the_erp = ERPS[erp](context(knobs.erp))
    world = DemoWorld(client, the_erp)
    try:
        for name in dict.fromkeys(channels):
            world.channels.append(CHANNELS[name](context(knobs.channel), the_erp.connection_id))
    except Exception:
        world.stop()
        raise
    return world
