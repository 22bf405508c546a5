"""Value types shared by the canonical models: money amounts and UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer


def _non_negative(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    if value < 0:
        raise ValueError("amount must be >= 0")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must carry a timezone")
    return value.astimezone(UTC)


Amount = Annotated[
    Decimal,
    AfterValidator(_non_negative),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
UtcDatetime = Annotated[datetime, AfterValidator(_aware)]
