"""Loop Returns payloads as Loop sends them (Pydantic, unknown fields kept).

Ids are strings or integers depending on the endpoint and docs page, so every id is read as
text. Money values are strings (``"12.50"``) and become ``Decimal``; numbers are accepted too.
Loop writes times as ISO-8601 or ``YYYY-MM-DD HH:MM:SS``; a time without an offset is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field


def _as_id(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("an id cannot be a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("an id cannot be empty")
        return text
    return value


def _as_optional_id(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _as_id(value)


def parse_loop_time(value: str) -> datetime | None:
    """An aware UTC time from Loop's text (``2026-11-20T10:00:00Z``, ``…+00:00`` or ``2026-11-20 10:00:00``), or None."""
    text = value.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _as_time(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        parsed = parse_loop_time(value)
        if parsed is None:
            raise ValueError(f"{value[:40]!r} is not an ISO-8601 time")
        return parsed
    raise ValueError(f"{value!r:.40} is not a time")


def _as_money(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("a money value cannot be a boolean")
    if isinstance(value, float):
        return Decimal(str(value))
    return value


LoopId = Annotated[str, BeforeValidator(_as_id)]
OptionalId = Annotated[str | None, BeforeValidator(_as_optional_id)]
LoopTime = Annotated[datetime | None, BeforeValidator(_as_time)]
Money = Annotated[Decimal | None, BeforeValidator(_as_money)]

_ALLOW = ConfigDict(extra="allow", populate_by_name=True)


class CustomerDetail(BaseModel):
    model_config = _ALLOW

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class LoopAddress(BaseModel):
    model_config = _ALLOW

    name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None


class LoopLineItem(BaseModel):
    """One returned unit: Loop lists a line item per unit, so a quantity of 2 is two line items."""

    model_config = _ALLOW

    line_item_id: LoopId
    provider_line_item_id: OptionalId = None
    product_id: OptionalId = None
    variant_id: OptionalId = None
    sku: str | None = None
    title: str | None = None
    price: Money = None
    discount: Money = None
    tax: Money = None
    refund: Money = None
    returned_at: LoopTime = None
    exchange_variant: Any = None
    barcode: str | None = None
    provider_restock_location_id: OptionalId = None
    reason: str | None = None
    parent_reason: str | None = None
    outcome: str | None = None


class LoopRefund(BaseModel):
    model_config = _ALLOW

    gateway: str | None = None
    amount: Money = None
    currency: str | None = None
    provider_refund_id: OptionalId = None


class LoopLabel(BaseModel):
    """A return shipping label (the ``label`` topic's subject, also listed on the return)."""

    model_config = _ALLOW

    id: OptionalId = None
    status: str | None = Field(default=None, validation_alias=AliasChoices("status", "label_status"))
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    label_url: str | None = None
    rate: Money = None
    created_at: LoopTime = None
    updated_at: LoopTime = Field(default=None, validation_alias=AliasChoices("updated_at", "label_updated_at"))


class LoopReturn(BaseModel):
    """A Loop return as the return webhook, the details endpoint and the detailed list carry it."""

    model_config = _ALLOW

    id: LoopId
    topic: str | None = None
    trigger: str | None = None
    shop_id: OptionalId = None
    state: str | None = None
    outcome: str | None = None
    created_at: LoopTime = None
    updated_at: LoopTime = None
    edited_at: LoopTime = None
    total: Money = None
    order_id: OptionalId = None
    order_name: str | None = None
    order_number: OptionalId = None
    provider_order_id: OptionalId = None
    provider_order_number: OptionalId = None
    provider_order_external_id: OptionalId = None
    customer: str | None = None
    customer_detail: CustomerDetail | None = None
    address: LoopAddress | None = None
    currency: str | None = None
    return_product_total: Money = None
    return_discount_total: Money = None
    return_tax_total: Money = None
    return_total: Money = None
    return_credit_total: Money = None
    exchange_product_total: Money = None
    exchange_discount_total: Money = None
    exchange_tax_total: Money = None
    exchange_total: Money = None
    exchange_credit_total: Money = None
    gift_card: Money = None
    handling_fee: Money = None
    refund: Money = None
    upsell: Money = None
    is_gift_return: bool | None = None
    refunds: list[LoopRefund] = Field(default_factory=list)
    line_items: list[LoopLineItem] = Field(default_factory=list)
    exchanges: list[dict[str, Any]] = Field(default_factory=list)
    labels: list[LoopLabel] = Field(default_factory=list)

    @property
    def changed_at(self) -> datetime | None:
        """When the return last changed: ``edited_at``, else ``updated_at``, else ``created_at``."""
        return self.edited_at or self.updated_at or self.created_at


class ReturnListPage(BaseModel):
    """One page of the Detailed Returns List (``paginate=true``)."""

    model_config = _ALLOW

    returns: list[dict[str, Any]] = Field(default_factory=list)
    next_page_url: str | None = Field(default=None, alias="nextPageUrl")
    previous_page_url: str | None = Field(default=None, alias="previousPageUrl")


class LabelEvent(BaseModel):
    """The ``label`` topic's body: the return's id (``id``; older pages say ``return_id``) and its label."""

    model_config = _ALLOW

    topic: str | None = None
    trigger: str | None = None
    shop_id: OptionalId = None
    id: OptionalId = None
    return_id: OptionalId = None
    order_id: OptionalId = None
    provider_order_id: OptionalId = None
    carrier: str | None = None
    tracking_number: str | None = None
    label_status: str | None = None
    label_updated_at: LoopTime = None
    shipment_id: OptionalId = None


class ProcessingFailed(BaseModel):
    """The ``return.processing`` topic's body (trigger ``return.processing.failed``)."""

    model_config = _ALLOW

    topic: str | None = None
    trigger: str | None = None
    return_id: LoopId
    return_state: str | None = None
    message: str | None = None
    source: str | None = None


class LoopErrorBody(BaseModel):
    """Loop's error bodies: ``{"errors": {"message", "code"}}`` or validation ``{"message", "errors": {field: [...]}}``."""

    model_config = _ALLOW

    message: str | None = None
    error: str | None = None
    errors: Any = None

    def _detail(self) -> dict[str, Any] | None:
        errors = self.errors
        if isinstance(errors, dict) and ("code" in errors or "message" in errors):
            return errors
        return None

    @property
    def code(self) -> str | None:
        """Loop's machine-readable code (``UNPROCESSABLE_FLAGGED_RETURN``), when sent."""
        detail = self._detail()
        code = detail.get("code") if detail else None
        return str(code) if code else None

    def describe(self) -> str | None:
        """``CODE: message`` or ``message (field: problem; …)``; None when nothing readable was sent."""
        detail = self._detail()
        if detail is not None:
            message = str(detail.get("message") or "")
            code = self.code
            if code and message:
                return f"{code}: {message}"
            return code or message or None
        parts: list[str] = []
        errors = self.errors
        if isinstance(errors, dict):
            for field, problems in errors.items():
                text = "; ".join(str(p) for p in problems) if isinstance(problems, list) else str(problems)
                parts.append(f"{field}: {text}")
        elif isinstance(errors, list):
            parts.extend(str(e) for e in errors)
        elif isinstance(errors, str):
            parts.append(errors)
        head = self.message or self.error
        if head and parts:
            return f"{head} ({'; '.join(parts)})"
        return head or ("; ".join(parts) if parts else None)
