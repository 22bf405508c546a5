"""Shopify ``refunds/create``: the webhook's event and the canonical Refund, from the documented payload."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_shopify_webhooks import HOOKS, NOW, connection, headers

from tradewire.connectors.base.returns import marked_return_id, refund_marker
from tradewire.connectors.shopify import SPEC
from tradewire.connectors.shopify.refunds_in import refund_to_canonical
from tradewire.errors import MappingError, WebhookRejected

FIXTURE = Path("/work/shared/connectors/fixtures/shopify_rest_refund_create.json")
DOC_REFUND: dict[str, Any] = {
    "id": 929361466, "order_id": 450789469, "created_at": "2024-04-02T09:01:02-05:00", "note": "wrong size",
    "refund_line_items": [{"id": 1058498311, "line_item_id": 518995019, "quantity": 1, "restock_type": "return",
                           "subtotal": 41.94, "total_tax": 0.0, "line_item": {"sku": "IPOD2008PINK"}}],
    "transactions": [{"id": 1068278483, "kind": "refund", "status": "success", "amount": "41.94", "currency": "USD"}],
}  # fmt: skip


def doc_refund() -> dict[str, Any]:
    """The documented refund (the shared fixture when present, else its essentials)."""
    if FIXTURE.exists():
        return dict(json.loads(FIXTURE.read_text())["response_body"]["refund"])
    return json.loads(json.dumps(DOC_REFUND))


def test_the_documented_refund_maps_to_a_canonical_refund() -> None:
    refund = refund_to_canonical(doc_refund(), client_id="c1", connection_id="shop")
    assert refund.order_external_id == "450789469"
    assert refund.source.external_id == "929361466"
    assert refund.amount == Decimal("41.94")
    assert refund.currency == "USD"
    assert refund.note == "wrong size"
    assert [line.order_line_id for line in refund.lines] == ["518995019"]
    assert refund.lines[0].quantity == 1
    assert refund_to_canonical(doc_refund(), client_id="c1", connection_id="shop").id == refund.id


def test_a_refund_without_ids_or_currency_is_a_clear_mapping_error() -> None:
    with pytest.raises(MappingError, match="integer id and order_id"):
        refund_to_canonical({"id": "x"}, client_id="c1", connection_id="shop")
    body = doc_refund()
    body["transactions"] = [{"kind": "refund", "status": "success", "amount": "1.00", "currency": "???"}]
    with pytest.raises(MappingError, match="ISO 4217"):
        refund_to_canonical(body, client_id="c1", connection_id="shop")


def test_the_webhook_is_a_refund_event_ordered_with_its_order() -> None:
    body = json.dumps(doc_refund()).encode()
    event = HOOKS.parse(body, headers(body=body, topic="refunds/create"), connection(), now=NOW)
    assert event.event_type == "refund.created"
    assert event.object_type == "refund"
    assert event.external_id == "929361466"
    assert event.ordering_key == "order:conn-1:450789469"
    assert event.idempotency_key == "refunds/create:evt-1"
    bad = json.dumps({"id": 1}).encode()
    with pytest.raises(WebhookRejected, match="order_id"):
        HOOKS.parse(bad, headers(body=bad, topic="refunds/create"), connection(), now=NOW)


def test_our_own_refunds_are_recognised_by_their_note() -> None:
    assert marked_return_id(f"Refund for {refund_marker('rma-9')}; thanks") == "rma-9"
    assert marked_return_id("wrong size") is None
    assert marked_return_id(None) is None
    assert "refund" in SPEC.sources
