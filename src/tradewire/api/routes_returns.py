"""API v1: returns (RMAs) — list, show, inspect a line."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from tradewire.api.deps import OperationsDep
from tradewire.services.returns import Returns

router = APIRouter(prefix="/v1", tags=["returns"])


def returns_service(ops: OperationsDep) -> Returns:
    """The returns use cases for the request's client (same auth as the other operator routes)."""
    return Returns(ops.store, ops.client_id, actor=ops.actor, require=ops.require, source=ops.source)


ReturnsDep = Annotated[Returns, Depends(returns_service)]


class InspectIn(BaseModel):
    """One line's inspection."""

    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(min_length=1, max_length=64)
    received: int = Field(ge=0, le=1_000_000)
    disposition: str = Field(description="restock, refurbish or write_off")


@router.get("/returns", summary="List RMAs, most recently changed first")
def list_returns(
    returns: ReturnsDep,
    state: str | None = None,
    order_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return returns.list(state=state, order_id=order_id, limit=limit)


@router.get("/returns/{rma}", summary="One RMA by id or source return number")
def show_return(returns: ReturnsDep, rma: str) -> dict[str, Any]:
    return returns.show(rma)


@router.post("/returns/{rma}/inspections", status_code=202, summary="Inspect one line (queued for the worker)")
def inspect_line(returns: ReturnsDep, rma: str, body: InspectIn) -> dict[str, Any]:
    return returns.inspect(rma, line_id=body.line_id, received=body.received, disposition=body.disposition)


class RefundIn(BaseModel):
    """A refund a person made on the channel by hand."""

    model_config = ConfigDict(extra="forbid")

    refund_ref: str = Field(min_length=1, max_length=255)
    amount: Decimal | None = Field(default=None, ge=0)


@router.post("/returns/{rma}/refunds", status_code=202, summary="Record a refund made on the channel by hand")
def record_refund(returns: ReturnsDep, rma: str, body: RefundIn) -> dict[str, Any]:
    return returns.record_manual_refund(rma, refund_ref=body.refund_ref, amount=body.amount)
