"""Port records for partners, clients (with sub-accounts) and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PartnerRecord:
    """An agency or integrator running Tradewire for its clients."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ClientRecord:
    """A retailer (or, with ``parent_id``, one of its stores or brands)."""

    id: str
    partner_id: str
    name: str
    created_at: datetime
    parent_id: str | None = None


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored API key: its hash, never the key."""

    id: str
    prefix: str
    digest: str
    name: str
    partner_id: str
    client_id: str | None
    role: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    replaces: str | None = None

    def usable(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)
