"""Loop as a source of canonical returns: whole bodies map as they are, thin notices read the return."""

from __future__ import annotations

import asyncio
import json

import httpx
from loop_helpers import API_KEY, WEBHOOK_SECRET, connection

from tradewire.canonical import Return, ReturnStatus
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.loop import SPEC
from tradewire.connectors.loop.sandbox import create_sandbox
from tradewire.connectors.loop.source import thin_reference


def test_label_and_processing_notices_name_their_return_and_the_reader_fetches_it() -> None:
    app = create_sandbox(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, seed=2)
    loop = app.state.loop
    rid = loop.create_returns(1)[0]["id"]
    loop.create_label(rid)
    loop.update_label(rid, "in_transit")
    label = json.loads(loop.webhook_body("label", "label.updated", rid))
    whole = json.loads(loop.webhook_body("return", "return.updated", rid))
    source = SPEC.sources["return"]
    assert thin_reference(label) == str(rid)
    assert thin_reference(whole) is None
    assert thin_reference({"topic": "return.processing", "return_id": rid, "message": "failed"}) == str(rid)
    assert source.reader is not None
    reader = source.reader(connection(), UnlimitedBudget(), httpx.ASGITransport(app=app))

    async def read() -> list[dict[str, object]]:
        try:
            return await reader.fetch_records(str(rid))
        finally:
            await reader.aclose()

    [payload] = asyncio.run(read())
    ret = source.to_canonical(payload, client_id="c1", connection_id="lp")
    assert isinstance(ret, Return)
    assert ret.status is ReturnStatus.IN_TRANSIT
