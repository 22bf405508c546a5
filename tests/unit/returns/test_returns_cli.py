"""``tradewire returns list|show|inspect`` against a real SQLite file: JSON out, clear refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from typer.testing import CliRunner

from tradewire.canonical import ExternalRef, Return, ReturnLine, ReturnStatus
from tradewire.cli.main import app
from tradewire.returns.machine import open_rma
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.port import RunFilter
from tradewire.runtime.store.port_returns import RmaSnapshot
from tradewire.tenancy.context import client_scope

runner = CliRunner()
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def seed(url: str) -> tuple[str, str]:
    """A client with one received RMA of two lines; returns (client id, RMA id)."""
    store = open_store(url)
    partner = store.create_partner("P")
    client = store.create_client(partner, "Retailer")
    loop = store.create_connection(client, "loop", "Loop", {"base_url": "http://loop.invalid/api/v1"}, b"")
    lines = [ReturnLine(line_id=f"L{i}", sku=f"SKU-{i}", quantity=1, refund_amount=Decimal("10")) for i in (1, 2)]
    ret = Return(
        id="rma-1", client_id=client, number="9001", order_number="#1001", status=ReturnStatus.RECEIVED,
        source=ExternalRef(system="loop", connection_id=loop, object="return", external_id="9001"),
        created_at=NOW, currency="USD", lines=lines, refund_total=Decimal("20"),
    )  # fmt: skip
    rma = open_rma(ret, order_id="o-1", order_number="#1001", channel_connection_id="ch", ordering_key="k", now=NOW)
    with client_scope(client):
        store.record_facts(
            [RmaSnapshot(rma.id, rma.order_id, rma.state.value, rma.version, rma.model_dump(mode="json"))], NOW
        )
    store.close()
    return client, rma.id


def test_list_show_and_inspect(sqlite_url: str) -> None:
    client, rma_id = seed(sqlite_url)
    base = ["--database-url", sqlite_url, "--json"]
    listed = runner.invoke(app, ["returns", "list", *base])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert (row["id"], row["state"], row["due"]) == (rma_id, "received", [])
    shown = runner.invoke(app, ["returns", "show", "9001", *base])
    assert json.loads(shown.output)["lines"][0]["line_id"] == "L1"

    queued = runner.invoke(
        app, ["returns", "inspect", rma_id, "--line", "L1", "--received", "1", "--disposition", "restock", *base]
    )
    assert queued.exit_code == 0, queued.output
    assert json.loads(queued.output)["queued"] is True
    again = runner.invoke(
        app, ["returns", "inspect", rma_id, "--line", "L1", "--received", "1", "--disposition", "restock", *base]
    )
    assert json.loads(again.output)["queued"] is False  # the same command twice is one inspection

    unknown = runner.invoke(
        app, ["returns", "inspect", rma_id, "--line", "L9", "--received", "1", "--disposition", "restock", *base]
    )
    assert unknown.exit_code == 2
    assert "no line 'L9'" in unknown.output
    bad = runner.invoke(
        app, ["returns", "inspect", rma_id, "--line", "L2", "--received", "1", "--disposition", "burn", *base]
    )
    assert bad.exit_code == 2
    assert "unknown disposition" in bad.output
    missing = runner.invoke(app, ["returns", "show", "nope", *base])
    assert missing.exit_code == 2

    store = open_store(sqlite_url)
    with client_scope(client):
        runs = store.list_runs(RunFilter(flow="return_inspect"))
    store.close()
    assert [r.ordering_key for r in runs] == ["k"]
