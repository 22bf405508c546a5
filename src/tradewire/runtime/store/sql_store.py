"""The SQL implementation of the store port (dialect hooks come from subclasses)."""

from __future__ import annotations

from tradewire.runtime.store.sql_access import AccessMethods
from tradewire.runtime.store.sql_audit import AuditMethods
from tradewire.runtime.store.sql_facts import FactMethods
from tradewire.runtime.store.sql_fulfilment import FulfilmentMethods
from tradewire.runtime.store.sql_inventory import InventoryMethods
from tradewire.runtime.store.sql_operations import OperationsMethods
from tradewire.runtime.store.sql_returns import ReturnMethods
from tradewire.runtime.store.sql_tenant import TenantMethods
from tradewire.runtime.store.sql_worker import WorkerMethods


class SqlStore(
    WorkerMethods,
    TenantMethods,
    FactMethods,
    AuditMethods,
    AccessMethods,
    ReturnMethods,
    OperationsMethods,
    FulfilmentMethods,
    InventoryMethods,
):
    """Every port method, on SQLAlchemy Core."""
