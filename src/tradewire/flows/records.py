"""Read the canonical records (shipments, returns, stock levels…) a run's message carries or names."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tradewire.connectors import get_spec
from tradewire.connectors.base.payload import load_json_object
from tradewire.errors import ConfigError, MappingError
from tradewire.flows.context import StepContext


async def load_records(ctx: StepContext, canonical: str) -> list[BaseModel]:
    """The message's records as canonical ``canonical`` objects, read from the vendor when it only names them.

    Raises:
        ConfigError: the source connector declares no ``canonical`` source.
        MappingError: no body, or a record that does not map (permanent: fix the data, replay).
    """
    source = await ctx.connection(ctx.source_connection_id)
    spec = get_spec(source.connection.system)
    record_source = spec.sources.get(canonical)
    if record_source is None:
        raise ConfigError(f"{spec.display_name} does not provide {canonical} records")
    body = ctx.claimed.body
    if body is None:
        raise MappingError(f"run {ctx.claimed.run.id} has no message body to map")
    payload: dict[str, Any] = load_json_object(body)
    reference = record_source.reference(payload)
    payloads: list[dict[str, Any]] = [payload]
    if reference is not None:
        if record_source.reader is None:
            raise ConfigError(f"{spec.display_name} names {canonical} records but cannot read them")
        reader = await ctx.vendor(source.connection.id, f"sources.{canonical}")
        payloads = await reader.fetch_records(reference)
    return [
        record_source.to_canonical(p, client_id=ctx.client_id, connection_id=source.connection.id) for p in payloads
    ]
