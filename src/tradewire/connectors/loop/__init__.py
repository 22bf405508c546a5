"""Loop Returns: return webhooks in (signed), the Detailed Returns List as a polling backstop,
return actions out, and a stateful sandbox for tests and the demo."""

from __future__ import annotations

from typing import Any

from tradewire.connectors.base.budget import RateLimit
from tradewire.connectors.base.spec import ConnectorSpec, PollStream, Reads
from tradewire.connectors.loop.client import SCOPE
from tradewire.connectors.loop.mapping import return_to_canonical
from tradewire.connectors.loop.polling import EVERY_SECONDS, STREAM, open_returns_poller
from tradewire.connectors.loop.settings import LoopSecrets, LoopSettings
from tradewire.connectors.loop.source import RETURN_SOURCE
from tradewire.connectors.loop.webhooks import LoopWebhooks

DEFAULT_RATE_LIMIT = RateLimit(scope=SCOPE, rate=2.0, burst=10.0)
"""[unverified] Loop limits per API key but publishes no number: 2 calls/s with bursts of 10 is a
cautious guess. Override per connection with ``budgets: {api: {rate: …, burst: …}}``."""


def sandbox_factory(**kwargs: Any) -> Any:
    """``create_sandbox(**kwargs)``, imported on first use (the sandbox needs Starlette)."""
    from tradewire.connectors.loop.sandbox import create_sandbox

    return create_sandbox(**kwargs)


SPEC = ConnectorSpec(
    system="loop",
    display_name="Loop Returns",
    settings_model=LoopSettings,
    secrets_model=LoopSecrets,
    rate_limits=(DEFAULT_RATE_LIMIT,),
    webhooks=LoopWebhooks(),
    sandbox=sandbox_factory,
    reads={
        "return": Reads(
            "return", return_to_canonical, "a Loop return: return/restock webhook body, details answer or list entry"
        )
    },
    pollers=(PollStream(name=STREAM, every_seconds=EVERY_SECONDS, open=open_returns_poller),),
    sources={"return": RETURN_SOURCE},
    capabilities=(
        "webhooks.returns",
        "returns.read",
        "returns.source",
        "returns.poll",
        "returns.process",
        "returns.close",
        "returns.cancel",
        "sandbox",
    ),
)

__all__ = ["SPEC"]
