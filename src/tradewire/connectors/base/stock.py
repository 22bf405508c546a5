"""What a sales channel implements to receive sellable quantities (``SPEC.inventory_publisher``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tradewire.canonical import InventoryLevel


@dataclass(frozen=True)
class PublishOutcome:
    """What the channel did with one SKU's quantity: accepted, or refused with the vendor's reason."""

    sku: str
    accepted: bool
    error: str | None = None


class InventoryPublisher(Protocol):
    """Sets absolute sellable quantities on a channel, in batches of at most ``max_batch`` SKUs."""

    max_batch: int

    async def publish(self, levels: Sequence[InventoryLevel]) -> list[PublishOutcome]:
        """Set each level's ``available`` as the SKU's listed quantity (absolute, not a delta).

        Returns one outcome per SKU sent. When the rate budget or the vendor stops it part-way,
        it returns the outcomes so far (SKUs without one were not sent and are retried later);
        it raises ``RetryableError`` only when nothing was sent, ``AuthError`` on refused credentials.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
