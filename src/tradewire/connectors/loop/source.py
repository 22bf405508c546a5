"""Loop as a source of canonical returns (``SPEC.sources["return"]``).

Return and restock webhooks (and polled list entries) carry the whole return and map as they
are. Label and processing notifications only name the return: ``reference`` gives its id and
the reader fetches it from the details endpoint, so every event becomes the return as it is now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, RecordSource
from tradewire.connectors.loop.client import LoopClient
from tradewire.connectors.loop.mapping import return_to_canonical
from tradewire.connectors.loop.webhooks import return_id_of


def thin_reference(payload: Mapping[str, Any]) -> str | None:
    """The return id when ``payload`` only names a return (label or processing notification), else None."""
    topic = str(payload.get("topic") or "").strip().lower()
    names_only = topic in ("label", "return.processing") or "label_status" in payload
    names_only = names_only or ("id" not in payload and "return_id" in payload)
    return return_id_of(payload) if names_only else None


class LoopReturnReader:
    """Reads whole returns for thin notifications (``RecordReader``)."""

    def __init__(self, client: LoopClient) -> None:
        self.client = client

    async def fetch_records(self, reference: str) -> list[dict[str, Any]]:
        """The return ``reference`` as the details endpoint answers it."""
        return [await self.client.get_return_payload(reference)]

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


def open_return_reader(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None = None
) -> LoopReturnReader:
    """The reader factory of ``sources["return"]``."""
    return LoopReturnReader(LoopClient.from_connection(connection, budget, transport))


RETURN_SOURCE = RecordSource(
    to_canonical=return_to_canonical,
    reference=thin_reference,
    reader=open_return_reader,
    description="return/restock webhook bodies and polled returns; label and processing notices read the return",
)
