"""Keeping webhook subscriptions alive: create when missing, renew before the 3-day expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from tradewire.connectors.businesscentral.client import BusinessCentralClient
from tradewire.connectors.businesscentral.polling import parse_moment
from tradewire.connectors.businesscentral.schemas import BcSubscription

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
