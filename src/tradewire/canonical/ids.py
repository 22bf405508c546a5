"""Deterministic canonical ids: the same source record always gets the same id."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("5b0f3c64-0d38-4b8e-9a55-7d5c2b1f7e10")


def canonical_id(client_id: str, object_type: str, natural_key: str) -> str:
    """A stable id for ``object_type`` identified by ``natural_key`` within one client.

    Replays and redeliveries of the same record produce the same id, so bindings and
    timelines line up without a lookup.
    """
    return str(uuid.uuid5(_NAMESPACE, f"{client_id}\x1f{object_type}\x1f{natural_key}"))


def customer_key(email: str | None, source_customer_id: str | None, order_external_id: str) -> str:
    """The natural key of an order's customer: e-mail, else the channel's id, else a guest per order."""
    if email:
        return f"email:{email.lower()}"
    if source_customer_id:
        return f"source:{source_customer_id}"
    return f"guest:{order_external_id}"
