"""Order hold rules of a channel connection, and which of them an order matches (pure).

Configured under a channel connection's ``settings.holds`` (YAML in ``tradewire config apply``)::

    holds:
      high_value: {amount: "1000.00", currency: USD}   # total ≥ amount (currency optional)
      address_incomplete: true                          # no street, city, postal code or country
      fraud_tags: [fraud, high-risk]                    # the channel's risk/fraud tags
      tags: [manual-review]                             # any other tag that holds an order
      auto_release_after_minutes: 240                   # release by itself after this long
      recheck_seconds: 30                               # how often a held run looks again
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tradewire.canonical import Order
from tradewire.errors import ConfigError

DEFAULT_FRAUD_TAGS = ("fraud", "high-risk", "high_risk", "risk:high")


class HighValue(BaseModel):
    """Hold orders whose total is at least ``amount`` (in ``currency`` when given)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: Decimal = Field(gt=0)
    currency: str | None = Field(default=None, min_length=3, max_length=3)


class HoldRules(BaseModel):
    """One channel connection's hold rules (all off by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    high_value: HighValue | None = None
    address_incomplete: bool = False
    fraud_tags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    auto_release_after_minutes: float | None = Field(default=None, gt=0)
    recheck_seconds: float = Field(default=30.0, ge=0.05, le=3600.0)

    @property
    def active(self) -> bool:
        """True when any rule can hold an order."""
        return bool(self.high_value or self.address_incomplete or self.fraud_tags or self.tags)

    @property
    def auto_release_after(self) -> timedelta | None:
        """How long a hold lasts before it releases itself, or None."""
        minutes = self.auto_release_after_minutes
        return timedelta(minutes=minutes) if minutes is not None else None


def parse_rules(settings: Mapping[str, Any], where: str = "settings.holds") -> HoldRules:
    """The rules of a ``holds`` settings mapping.

    Raises:
        ConfigError: a rule is misspelt or has a wrong value (the message names it).
    """
    try:
        return HoldRules.model_validate(dict(settings))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}.{field}: {first['msg']}") from None


def _tags(order: Order) -> set[str]:
    return {t.strip().lower() for t in order.tags if t.strip()}


def missing_address_parts(order: Order) -> list[str]:
    """What the shipping address lacks to ship (empty when complete)."""
    address = order.shipping_address
    if address is None:
        return ["shipping address"]
    parts = {
        "street": address.line1,
        "city": address.city,
        "postal code": address.postal_code,
        "country": address.country_code,
    }
    return [name for name, value in parts.items() if not (value and str(value).strip())]


def matching_rules(order: Order, rules: HoldRules) -> list[dict[str, Any]]:
    """One ``{"rule", "detail"}`` per rule the order matches (empty: the order may go on)."""
    reasons: list[dict[str, Any]] = []
    high = rules.high_value
    same_currency = high is not None and (high.currency is None or high.currency.upper() == order.currency.upper())
    if high is not None and same_currency and order.total >= high.amount:
        reasons.append({"rule": "high_value", "detail": f"total {order.total} {order.currency} ≥ {high.amount}"})
    if rules.address_incomplete:
        missing = missing_address_parts(order)
        if missing:
            reasons.append({"rule": "address_incomplete", "detail": "missing " + ", ".join(missing)})
    tags = _tags(order)
    fraud = sorted(tags & {t.lower() for t in rules.fraud_tags})
    if fraud:
        reasons.append({"rule": "fraud_flag", "detail": "tagged " + ", ".join(fraud)})
    matched = sorted(tags & {t.lower() for t in rules.tags})
    if matched:
        reasons.append({"rule": "tag", "detail": "tagged " + ", ".join(matched)})
    return reasons
