"""Keeping webhook subscriptions alive: create when missing, renew before the 3-day expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, JobContext
from tradewire.connectors.businesscentral.client import BusinessCentralClient
from tradewire.connectors.businesscentral.polling import parse_moment
from tradewire.connectors.businesscentral.schemas import BcSubscription
from tradewire.connectors.businesscentral.settings import validate_connection
from tradewire.errors import ConfigError

SUBSCRIPTION_LIFETIME = timedelta(days=3)
RENEW_BEFORE = timedelta(hours=24)


def needs_renewal(subscription: BcSubscription, now: datetime, *, renew_before: timedelta = RENEW_BEFORE) -> bool:
    """True when the subscription expires within ``renew_before`` of ``now`` (or its expiry is unreadable)."""
    try:
        expires = parse_moment(subscription.expiration_date_time)
    except ValueError:
        return True
    return expires - now <= renew_before


async def ensure_subscription(
    client: BusinessCentralClient,
    *,
    notification_url: str,
    resource: str,
    client_state: str,
    now: datetime,
    renew_before: timedelta = RENEW_BEFORE,
) -> BcSubscription:
    """The live subscription of ``resource`` to ``notification_url``: created, renewed or left alone.

    Both create and renew make BC call ``notification_url?validationToken=…`` first; the
    receiver answers it (``BusinessCentralWebhooks.handshake``), so the receiver must be up.

    Raises:
        BusinessCentralRejected: BC refused (e.g. the handshake failed, 200 subscriptions reached).
        BusinessCentral…: from the client.
    """
    wanted = resource.lstrip("/")
    for subscription in await client.subscriptions():
        if subscription.notification_url == notification_url and subscription.resource.lstrip("/") == wanted:
            if needs_renewal(subscription, now, renew_before=renew_before):
                return await client.renew_subscription(subscription)
            return subscription
    return await client.create_subscription(
        notification_url=notification_url, resource=resource, client_state=client_state
    )


async def keep_subscriptions(
    connection: Connection,
    budget: RateBudget,
    transport: httpx.AsyncBaseTransport | None,
    context: JobContext,
) -> str:
    """``SPEC.jobs``: every resource in ``webhook_resources`` has a live subscription to our receiver.

    Raises:
        ConfigError: resources are configured but the connection has no ``webhook_client_state``.
        BusinessCentral…: from the client (an auth error pauses the connection).
    """
    settings, secrets = validate_connection(connection)
    if not settings.webhook_resources:
        return "no webhook_resources configured"
    if context.webhook_url is None:
        return "api.public_url is not set: Business Central cannot be told where to send notifications"
    if secrets.webhook_client_state is None:
        raise ConfigError(f"connection {connection.id} has webhook_resources but no webhook_client_state secret")
    client = BusinessCentralClient(settings, secrets, budget=budget, transport=transport)
    done: list[str] = []
    try:
        for resource in settings.webhook_resources:
            subscription = await ensure_subscription(
                client,
                notification_url=context.webhook_url,
                resource=f"/api/v2.0/companies({settings.company_id})/{resource.strip('/')}",
                client_state=secrets.webhook_client_state.get_secret_value(),
                now=context.now,
            )
            done.append(f"{resource} until {subscription.expiration_date_time}")
    finally:
        await client.aclose()
    return "subscriptions live: " + ", ".join(done)
