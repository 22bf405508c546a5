"""NetSuite REST record and query shapes (SuiteTalk REST web services, record v1).

Only the fields Tradewire reads or writes are declared; everything else is kept
(``extra="allow"``) so a record read back loses nothing. Field names on the wire are
camelCase; Python names are snake_case with aliases.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

_CONFIG = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)


class NsModel(BaseModel):
    """Base: camelCase on the wire, unknown fields kept."""

    model_config = _CONFIG

    def wire(self) -> dict[str, Any]:
        """The JSON body NetSuite expects (aliases, no unset fields)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class NsLink(NsModel):
    """A HATEOAS link: ``{"rel": "next", "href": "…"}``."""

    rel: str
    href: str


class RecordRef(NsModel):
    """A reference field: ``{"id": "42"}`` on write; NetSuite adds ``refName`` and ``links`` on read."""

    id: str | None = None
    external_id: str | None = None
    ref_name: str | None = None


T = TypeVar("T", bound=BaseModel)


class Sublist(NsModel, Generic[T]):
    """A sublist is an object, not a bare array: ``{"items": […]}``."""

    items: list[T] = Field(default_factory=list)


class NsAddress(NsModel):
    """An address sub-record (``shippingAddress`` / ``billingAddress`` on a transaction)."""

    addressee: str | None = None
    attention: str | None = None
    addr1: str | None = None
    addr2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: RecordRef | None = None
    addr_phone: str | None = None


class NsCustomer(NsModel):
    """The ``customer`` record."""

    id: str | None = None
    external_id: str | None = None
    entity_id: str | None = None
    is_person: bool | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    email: str | None = None
    phone: str | None = None
    subsidiary: RecordRef | None = None


class NsSalesOrderLine(NsModel):
    """One line of the ``item`` sublist of a sales order."""

    item: RecordRef
    quantity: float | None = None
    rate: float | None = None
    amount: float | None = None
    description: str | None = None
    location: RecordRef | None = None
    line: int | None = None


class NsSalesOrder(NsModel):
    """The ``salesOrder`` record (read with ``expandSubResources=true`` to get the lines)."""

    id: str | None = None
    external_id: str | None = None
    tran_id: str | None = None
    tran_date: str | None = None
    other_ref_num: str | None = None
    entity: RecordRef | None = None
    memo: str | None = None
    currency: RecordRef | None = None
    order_status: RecordRef | None = None
    item: Sublist[NsSalesOrderLine] | None = None
    shipping_cost: float | None = None
    ship_method: RecordRef | None = None
    discount_item: RecordRef | None = None
    discount_rate: float | None = None
    shipping_address: NsAddress | None = None
    billing_address: NsAddress | None = None
    subtotal: float | None = None
    total: float | None = None


class NsCollectionItem(NsModel):
    """One entry of a record collection: only the id and a self link."""

    id: str
    links: list[NsLink] = Field(default_factory=list)


class NsPage(NsModel, Generic[T]):
    """The paging envelope shared by record collections and SuiteQL."""

    links: list[NsLink] = Field(default_factory=list)
    count: int = 0
    has_more: bool = False
    items: list[T] = Field(default_factory=list)
    offset: int = 0
    total_results: int | None = None

    def link(self, rel: str) -> str | None:
        """The ``href`` of the link named ``rel``, or None."""
        return next((link.href for link in self.links if link.rel == rel), None)


class NsCollection(NsPage[NsCollectionItem]):
    """``GET /record/v1/{type}``: ids only."""


class NsRow(NsModel):
    """One SuiteQL row: lower-case column names; null columns are left out of the row."""


class NsSuiteQLPage(NsPage[NsRow]):
    """``POST /query/v1/suiteql``: full row objects."""


class NsErrorDetail(NsModel):
    """One entry of ``o:errorDetails``."""

    detail: str = ""
    error_code: str | None = Field(default=None, alias="o:errorCode")
    error_path: str | None = Field(default=None, alias="o:errorPath")


class NsErrorBody(NsModel):
    """The RFC 7807-like error body NetSuite answers 4xx/5xx with."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    error_details: list[NsErrorDetail] = Field(default_factory=list, alias="o:errorDetails")

    def describe(self) -> str:
        """``Please enter a value for [entity] (FIELD_PARAM_REQD at entity); …`` or the title."""
        parts: list[str] = []
        for item in self.error_details:
            where = f" at {item.error_path}" if item.error_path else ""
            code = f" ({item.error_code}{where})" if item.error_code else (f" (at {item.error_path})" if where else "")
            parts.append(f"{item.detail.strip()}{code}")
        return "; ".join(parts) or (self.title or "no detail given")

    def codes(self) -> list[str]:
        """Every ``o:errorCode``."""
        return [item.error_code for item in self.error_details if item.error_code]
