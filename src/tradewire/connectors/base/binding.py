"""The binder: external id ↔ canonical id, per connection and object type (OCA's ``Binder``).

External ids live only in the bindings table. Flows ask a binder before writing to a vendor
(so a repeat finds the earlier write) and bind after; the store commits new bindings with the
run's transition, and a lost race on the unique key is a no-op (ids are deterministic).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class BindingLookup(Protocol):
    """Where bindings are read and recorded (a flow step's context implements it)."""

    async def find_bindings(self, connection_id: str, object_type: str, canonical_ids: Sequence[str]) -> dict[str, str]:
        """External ids of canonical ids already bound."""
        ...

    def bind(self, connection_id: str, object_type: str, external_id: str, canonical_id: str) -> None:
        """Record a binding."""
        ...


class Binder:
    """Bindings of one object type in one connection."""

    def __init__(self, lookup: BindingLookup, connection_id: str, object_type: str) -> None:
        self.lookup = lookup
        self.connection_id = connection_id
        self.object_type = object_type

    async def external_ids(self, canonical_ids: Sequence[str]) -> dict[str, str]:
        """canonical id → external id for those already bound."""
        return await self.lookup.find_bindings(self.connection_id, self.object_type, list(canonical_ids))

    async def external_id(self, canonical_id: str) -> str | None:
        """The external id bound to ``canonical_id``, if any."""
        return (await self.external_ids([canonical_id])).get(canonical_id)

    def bind(self, external_id: str, canonical_id: str) -> None:
        """Bind ``external_id`` to ``canonical_id`` (committed with the run)."""
        self.lookup.bind(self.connection_id, self.object_type, external_id, canonical_id)
