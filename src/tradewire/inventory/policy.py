"""The allocation policy document (YAML, kept in git by operators), validated.

One document per client, versioned as a whole: every ``policy apply`` stores the next version
(audited), and every published quantity records the version that produced it.

.. code-block:: yaml

    channels:
      - connection: 0f3c…            # a channel connection id
        locations: [main]            # omit: every location
        priority: 1                  # lower is served first
        percentage: 60               # omit: an equal share of what explicit percentages leave
        buffer: 2                    # units held back from this channel
        max_listed: 50               # never list more than this
        floor: 3                     # list 0 when the quantity would be below this
    safety_stock:
      - {sku: "*", quantity: 1}      # every SKU, every location
      - {sku: ABC-1, location: main, quantity: 5}
    bundles:
      KIT-1: {ABC-1: 2, DEF-2: 1}    # a kit of 2 × ABC-1 and 1 × DEF-2
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tradewire.errors import ConfigError

ANY_SKU = "*"


class ChannelPolicy(BaseModel):
    """How one channel connection is served."""

    model_config = ConfigDict(extra="forbid")

    connection: str = Field(min_length=1, max_length=64, description="The channel connection id.")
    locations: list[str] | None = Field(default=None, description="Locations it sells from (None: all).")
    priority: int = Field(default=100, description="Lower is served first (gets rounding leftovers first).")
    percentage: float | None = Field(default=None, gt=0, le=100, description="Share of the available pool.")
    buffer: int = Field(default=0, ge=0, description="Units held back from this channel.")
    max_listed: int | None = Field(default=None, ge=0, description="Never list more than this.")
    floor: int = Field(default=0, ge=0, description="List 0 when the quantity would be below this.")


class SafetyStock(BaseModel):
    """Units of a SKU (``*``: every SKU) kept back at a location (None: every location)."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=120)
    location: str | None = None
    quantity: int = Field(ge=0)


class AllocationPolicy(BaseModel):
    """A client's whole allocation policy."""

    model_config = ConfigDict(extra="forbid")

    channels: list[ChannelPolicy] = Field(default_factory=list)
    safety_stock: list[SafetyStock] = Field(default_factory=list)
    bundles: dict[str, dict[str, int]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> AllocationPolicy:
        ids = [c.connection for c in self.channels]
        if len(ids) != len(set(ids)):
            raise ValueError("a channel connection is listed twice")
        explicit = sum(c.percentage or 0 for c in self.channels)
        if explicit > 100:
            raise ValueError(f"channel percentages add up to {explicit:g} > 100: that would list units twice")
        for bundle, parts in self.bundles.items():
            if not parts:
                raise ValueError(f"bundle {bundle} has no components")
            if any(q <= 0 for q in parts.values()):
                raise ValueError(f"bundle {bundle}: component quantities must be positive")
            if bundle in parts or any(p in self.bundles for p in parts):
                raise ValueError(f"bundle {bundle}: bundles of bundles are not supported")
        return self

    def safety(self, sku: str, location: str) -> int:
        """Units held back of ``sku`` at ``location`` (the most specific rule wins)."""
        best: tuple[int, int] | None = None
        for rule in self.safety_stock:
            if rule.sku not in (sku, ANY_SKU) or rule.location not in (None, location):
                continue
            rank = (rule.sku == sku) * 2 + (rule.location is not None)
            if best is None or rank >= best[0]:
                best = (rank, rule.quantity)
        return best[1] if best is not None else 0

    def bundles_of(self, component: str) -> list[str]:
        """The bundles ``component`` is part of."""
        return sorted(b for b, parts in self.bundles.items() if component in parts)

    def ordered_channels(self) -> list[ChannelPolicy]:
        """Channels in service order: priority, then connection id (stable)."""
        return sorted(self.channels, key=lambda c: (c.priority, c.connection))


def parse_policy(text: str) -> AllocationPolicy:
    """A policy from YAML text.

    Raises:
        ConfigError: not YAML, or not a valid policy (the message says which field and why).
    """
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"the policy is not valid YAML: {exc}") from None
    return policy_from_document(data or {})


def policy_from_document(data: Any) -> AllocationPolicy:
    """A policy from its stored JSON document.

    Raises:
        ConfigError: not a valid policy.
    """
    if not isinstance(data, dict):
        raise ConfigError("the policy must be a mapping with channels, safety_stock and bundles")
    try:
        return AllocationPolicy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'policy'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid inventory policy: {problems}") from None


def policy_yaml(policy: AllocationPolicy) -> str:
    """The policy as YAML (what ``policy show`` prints)."""
    return yaml.safe_dump(policy.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
