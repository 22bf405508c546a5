"""Declarative HTTP connector: a partner describes a REST API in YAML and Tradewire talks to it.

The definition (``definition.py``) names auth, endpoints, pagination, field mappings to
canonical objects, pollers and webhook signatures. Every URL goes through the SSRF guard
(``connectors.base.ssrf``). Mappings depend on the definition, so ``tradewire map`` goes
through ``tradewire connectors map FILE OBJECT RECORD``.
"""

from __future__ import annotations

from typing import Any

from tradewire.connectors.base.spec import ConnectorSpec
from tradewire.connectors.http.client import DEFAULT_LIMIT
from tradewire.connectors.http.poller import default_poll_stream
from tradewire.connectors.http.settings import HttpSecrets, HttpSettings
from tradewire.connectors.http.webhooks import HttpWebhooks


def sandbox_factory(**kwargs: Any) -> Any:
    """``create_sandbox(**kwargs)`` of the loyalty/CRM fake, imported on first use (needs Starlette)."""
    from tradewire.connectors.http.sandbox import create_sandbox

    return create_sandbox(**kwargs)


SPEC = ConnectorSpec(
    system="http",
    display_name="HTTP (declarative)",
    settings_model=HttpSettings,
    secrets_model=HttpSecrets,
    # The definition's rate_limit is this scope's budget; set it as the connection's budgets.api override.
    rate_limits=(DEFAULT_LIMIT,),
    webhooks=HttpWebhooks(),
    sandbox=sandbox_factory,
    pollers=(default_poll_stream(),),
    capabilities=("declarative", "webhooks.hmac", "poll.records", "customers.read", "orders.read", "sandbox"),
)

__all__ = ["SPEC"]
