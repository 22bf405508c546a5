"""Returns with Business Central as the ERP: Loop → RMA → inspection → Walmart refund → BC sales credit memo."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from returns_world import open_shop

from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.connectors.businesscentral.mapping import external_document_number
from tradewire.connectors.businesscentral.sandbox import create_sandbox
from tradewire.services.demo_world import CATALOG
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

if TYPE_CHECKING:
    from tests.integration.conftest import World

TENANT = "evergreen.onmicrosoft.com"
COMPANY = "824820a2-508c-ed11-aada-000d3a298ab3"


def test_a_walmart_return_is_credited_in_business_central_once(world: World) -> None:
    creds = {"client_id": secrets.token_hex(8), "client_secret": secrets.token_hex(16)}
    server = LoopbackServer(create_sandbox(tenant_id=TENANT, company_id=COMPANY, items=CATALOG, **creds)).start()
    box = SecretBox(world.settings.secret_key.get_secret_value())
    bc_id = world.store.create_connection(
        world.client_id, "businesscentral", "Business Central (sandbox)",
        {"tenant_id": TENANT, "company_id": COMPANY, "base_url": server.url, "authority_url": server.url,
         "shipping_account_number": "8110", "request_timeout_seconds": 5.0},
        box.seal({**creds, "webhook_client_state": secrets.token_urlsafe(32)}),
    )  # fmt: skip
    shops = open_shop(world, erp_id=bc_id)
    shop = next(shops)
    order = shop.shipped_order()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            shop.ingest_order(order)
            return_id = shop.loop_return(order)
            await shop.deliver(ingest, "return", "return.created", return_id)
            await world.settle(3)
            [rma] = shop.rmas()
            for line in rma["lines"]:
                shop.service().inspect(rma["id"], line_id=line["line_id"], received=1, disposition="restock")
            await world.wait_for(lambda: shop.rmas()[0]["state"] == "closed", "the RMA to close")
            # a replay of the inspections from the credit memo step books nothing new
            runs = [r.id for r in world.runs(flow="return_inspect")]
            with client_scope(world.client_id):
                world.store.replay(runs, "post_credit_memo", datetime.now(UTC))
            await world.settle(len(world.runs()))

    try:
        asyncio.run(main())
        [rma] = shop.rmas()
        memos = list(server.app.state.businesscentral.company.sets["salesCreditMemos"].values())
        assert len(memos) == 1
        assert memos[0]["id"] == rma["credit_memo"]
        assert memos[0]["externalDocumentNumber"] == external_document_number(rma["id"])
        assert shop.walmart_refunds(order["purchaseOrderId"]) == [f"tradewire:{rma['id']}"] * 2
    finally:
        server.stop()
        next(shops, None)
