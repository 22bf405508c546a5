"""Reading one whole Amazon order for a notification that only names it (``SPEC.order_reader``)."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

from tradewire.connectors.amazon.client import AmazonClient
from tradewire.connectors.amazon.settings import AmazonSecrets, AmazonSettings
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection
from tradewire.errors import ConfigError


def client_for(
    connection: Connection, budget: RateBudget | None, transport: httpx.AsyncBaseTransport | None
) -> AmazonClient:
    """An ``AmazonClient`` for one connection.

    Raises:
        ConfigError: the connection's settings or secrets are incomplete.
    """
    try:
        settings = AmazonSettings.model_validate(dict(connection.settings))
    except ValidationError as exc:
        raise ConfigError(
            f"Amazon connection {connection.id} has invalid settings: {exc.error_count()} problem(s)"
        ) from None
    try:
        secrets = AmazonSecrets.model_validate(dict(connection.secrets))
    except ValidationError:
        raise ConfigError(
            f"Amazon connection {connection.id} lacks client_id/client_secret/refresh_token in its secrets"
        ) from None
    return AmazonClient(settings, secrets, budget=budget, transport=transport)


class AmazonOrderReader:
    """``OrderReader``: one whole order (getOrder + all getOrderItems pages) for a notification."""

    def __init__(self, client: AmazonClient) -> None:
        self.client = client

    async def fetch_order(self, external_id: str) -> dict[str, Any]:
        """The order element with ``OrderItems``.

        Raises:
            NotFound: Amazon has no such order.
        """
        return await self.client.fetch_order(external_id)

    async def aclose(self) -> None:
        """Release connections."""
        await self.client.aclose()


def make_order_reader(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> AmazonOrderReader:
    """``SPEC.order_reader``."""
    return AmazonOrderReader(client_for(connection, budget, transport))
