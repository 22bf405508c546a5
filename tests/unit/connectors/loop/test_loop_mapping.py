"""Loop return → canonical Return: fields, status and outcome tables, bad records, and ``tradewire map``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradewire.canonical import Return, ReturnOutcome, ReturnStatus
from tradewire.connectors.loop import SPEC
from tradewire.connectors.loop.mapping import return_to_canonical
from tradewire.connectors.loop.sandbox_store import SandboxLoop
from tradewire.errors import MappingError
from tradewire.services.mapping import map_record

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parents[2] / "fixtures" / "vendor"


def realistic() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((HERE / "loop_return_realistic.json").read_text())
    payload.pop("_note")
    return payload


def to_canonical(payload: dict[str, Any]) -> Return:
    return return_to_canonical(payload, client_id="client-1", connection_id="conn-loop")


def test_realistic_payload_covers_every_field_of_loops_schema() -> None:
    placeholder = json.loads((FIXTURES / "loop_return_webhook_SCHEMA_PLACEHOLDER.json").read_text())
    placeholder.pop("_note")
    assert set(placeholder) <= set(realistic())
    for nested in ("customer_detail", "address"):
        assert set(placeholder[nested]) == set(realistic()[nested])


def test_realistic_payload_maps_field_by_field() -> None:
    got = to_canonical(realistic())
    assert got.source.model_dump() == {
        "system": "loop", "connection_id": "conn-loop", "object": "return", "external_id": "48213377",
    }  # fmt: skip
    assert (got.number, got.order_number, got.order_external_id) == ("48213377", "#1042", "5550001042")
    assert got.customer_email == "ann.lee@example.com"
    assert got.currency == "USD"
    assert got.created_at == datetime(2026, 11, 18, 15, 4, 5, tzinfo=UTC)
    assert got.updated_at == datetime(2026, 11, 20, 9, 30, 12, tzinfo=UTC)
    assert got.status is ReturnStatus.IN_TRANSIT
    assert got.outcome is ReturnOutcome.REFUND
    assert (got.carrier, got.tracking_number) == ("USPS", "9400111899223197428490")  # the newest label
    assert [(line.line_id, line.sku, line.quantity, line.order_line_id, line.reason) for line in got.lines] == [
        ("70011", "TSHIRT-BLK-M", 1, "13579000001", "Too small"),
        ("70012", "JEANS-IND-32", 1, "13579000002", "Changed my mind"),
    ]
    # Line refund: Loop's own `refund` when given, else price - discount + tax.
    assert [line.refund_amount for line in got.lines] == [Decimal("24.30"), Decimal("54.70")]
    assert got.refund_total == Decimal("79.00")


def test_mapping_is_deterministic_and_ids_are_stable_across_id_types() -> None:
    as_int = realistic() | {"id": 48213377}
    assert to_canonical(realistic()) == to_canonical(realistic())
    assert to_canonical(as_int).id == to_canonical(realistic()).id


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"state": "open", "labels": []}, ReturnStatus.AUTHORIZED),
        ({"state": "needs review", "labels": []}, ReturnStatus.REQUESTED),
        ({"state": "open", "labels": [{"status": "pre_transit", "tracking_number": "1"}]}, ReturnStatus.AUTHORIZED),
        (
            {"state": "open", "labels": [{"label_status": "out_for_delivery", "tracking_number": "1"}]},
            ReturnStatus.IN_TRANSIT,
        ),
        ({"state": "open", "labels": [{"status": "delivered", "tracking_number": "1"}]}, ReturnStatus.RECEIVED),
        ({"state": "open", "trigger": "restock.requested", "topic": "restock"}, ReturnStatus.RECEIVED),
        ({"state": "closed"}, ReturnStatus.CLOSED),
        ({"state": "cancelled"}, ReturnStatus.CANCELLED),
        ({"state": "expired"}, ReturnStatus.CANCELLED),
    ],
)
def test_status_from_state_trigger_and_labels(changes: dict[str, Any], status: ReturnStatus) -> None:
    assert to_canonical(realistic() | changes).status is status


def test_every_unit_returned_means_received() -> None:
    payload = realistic() | {"labels": []}
    for item in payload["line_items"]:
        item["returned_at"] = "2026-11-21 10:00:00"
    assert to_canonical(payload).status is ReturnStatus.RECEIVED


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({"outcome": "credit"}, ReturnOutcome.STORE_CREDIT),
        ({"outcome": "exchange+refund"}, ReturnOutcome.EXCHANGE),
        ({"outcome": "upsell"}, ReturnOutcome.EXCHANGE),
        ({"exchange_total": "30.00", "refund": "0.00"}, ReturnOutcome.EXCHANGE),
        ({"gift_card": "79.00", "refund": "0.00", "refunds": []}, ReturnOutcome.STORE_CREDIT),
        ({"refund": "0.00", "refunds": []}, ReturnOutcome.NONE),
    ],
)
def test_outcome_from_loop_outcome_or_totals(changes: dict[str, Any], outcome: ReturnOutcome) -> None:
    assert to_canonical(realistic() | changes).outcome is outcome


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"currency": None}, "has no currency"),
        ({"currency": "XYZ"}, "not an ISO 4217"),
        ({"order_name": None, "order_number": None, "provider_order_number": None}, "names no order"),
        ({"line_items": []}, "has no line items"),
        ({"created_at": None}, "has no created_at"),
        ({"created_at": "last tuesday"}, "created_at 'last tuesday'"),
        ({"state": "teleported"}, "unknown state 'teleported'"),
        ({"customer": "not-an-email"}, "not an e-mail address"),
        ({"id": True}, "id"),
    ],
)
def test_bad_records_give_a_reason_a_person_can_act_on(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError) as caught:
        to_canonical(realistic() | changes)
    assert reason in str(caught.value)


def test_bad_money_names_the_line_and_value() -> None:
    payload = realistic()
    payload["line_items"][1]["price"] = "fifty"
    with pytest.raises(MappingError) as caught:
        to_canonical(payload)
    assert "line_items[1].price 'fifty'" in str(caught.value)


def test_repeated_line_item_ids_are_refused() -> None:
    payload = realistic()
    payload["line_items"][1]["line_item_id"] = "70011"
    with pytest.raises(MappingError, match="repeats"):
        to_canonical(payload)


def test_notifications_that_are_not_returns_say_what_to_do() -> None:
    failed = json.loads((FIXTURES / "loop_return_processing_failed_webhook_EXAMPLES.json").read_text())
    with pytest.raises(MappingError, match=r"return.processing.failed notification about return 1673"):
        to_canonical(failed)
    label = {"topic": "label", "trigger": "label.created", "id": "12345", "label_status": "pre_transit"}
    with pytest.raises(MappingError, match="label notification about return '12345'"):
        to_canonical(label)


def test_every_sandbox_return_maps_through_its_whole_life() -> None:
    loop = SandboxLoop(api_key="k", webhook_secret="s", seed=9)
    created = loop.create_returns(30)
    rid = created[0]["id"]
    loop.create_label(rid)
    loop.update_label(rid, "in_transit")
    loop.request_restock(created[1]["id"])
    loop.process(created[2]["id"])
    loop.cancel(created[3]["id"])
    loop.expire(created[4]["id"])
    mapped = {r["id"]: to_canonical(r) for r in loop.all_returns()}
    assert mapped[rid].status is ReturnStatus.IN_TRANSIT
    assert mapped[rid].tracking_number
    assert mapped[created[1]["id"]].status is ReturnStatus.RECEIVED
    assert mapped[created[2]["id"]].status is ReturnStatus.CLOSED
    assert {mapped[created[3]["id"]].status, mapped[created[4]["id"]].status} == {ReturnStatus.CANCELLED}
    for record in loop.all_returns():
        got = mapped[record["id"]]
        assert sum(line.quantity for line in got.lines) == len(record["line_items"])
        assert got.refund_total == Decimal(record["return_total"])


def test_tradewire_map_reads_a_loop_return() -> None:
    assert "return" in SPEC.reads
    raw = (HERE / "loop_return_realistic.json").read_bytes()
    out = map_record("loop", "return", raw)
    assert out["order_number"] == "#1042"
    assert out["refund_total"] == "79.00"
    assert Return.model_validate(out) == to_canonical(realistic()).model_copy(
        update={"client_id": out["client_id"], "id": out["id"], "source": Return.model_validate(out).source}
    )
    with pytest.raises(MappingError):
        map_record("loop", "return", (FIXTURES / "loop_return_processing_failed_webhook_EXAMPLES.json").read_bytes())
