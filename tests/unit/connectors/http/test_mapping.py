"""JMESPath field mappings of the example definition: members → Customer, transactions → Order."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from http_support import definition, sandbox

from tradewire.canonical import Customer, FinancialStatus, Order, OrderStatus
from tradewire.connectors.http.definition import FieldExpr
from tradewire.connectors.http.mapping import parse_time, to_canonical, to_customer, to_order
from tradewire.errors import MappingError

DEF = definition()
MEMBER: dict[str, Any] = {
    "id": "mbr_42",
    "email": " Ada.Lovelace@Example.com ",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "phone": "+15551234567",
    "address": {"street": "1 Analytical Way", "city": "London", "state": "LDN", "zip": "N1 9GU", "country": "gb"},
    "tags": ["vip", None],
    "tier": "gold",
    "points_balance": 2400,
    "created_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-20T08:30:00.123456Z",
}
TRANSACTION: dict[str, Any] = {
    "id": "txn_7",
    "number": "T-7",
    "member_id": "mbr_42",
    "member": {"email": "ada.lovelace@example.com", "first_name": "Ada", "last_name": "Lovelace", "phone": None},
    "status": "completed",
    "currency": "USD",
    "items": [
        {"line": 1, "sku": "TEE-BLK-M", "name": "Black tee (M)", "qty": 2, "unit_price": "25.00"},
        {"line": 2, "sku": "MUG-001", "name": "Mug", "qty": 1, "unit_price": "12.50"},
    ],
    "subtotal": "62.50",
    "tax": "5.00",
    "total": "67.50",
    "created_at": "2026-11-20T09:00:00Z",
    "updated_at": "2026-11-20T09:00:00Z",
    "voided_at": None,
}


def customer(record: dict[str, Any]) -> Customer:
    return to_customer(DEF, "member", record, client_id="c1", connection_id="k1")


def order(record: dict[str, Any]) -> Order:
    return to_order(DEF, "transaction", record, client_id="c1", connection_id="k1")


def test_member_becomes_a_customer() -> None:
    mapped = customer(MEMBER)
    assert mapped.email == "ada.lovelace@example.com"
    assert (mapped.first_name, mapped.last_name, mapped.phone) == ("Ada", "Lovelace", "+15551234567")
    assert mapped.tags == ["gold", "vip"]
    assert mapped.default_address is not None
    assert mapped.default_address.name == "Ada Lovelace"
    assert mapped.default_address.country_code == "GB"
    assert mapped.default_address.postal_code == "N1 9GU"
    assert mapped.updated_at is not None
    assert mapped.updated_at.microsecond == 123456
    assert mapped.source is not None
    assert mapped.source.external_id == "mbr_42"
    assert mapped.source.system == "http"


def test_customer_ids_are_stable_and_follow_the_email() -> None:
    assert customer(MEMBER).id == customer(copy.deepcopy(MEMBER)).id
    changed = copy.deepcopy(MEMBER) | {"email": "other@example.com"}
    assert customer(changed).id != customer(MEMBER).id
    no_email = {k: v for k, v in MEMBER.items() if k != "email"}
    assert customer(no_email).email is None
    assert customer(no_email).id


def test_transaction_becomes_an_order_with_computed_line_totals() -> None:
    mapped = order(TRANSACTION)
    assert mapped.number == "T-7"
    assert mapped.status is OrderStatus.OPEN
    assert mapped.financial_status is FinancialStatus.PAID
    assert mapped.total == Decimal("67.50")
    assert mapped.tax_total == Decimal("5.00")
    assert [(line.line_id, line.sku, line.quantity, line.total) for line in mapped.lines] == [
        ("1", "TEE-BLK-M", 2, Decimal("50.00")),
        ("2", "MUG-001", 1, Decimal("12.50")),
    ]
    assert mapped.customer.email == "ada.lovelace@example.com"
    assert mapped.customer.source_customer_id == "mbr_42"
    assert mapped.tags == ["loyalty"]


def test_a_voided_transaction_is_a_cancelled_order() -> None:
    voided = TRANSACTION | {"status": "voided", "voided_at": "2026-11-21T10:00:00Z"}
    mapped = order(voided)
    assert mapped.status is OrderStatus.CANCELLED
    assert mapped.financial_status is FinancialStatus.VOIDED
    assert mapped.cancelled_at is not None


def test_sandbox_records_all_map() -> None:
    store = sandbox().state.loyalty
    txs = store.create_transactions(12)
    store.void_transaction(txs[0]["id"])
    for member in store.changed_since("members", None):
        assert isinstance(to_canonical(DEF, "member", member, client_id="c", connection_id="k"), Customer)
    for tx in store.changed_since("transactions", None):
        assert isinstance(to_canonical(DEF, "transaction", tx, client_id="c", connection_id="k"), Order)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({k: v for k, v in MEMBER.items() if k != "id"}, "no id at 'id'"),
        (MEMBER | {"id": {"nested": 1}}, "no id"),
        (MEMBER | {"email": "not-an-email"}, "email"),
        (MEMBER | {"first_name": {"a": 1}}, "expected text"),
        (MEMBER | {"updated_at": "last tuesday"}, "not a time"),
        (MEMBER | {"phone": ["+1", "+2"]}, "phone: expected text"),
        (MEMBER | {"address": MEMBER["address"] | {"country": "Great Britain"}}, "country_code"),
    ],
)
def test_bad_members_say_what_is_wrong(record: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        customer(record)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (TRANSACTION | {"status": "refunded"}, "no entry in map"),
        (TRANSACTION | {"items": []}, "selected no list of lines"),
        (TRANSACTION | {"currency": "XYZ"}, "currency"),
        (TRANSACTION | {"total": "99.00"}, "total 99.00"),
        (TRANSACTION | {"created_at": None}, "placed_at"),
        (TRANSACTION | {"items": [TRANSACTION["items"][0] | {"qty": 1.5}]}, "not a whole number"),
        (TRANSACTION | {"items": [TRANSACTION["items"][0] | {"unit_price": "free"}]}, "not an amount"),
        (TRANSACTION | {"created_at": "2026-11-20T09:00:00"}, "not a time with a zone"),
    ],
)
def test_bad_transactions_say_what_is_wrong(record: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        order(record)


def test_unknown_objects_and_non_objects_are_mapping_errors() -> None:
    with pytest.raises(MappingError, match="no object 'ghost'"):
        to_canonical(DEF, "ghost", MEMBER, client_id="c", connection_id="k")
    with pytest.raises(MappingError, match="JSON object"):
        to_canonical(DEF, "member", ["not", "a", "record"], client_id="c", connection_id="k")
    with pytest.raises(MappingError, match="not order"):
        to_order(DEF, "member", MEMBER, client_id="c", connection_id="k")


def test_defaults_and_maps_of_field_expressions() -> None:
    spec = FieldExpr(expr="state", map={"a": "open"}, default="closed")
    assert spec.default == "closed"
    assert parse_time(1_700_000_000) == parse_time("2023-11-14T22:13:20Z")
    assert parse_time(1_700_000_000_000) == parse_time(1_700_000_000)
    assert parse_time("1700000000") == parse_time(1_700_000_000)
    assert parse_time("2026-11-20T09:00:00+02:00") == parse_time("2026-11-20T07:00:00Z")
    assert parse_time("2026-11-20") is None
    assert parse_time(True) is None
