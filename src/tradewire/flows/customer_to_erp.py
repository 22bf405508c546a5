"""customer_to_erp: a canonical customer becomes an ERP customer (upsert by external id)."""

from __future__ import annotations

from typing import Any

from tradewire.canonical import Customer
from tradewire.errors import PermanentError
from tradewire.flows.context import StepContext
from tradewire.flows.engine import Flow, Step
from tradewire.runtime.store.port_facts import ExceptionsResolved

NAME = "customer_to_erp"
VERSION = 1


async def upsert_customer(ctx: StepContext) -> dict[str, Any]:
    """Upsert the customer and bind it, so orders waiting for it can go on."""
    data = ctx.claimed.run.input or {}
    if "customer" not in data or "erp_connection_id" not in data:
        raise PermanentError(f"run {ctx.claimed.run.id} has no customer input")
    customer = Customer.model_validate(data["customer"])
    erp_id = str(data["erp_connection_id"])
    customers = ctx.binder(erp_id, "customer")
    known = await customers.external_id(customer.id)
    if known is not None:
        return {"customer_ref": known, "created": False}
    sink = await ctx.order_sink(erp_id)
    try:
        ref = await sink.upsert_customer(customer)
    except PermanentError as exc:  # the customer's data (an email, an address) is the ERP's objection
        ctx.open_exception(
            customer_data_key(customer.id),
            "customer_data",
            "customer",
            customer.id,
            f"the ERP refused customer {customer.email or customer.id}: {exc}; fix the customer's data, then replay",
            erp_connection_id=erp_id,
        )
        raise
    customers.bind(ref, customer.id)
    ctx.record(ExceptionsResolved((customer_data_key(customer.id),), f"customer exported as {ref}"))
    ctx.event("customer", customer.id, "customer.exported", system="erp", connection_id=erp_id, external_id=ref)
    return {"customer_ref": ref, "created": True}


def customer_data_key(customer_id: str) -> str:
    """The exception key of a customer the ERP refused."""
    return f"customer_data:{customer_id}"


FLOW = Flow(
    name=NAME,
    version=VERSION,
    description="Canonical customer → ERP customer",
    steps=(Step("upsert_customer", upsert_customer),),
)
