"""People and places: addresses, the buyer on an order, the customer record."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tradewire.canonical.refs import ExternalRef
from tradewire.canonical.types import UtcDatetime


def _normalise_email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not value:
        return None
    local, sep, domain = value.partition("@")
    if not sep or not local or "." not in domain or " " in value:
        raise ValueError(f"not an e-mail address: {value!r}")
    return value


def _country(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    value = value.strip().upper()
    if len(value) != 2 or not value.isalpha():
        raise ValueError(f"country_code must be ISO 3166-1 alpha-2, got {value!r}")
    return value


Email = Annotated[str | None, AfterValidator(_normalise_email)]
CountryCode = Annotated[str | None, AfterValidator(_country)]


class Address(BaseModel):
    """A postal address."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=255)
    company: str | None = Field(default=None, max_length=255)
    line1: str | None = Field(default=None, max_length=255)
    line2: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, max_length=120)
    region: str | None = Field(default=None, max_length=120)
    postal_code: str | None = Field(default=None, max_length=32)
    country_code: CountryCode = None
    phone: str | None = Field(default=None, max_length=64)


class Buyer(BaseModel):
    """The person on an order (a snapshot, not the customer master)."""

    model_config = ConfigDict(extra="forbid")

    email: Email = None
    first_name: str | None = Field(default=None, max_length=120)
    last_name: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=64)
    source_customer_id: str | None = Field(default=None, max_length=255)

    @property
    def display_name(self) -> str:
        """'First Last', or the e-mail, or 'Guest'."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or "Guest"


class Customer(BaseModel):
    """Canonical Customer v1: one person or company known to the client."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    id: str = Field(min_length=1, max_length=64)
    client_id: str = Field(min_length=1, max_length=64)
    source: ExternalRef | None = None
    email: Email = None
    first_name: str | None = Field(default=None, max_length=120)
    last_name: str | None = Field(default=None, max_length=120)
    company: str | None = Field(default=None, max_length=255)
    phone: str | None = Field(default=None, max_length=64)
    default_address: Address | None = None
    tags: list[str] = Field(default_factory=list)
    updated_at: UtcDatetime | None = None
