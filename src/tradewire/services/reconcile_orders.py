"""Reconciliation check ``order_not_in_erp``: an order Tradewire saw on a channel has no ERP sales order.

It compares the order snapshots (written by ``map_order``) with the ERP's order bindings, after a
grace period (orders still on their way are not drift). Cancelled and held orders are left out.
Healing replays the order's last ``order_to_erp`` run when it ended and no person's problem
(unknown or missing SKU) is open for the order; the replayed run resolves the exception when it
reaches the ERP, and the next reconciliation resolves any that remain healed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tradewire.errors import NotFound
from tradewire.runtime.store.port import RunFilter
from tradewire.runtime.store.port_facts import ExceptionFilter, ExceptionState, StoredObject
from tradewire.runtime.store.port_operations import HoldState
from tradewire.services.orders import FoundOrder
from tradewire.services.reconcile import Finding, ReconcileContext, register_check
from tradewire.tenancy.connections import split_settings

ORDER_FLOW = "order_to_erp"
PAGE = 500
PERSON_KINDS = ("unknown_sku", "missing_sku", "customer_data")
DEPENDENCY_RUN = re.compile(r"^\w+ run (\d+) is dead")
"""The engine's reason for a run whose dependency died (``customer_to_erp run 12 is dead (…)``)."""


@dataclass(frozen=True)
class OrderNotInErp:
    """Orders in a channel but not in the ERP."""

    name: str = "order_not_in_erp"
    description: str = "orders seen on a channel but with no sales order in the ERP after the grace period"

    def find(self, ctx: ReconcileContext) -> list[Finding]:
        """Every order older than the grace period whose ERP binding is missing."""
        held = {h.order_id for h in ctx.store.list_holds(HoldState.HELD, limit=100_000)}
        routes: dict[str, str | None] = {}
        findings: list[Finding] = []
        after: str | None = None
        while True:
            page = ctx.store.list_objects("order", ctx.now - ctx.grace, after_id=after, limit=PAGE)
            by_erp: dict[str, list[StoredObject]] = {}
            for stored in page:
                order = FoundOrder.of(stored)
                if order.id in held or stored.body.get("status") == "cancelled" or not order.connection_id:
                    continue
                erp = self._erp_of(ctx, order.connection_id, routes)
                if erp is not None:
                    by_erp.setdefault(erp, []).append(stored)
            for erp, orders in by_erp.items():
                bound = ctx.store.find_bindings(erp, "order", [o.canonical_id for o in orders])
                for stored in orders:
                    if stored.canonical_id not in bound:
                        findings.append(self._finding(FoundOrder.of(stored), erp))
            if len(page) < PAGE:
                return findings
            after = page[-1].canonical_id

    @staticmethod
    def _erp_of(ctx: ReconcileContext, connection_id: str, routes: dict[str, str | None]) -> str | None:
        if connection_id not in routes:
            try:
                _, found, _ = split_settings(ctx.store.get_connection(connection_id).settings)
            except NotFound:
                found = {}
            routes[connection_id] = found.get("erp")
        return routes[connection_id]

    def _finding(self, order: FoundOrder, erp: str) -> Finding:
        return Finding(
            key=order.id,
            object_type="order",
            canonical_id=order.id,
            message=(
                f"order {order.number} from connection {order.connection_id} is not in the ERP ({erp}); "
                "reconciliation replays its run when that is safe, else see its dead run"
            ),
            detail={"number": order.number, "channel_connection_id": order.connection_id, "erp_connection_id": erp},
        )

    def heal(self, ctx: ReconcileContext, finding: Finding) -> str | None:
        """Replay the order's last ``order_to_erp`` run when it has ended and no person's problem is open."""
        with_problem = ctx.store.list_exceptions(
            ExceptionFilter(state=ExceptionState.OPEN, object_type="order", canonical_id=finding.canonical_id)
        )
        if any(x.kind in PERSON_KINDS for x in with_problem):
            return None
        stored = ctx.store.get_object("order", finding.canonical_id)
        if stored is None:
            return None
        order = FoundOrder.of(stored)
        runs = ctx.store.list_runs(RunFilter(ordering_key=order.ordering_key, flow=ORDER_FLOW, limit=50))
        if not runs or any(not r.state.terminal for r in runs):
            return None  # nothing to replay, or a run is on its way
        last = max(runs, key=lambda r: (r.ordering_seq, r.id))
        replay = [last.id]
        dependency = DEPENDENCY_RUN.search(last.last_error or "") if last.error_type == "DependencyFailed" else None
        if dependency is not None:  # the customer it waited for died: replay that first, or it dies again
            replay.insert(0, int(dependency.group(1)))
        ctx.ops.replay(replay)
        return f"replayed {ORDER_FLOW} run {last.id}" + (f" after run {replay[0]}" if dependency else "")


register_check(OrderNotInErp())
