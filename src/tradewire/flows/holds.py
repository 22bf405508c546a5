"""The ``check_holds`` step of ``order_to_erp``: a held order waits before it reaches the ERP.

The channel connection's rules (:mod:`tradewire.flows.hold_rules`) decide; a matching order is
held (``order_holds`` row, ``order.held`` event) and its run is parked ``waiting``. It goes on
when an operator releases it (``tradewire orders release``), when an update of the order no
longer matches the rules (e.g. the address was completed), or after ``auto_release_after_minutes``.
While held, the run looks again every ``recheck_seconds``: if a newer version of the order (or
its cancellation) is queued behind it, the held run steps aside and the newer run decides.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tradewire.canonical import Order
from tradewire.errors import SkippableError
from tradewire.flows.context import ParkRun, StepContext
from tradewire.flows.hold_rules import matching_rules, parse_rules
from tradewire.flows.orders import load_order
from tradewire.runtime.store.port import ACTIVE_STATES, RunFilter, RunRecord
from tradewire.runtime.store.port_operations import HoldPlaced, HoldRecord, HoldReleased, HoldState

CANCEL_FLOW = "order_cancel_to_erp"


async def check_holds(ctx: StepContext) -> dict[str, Any]:
    """Hold the order when its channel's rules say so; release it when they no longer do.

    Raises:
        ParkRun: the order is held (the run waits, no failure counted).
        SkippableError: a newer version of the held order is queued; it takes over.
    """
    order = load_order(ctx)
    source = await ctx.connection(ctx.source_connection_id)
    rules = parse_rules(source.holds, where=f"connection {source.connection.id} settings.holds")
    hold: HoldRecord | None = await ctx.env.db.call(ctx.env.store.get_hold, order.id)
    if hold is not None and hold.state is HoldState.RELEASED:
        await _note_release(ctx, order, hold.released_by or "operator", hold.release_reason or "released")
        return {"held": False, "released_by": hold.released_by}
    reasons = matching_rules(order, rules) if rules.active else []
    now = ctx.now()
    if hold is None:
        if not reasons:
            return {"held": False}
        release_at = now + rules.auto_release_after if rules.auto_release_after else None
        ctx.record(HoldPlaced(order.id, order.number, source.connection.id, tuple(reasons), release_at=release_at))
        ctx.event(
            "order",
            order.id,
            "order.held",
            number=order.number,
            reasons=reasons,
            release_at=release_at.isoformat() if release_at else None,
        )
        raise _park(order, reasons, rules.recheck_seconds, release_at, now)
    by_rules = hold.held_by == "rules"
    if by_rules and not reasons:
        return _release(ctx, order, "the hold rules no longer match the updated order")
    if hold.release_at is not None and hold.release_at <= now:
        return _release(ctx, order, "auto_release_after elapsed")
    newer = await _newer_run(ctx)
    if newer is not None:
        if newer.flow == CANCEL_FLOW:
            ctx.record(HoldReleased(order.id, "tradewire", "the order was cancelled on the channel while held"))
            ctx.event("order", order.id, "order.released", released_by="tradewire", reason="cancelled while held")
            ctx.event("order", order.id, "order.export_skipped", reason="cancelled on the channel while held")
        raise SkippableError(f"order {order.number} is held; the newer run {newer.id} ({newer.flow}) takes over")
    kept = tuple(reasons) if by_rules else tuple(hold.reasons)
    ctx.record(
        HoldPlaced(order.id, order.number, source.connection.id, kept, held_by=hold.held_by, release_at=hold.release_at)
    )
    if await _last_hold_event(ctx, order) != "order.held":  # held by an operator: first run to wait on it
        ctx.event("order", order.id, "order.held", number=order.number, reasons=list(kept), held_by=hold.held_by)
    raise _park(order, list(kept), rules.recheck_seconds, hold.release_at, now)


def _park(
    order: Order, reasons: list[dict[str, Any]], recheck: float, release_at: datetime | None, now: datetime
) -> ParkRun:
    """What parks the run until the next look (or the automatic release, if sooner)."""
    until = now + timedelta(seconds=recheck)
    if release_at is not None:
        until = min(until, release_at)
    why = "; ".join(f"{r['rule']}: {r['detail']}" for r in reasons) or "held"
    return ParkRun(
        f"order {order.number} is on hold ({why}); release it with `tradewire orders release {order.number}`", until
    )


def _release(ctx: StepContext, order: Order, reason: str) -> dict[str, Any]:
    ctx.record(HoldReleased(order.id, "tradewire", reason))
    ctx.event("order", order.id, "order.released", released_by="tradewire", reason=reason)
    return {"held": False, "released_by": "tradewire", "reason": reason}


async def _last_hold_event(ctx: StepContext, order: Order) -> str | None:
    """``order.held`` or ``order.released``, whichever the timeline shows last (None: neither)."""
    events = [e.event for e in await ctx.timeline("order", order.id) if e.event in ("order.held", "order.released")]
    return events[-1] if events else None


async def _note_release(ctx: StepContext, order: Order, released_by: str, reason: str) -> None:
    """Put an operator's release on the timeline once (the service cannot write the timeline)."""
    if await _last_hold_event(ctx, order) == "order.held":
        ctx.event("order", order.id, "order.released", released_by=released_by, reason=reason)


async def _newer_run(ctx: StepContext) -> RunRecord | None:
    """An active run of the same order queued after this one, if any."""
    me = ctx.claimed.run
    if me.ordering_key is None:
        return None
    runs = await ctx.env.db.call(ctx.env.store.list_runs, RunFilter(ordering_key=me.ordering_key, limit=100))
    later = [
        r
        for r in runs
        if r.id != me.id
        and r.flow in (me.flow, CANCEL_FLOW)  # a newer version of the order, or its cancellation
        and r.state in ACTIVE_STATES
        and (r.ordering_seq, r.id) > (me.ordering_seq, me.id)
    ]
    return min(later, key=lambda r: (r.ordering_seq, r.id)) if later else None
