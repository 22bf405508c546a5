"""The RMA state machine: forward only, illegal moves refused with a reason, postings once and in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewire.canonical import Disposition, ExternalRef, Return, ReturnLine, ReturnOutcome, ReturnStatus
from tradewire.returns.machine import (
    IllegalTransition,
    Posting,
    apply_update,
    close,
    due_postings,
    inspect,
    mismatch,
    movements,
    open_rma,
    record_credit_memo,
    record_refund,
)
from tradewire.returns.model import RANK, RefundOrigin, Rma

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def vendor_return(
    status: ReturnStatus, *, at: datetime = T0, lines: int = 2, outcome: ReturnOutcome = ReturnOutcome.REFUND
) -> Return:
    items = [
        ReturnLine(line_id=f"L{i}", sku=f"SKU-{i}", quantity=1, order_line_id=f"O{i}", refund_amount=Decimal("20.00"))
        for i in range(1, lines + 1)
    ]
    return Return(
        id="rma-1",
        client_id="c1",
        source=ExternalRef(system="loop", connection_id="loop-1", object="return", external_id="9001"),
        number="9001",
        order_number="#1001",
        status=status,
        outcome=outcome,
        created_at=T0,
        updated_at=at,
        currency="USD",
        lines=items,
        refund_total=Decimal("20.00") * lines,
    )


def new_rma(status: ReturnStatus = ReturnStatus.AUTHORIZED, **kwargs: object) -> Rma:
    ret = vendor_return(status, **kwargs)  # type: ignore[arg-type]
    return open_rma(ret, order_id="o1", order_number="#1001", channel_connection_id="ch1", ordering_key="k", now=T0)


def inspected(rma: Rma, received: int = 1, disposition: Disposition = Disposition.RESTOCK) -> Rma:
    for line in rma.lines:
        rma = inspect(rma, line.line_id, received, disposition, T0)
    return rma


def test_a_return_moves_forward_through_its_states() -> None:
    rma = new_rma(ReturnStatus.REQUESTED)
    for step, status in enumerate((ReturnStatus.AUTHORIZED, ReturnStatus.IN_TRANSIT, ReturnStatus.RECEIVED), 1):
        change = apply_update(rma, vendor_return(status, at=T0 + timedelta(minutes=step)), T0)
        assert change.changed
        assert change.rma.state is status
        rma = change.rma
    assert rma.version == 4


def test_a_late_event_never_moves_an_rma_back() -> None:
    rma = apply_update(new_rma(), vendor_return(ReturnStatus.IN_TRANSIT, at=T0 + timedelta(hours=2)), T0).rma
    late = apply_update(rma, vendor_return(ReturnStatus.AUTHORIZED, at=T0 + timedelta(hours=1)), T0)
    assert not late.changed
    assert late.rma.state is ReturnStatus.IN_TRANSIT
    assert late.ignored is not None
    assert "late event" in late.ignored
    # same change time but an earlier state (a redelivery of an old snapshot): still not backwards
    again = apply_update(rma, vendor_return(ReturnStatus.AUTHORIZED, at=T0 + timedelta(hours=2)), T0)
    assert again.rma.state is ReturnStatus.IN_TRANSIT
    assert not again.changed


def test_vendor_closure_counts_as_received_not_as_inspected() -> None:
    rma = apply_update(new_rma(), vendor_return(ReturnStatus.CLOSED, at=T0 + timedelta(hours=1)), T0).rma
    assert rma.state is ReturnStatus.RECEIVED
    assert due_postings(rma) == []


def test_cancelling_after_receipt_is_refused_with_a_reason() -> None:
    rma = apply_update(new_rma(), vendor_return(ReturnStatus.RECEIVED, at=T0 + timedelta(hours=1)), T0).rma
    with pytest.raises(IllegalTransition, match="already received"):
        apply_update(rma, vendor_return(ReturnStatus.CANCELLED, at=T0 + timedelta(hours=2)), T0)


def test_a_cancelled_rma_ignores_later_events() -> None:
    rma = apply_update(new_rma(), vendor_return(ReturnStatus.CANCELLED, at=T0 + timedelta(hours=1)), T0).rma
    change = apply_update(rma, vendor_return(ReturnStatus.RECEIVED, at=T0 + timedelta(hours=2)), T0)
    assert not change.changed
    assert change.rma.state is ReturnStatus.CANCELLED


def test_lines_change_before_receipt_only() -> None:
    rma = new_rma(lines=2)
    rma = apply_update(rma, vendor_return(ReturnStatus.AUTHORIZED, at=T0 + timedelta(minutes=1), lines=1), T0).rma
    assert [line.line_id for line in rma.lines] == ["L1"]
    rma = apply_update(rma, vendor_return(ReturnStatus.RECEIVED, at=T0 + timedelta(minutes=2), lines=1), T0).rma
    rma2 = apply_update(rma, vendor_return(ReturnStatus.RECEIVED, at=T0 + timedelta(minutes=3), lines=2), T0).rma
    assert [line.line_id for line in rma2.lines] == ["L1"]


def test_inspection_rules() -> None:
    with pytest.raises(IllegalTransition, match="only authorized"):
        inspect(new_rma(ReturnStatus.REQUESTED), "L1", 1, Disposition.RESTOCK, T0)
    rma = new_rma()
    with pytest.raises(IllegalTransition, match="no line 'nope'"):
        inspect(rma, "nope", 1, Disposition.RESTOCK, T0)
    half = inspect(rma, "L1", 1, Disposition.RESTOCK, T0)
    assert half.state is ReturnStatus.RECEIVED
    with pytest.raises(IllegalTransition, match="already inspected"):
        inspect(half, "L1", 1, Disposition.WRITE_OFF, T0)
    done = inspect(half, "L2", 0, Disposition.WRITE_OFF, T0)
    assert done.state is ReturnStatus.INSPECTED
    assert mismatch(done.lines[1])
    assert not mismatch(done.lines[0])
    with pytest.raises(IllegalTransition, match="only authorized"):
        inspect(done, "L2", 1, Disposition.RESTOCK, T0)


def test_refund_then_credit_memo_then_closed() -> None:
    rma = inspected(new_rma())
    assert due_postings(rma) == [Posting.REFUND, Posting.CREDIT_MEMO]
    with pytest.raises(IllegalTransition, match="owes no credit memo"):
        record_credit_memo(rma, "CM1", T0)
    rma = record_refund(rma, "R1", RefundOrigin.TRADEWIRE, Decimal("40.00"), T0).rma
    assert due_postings(rma) == [Posting.CREDIT_MEMO]
    assert not record_refund(rma, "R1", RefundOrigin.TRADEWIRE, Decimal("40.00"), T0).changed
    with pytest.raises(IllegalTransition, match="second refund"):
        record_refund(rma, "R2", RefundOrigin.CHANNEL, Decimal("40.00"), T0)
    rma = record_credit_memo(rma, "CM1", T0).rma
    assert due_postings(rma) == []
    closed = close(rma, T0)
    assert closed.changed
    assert closed.rma.state is ReturnStatus.CLOSED


def test_a_channel_refund_before_inspection_is_not_refunded_again() -> None:
    rma = record_refund(new_rma(), "shopify-77", RefundOrigin.CHANNEL, Decimal("40.00"), T0).rma
    rma = inspected(rma)
    assert due_postings(rma) == [Posting.CREDIT_MEMO]


def test_refund_covers_what_came_back() -> None:
    rma = inspect(new_rma(), "L1", 1, Disposition.RESTOCK, T0)
    rma = inspect(rma, "L2", 0, Disposition.WRITE_OFF, T0)
    assert rma.refund_total() == Decimal("20.00")
    nothing = inspected(new_rma(), received=0)
    assert due_postings(nothing) == []
    assert close(nothing, T0).changed


def test_dispositions_become_stock_movements() -> None:
    rma = inspect(new_rma(), "L1", 1, Disposition.RESTOCK, T0)
    rma = inspect(rma, "L2", 1, Disposition.REFURBISH, T0)
    assert [(m.kind, m.sku, m.quantity) for m in movements(rma)] == [("restock", "SKU-1", 1), ("refurbish", "SKU-2", 1)]
    assert len({m.key for m in movements(rma)}) == 2


def test_store_credit_gets_a_credit_memo_but_no_refund() -> None:
    rma = inspected(new_rma(outcome=ReturnOutcome.STORE_CREDIT))
    assert due_postings(rma) == [Posting.CREDIT_MEMO]
    exchange = inspected(new_rma(outcome=ReturnOutcome.EXCHANGE))
    assert due_postings(exchange) == []


# --- properties -----------------------------------------------------------------------------------

STATUSES = st.sampled_from(list(ReturnStatus))
EVENT = st.one_of(
    st.tuples(st.just("vendor"), STATUSES, st.integers(min_value=0, max_value=50)),
    st.tuples(st.just("inspect"), st.sampled_from(["L1", "L2"]), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("channel_refund"), st.sampled_from(["S1", "S2"]), st.just(0)),
    st.tuples(st.just("post"), st.just(""), st.just(0)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENT, max_size=40))
def test_random_event_sequences_never_go_backwards_nor_post_twice(events: list[tuple[str, object, int]]) -> None:
    rma = new_rma(ReturnStatus.REQUESTED)
    refunds = credit_memos = 0
    for kind, arg, number in events:
        before = rma
        try:
            if kind == "vendor":
                assert isinstance(arg, ReturnStatus)
                rma = apply_update(rma, vendor_return(arg, at=T0 + timedelta(minutes=number)), T0).rma
            elif kind == "inspect":
                rma = inspect(rma, str(arg), number, Disposition.RESTOCK, T0)
            elif kind == "channel_refund":
                rma = record_refund(rma, str(arg), RefundOrigin.CHANNEL, Decimal("1"), T0).rma
            else:  # the worker runs whatever is owed, in order
                for posting in due_postings(rma):
                    if posting is Posting.REFUND:
                        rma = record_refund(rma, "ours", RefundOrigin.TRADEWIRE, rma.refund_total(), T0).rma
                        refunds += 1
                    else:
                        rma = record_credit_memo(rma, "cm", T0).rma
                        credit_memos += 1
                rma = close(rma, T0).rma
        except IllegalTransition:
            assert rma == before  # a refused change leaves the RMA as it was
        assert RANK[rma.state] >= RANK[before.state], f"{before.state} -> {rma.state} on {kind}"
        assert rma.version >= before.version
        if before.refund_ref is not None:
            assert rma.refund_ref == before.refund_ref  # a refund is never replaced
        if before.credit_memo_ref is not None:
            assert rma.credit_memo_ref == before.credit_memo_ref
        if rma.credit_memo_ref is not None and rma.outcome is ReturnOutcome.REFUND:
            assert rma.refund_ref is not None  # never a credit memo before the refund
    assert refunds <= 1
    assert credit_memos <= 1
    if rma.state is ReturnStatus.INSPECTED:
        # once inspected, running what is owed settles everything: nothing is skipped
        for posting in due_postings(rma):
            rma = (
                record_refund(rma, "ours", RefundOrigin.TRADEWIRE, rma.refund_total(), T0).rma
                if posting is Posting.REFUND
                else record_credit_memo(rma, "cm", T0).rma
            )
        assert close(rma, T0).rma.state is ReturnStatus.CLOSED
