"""What a sales channel implements to receive sellable quantities (``SPEC.inventory_publisher``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tradewire.canonical import InventoryLevel
from tradewire.errors import RetryableError, VendorRejected


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


async def publish_each(
    levels: Sequence[InventoryLevel], send: Callable[[InventoryLevel], Awaitable[object]]
) -> list[PublishOutcome]:
    """Publish one SKU per call, as :meth:`InventoryPublisher.publish` promises.

    A SKU the vendor refuses is reported and the others go on; a throttle or outage before the
    first SKU raises ``RetryableError``, after it returns the outcomes so far (the rest were not
    sent: the caller keeps them for its next try).
    """
    outcomes: list[PublishOutcome] = []
    for level in levels:
        try:
            await send(level)
        except RetryableError:
            if not outcomes:
                raise
            return outcomes
        except VendorRejected as exc:
            outcomes.append(PublishOutcome(level.sku, False, str(exc)))
        else:
            outcomes.append(PublishOutcome(level.sku, True))
    return outcomes
