"""The SQL implementation of the store port (dialect hooks come from subclasses)."""

from __future__ import annotations

from tradewire.runtime.store.sql_facts import FactMethods
from tradewire.runtime.store.sql_inventory import InventoryMethods
from tradewire.runtime.store.sql_tenant import TenantMethods
from tradewire.runtime.store.sql_worker import WorkerMethods


class SqlStore(WorkerMethods, TenantMethods, FactMethods, InventoryMethods):
    """Every port method, on SQLAlchemy Core."""
