"""Settings and secrets of one NetSuite connection (token-based authentication)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

_REFERENCE_ID = r"^[0-9]+$"


class NetSuiteSettings(BaseModel):
    """What a NetSuite connection needs besides its secrets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(
        pattern=r"^[A-Za-z0-9]+([_-][A-Za-z0-9]+)*$",
        max_length=40,
        description=(
            "NetSuite account id as shown under Setup > Company > Company Information, e.g. '1234567' or "
            "'1234567_SB1' for a sandbox. The realm is its upper-case form with '_'; the host uses lower case with '-'."
        ),
    )
    base_url: str | None = Field(
        default=None,
        description=(
            "Root URL override (a Tradewire sandbox, a proxy). Empty means "
            "https://<account-id-lower-with-dashes>.suitetalk.api.netsuite.com."
        ),
    )
    subsidiary_id: str = Field(
        pattern=_REFERENCE_ID, description="Internal id of the subsidiary new customers are created in (OneWorld)."
    )
    default_location_id: str | None = Field(
        default=None, pattern=_REFERENCE_ID, description="Internal id of the location put on every sales order line."
    )
    discount_item_id: str | None = Field(
        default=None,
        pattern=_REFERENCE_ID,
        description=(
            "Internal id of the discount item that carries order-level discounts. Line discounts are folded into "
            "line amounts; an order-level discount without this item configured is refused rather than dropped."
        ),
    )
    tax_item_id: str | None = Field(
        default=None,
        pattern=_REFERENCE_ID,
        description=(
            "Internal id of an other-charge item that carries the channel's tax as one extra line. Empty leaves "
            "tax to NetSuite's own tax engine."
        ),
    )
    ship_method_id: str | None = Field(
        default=None, pattern=_REFERENCE_ID, description="Internal id of the shipping item set as shipMethod."
    )
    currency_ids: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "ISO currency code -> NetSuite currency internal id, e.g. {'USD': '1'}. Empty leaves the sales order in "
            "the customer's currency; when set, an order in a currency not listed is refused."
        ),
    )
    max_concurrency: int = Field(
        default=5,
        ge=1,
        le=200,
        description=(
            "Requests this process keeps in flight to the account. NetSuite limits concurrency, not rate "
            "(shared tier: 5 for the whole account), so keep the sum over processes within the account's limit."
        ),
    )
    request_timeout_seconds: float = Field(
        default=60.0, gt=0, le=900, description="Seconds to wait for connect, read and write of one request."
    )
    inventory_page_size: int = Field(
        default=500, ge=1, le=1000, description="Item-location rows per SuiteQL page when polling on-hand quantities."
    )
    inventory_overlap_seconds: float = Field(
        default=120.0,
        ge=0,
        description="Each inventory poll re-reads this far behind its cursor (late commits); repeats are stored once.",
    )

    @field_validator("currency_ids")
    @classmethod
    def _upper_currency_codes(cls, value: dict[str, str]) -> dict[str, str]:
        return {code.upper(): internal_id for code, internal_id in value.items()}

    @property
    def realm(self) -> str:
        """The OAuth realm: the account id in NetSuite's own form (``1234567_SB1``)."""
        return self.account_id.upper().replace("-", "_")

    @property
    def host(self) -> str:
        """``1234567-sb1.suitetalk.api.netsuite.com``."""
        return f"{self.account_id.lower().replace('_', '-')}.suitetalk.api.netsuite.com"

    @property
    def root_url(self) -> str:
        """Where requests go: ``base_url`` when set, else the account's SuiteTalk host."""
        return (self.base_url or f"https://{self.host}").rstrip("/")


class NetSuiteSecrets(BaseModel):
    """Token-based authentication credentials (integration record + access token)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    consumer_key: SecretStr = Field(min_length=1, description="Consumer key of the integration record.")
    consumer_secret: SecretStr = Field(min_length=1, description="Consumer secret of the integration record.")
    token_id: SecretStr = Field(min_length=1, description="Token id of the access token (user + role).")
    token_secret: SecretStr = Field(min_length=1, description="Token secret of the access token.")
