"""return_inspect: an operator counts a returned line and gives it a disposition.

The command arrives as a message (``services.returns.inspect``) on the RMA's ordering key, so it
runs after every event of the return received before it. inspect_line applies the state machine
(illegal inspections end the run with the reason), records the stock movement of the disposition
(RESTOCK makes the units available again; REFURBISH and WRITE_OFF are recorded) and opens a
``quantity_mismatch`` exception when the count differs from what the customer announced. Once
every line is inspected, the owed postings run.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tradewire.canonical import Disposition
from tradewire.connectors.base.payload import load_json_object
from tradewire.errors import MappingError, PermanentError
from tradewire.flows.context import StepContext
from tradewire.flows.engine import Flow, Step
from tradewire.flows.return_postings import POSTING_STEPS
from tradewire.flows.returns_common import save_rma, stored_rma
from tradewire.returns.machine import inspect, mismatch, movements
from tradewire.runtime.store.port_facts import StockMovement, StockMovementKind

NAME = "return_inspect"
VERSION = 1
TOPIC = "return.inspected"


class InspectCommand(BaseModel):
    """What the operator said about one line."""

    model_config = ConfigDict(extra="forbid")

    rma_id: str = Field(min_length=1, max_length=64)
    line_id: str = Field(min_length=1, max_length=64)
    received: int = Field(ge=0, le=1_000_000)
    disposition: Disposition
    actor: str = Field(default="operator", max_length=200)


def mismatch_key(rma_id: str, line_id: str) -> str:
    """The exception key of a line whose count differs from the announced quantity."""
    return f"quantity_mismatch:{rma_id}:{line_id}"


async def inspect_line(ctx: StepContext) -> dict[str, Any]:
    """Apply the inspection, record its stock movement and any quantity mismatch."""
    if ctx.claimed.body is None:
        raise MappingError(f"run {ctx.claimed.run.id} has no inspection command")
    try:
        command = InspectCommand.model_validate(load_json_object(ctx.claimed.body))
    except ValidationError as exc:
        raise MappingError(f"inspection command is invalid: {exc.errors(include_url=False)[0].get('msg')}") from None
    rma = await stored_rma(ctx, command.rma_id)
    if rma is None:
        raise PermanentError(f"return {command.rma_id} does not exist")
    rma = inspect(rma, command.line_id, command.received, command.disposition, ctx.now())
    line = rma.line(command.line_id)
    assert line is not None  # inspect() checked it
    for move in movements(rma):
        if move.key.startswith(f"return:{rma.id}:{line.line_id}:"):
            ctx.record(StockMovement(move.key, StockMovementKind(move.kind), move.sku, move.quantity, reference=rma.id))
    if mismatch(line):
        ctx.open_exception(
            mismatch_key(rma.id, line.line_id), "quantity_mismatch", "return", rma.id,
            f"return {rma.number or rma.id} line {line.line_id} ({line.sku}): {line.received} received, "
            f"{line.expected} announced; the refund covers what was received — contact the customer if needed",
            expected=line.expected, received=line.received, sku=line.sku,
        )  # fmt: skip
    ctx.event("return", rma.id, "return.line_inspected", line=line.line_id, sku=line.sku, received=line.received,
              expected=line.expected, disposition=command.disposition.value, actor=command.actor,
              state=rma.state.value)  # fmt: skip
    return save_rma(ctx, rma)


FLOW = Flow(
    name=NAME,
    version=VERSION,
    description="Operator inspection → disposition stock movement → refund and credit memo once all lines are in",
    steps=(Step("inspect_line", inspect_line), *POSTING_STEPS),
)
