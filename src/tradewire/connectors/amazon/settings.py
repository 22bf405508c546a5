"""Settings and secrets of one Amazon SP-API connection (one seller account in one region)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

REGION_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - an endpoint, not a secret
DEFAULT_RELAY_HEADER = "x-tradewire-relay-secret"


class AmazonSettings(BaseModel):
    """Non-secret settings of one Amazon seller connection."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    seller_id: str = Field(
        min_length=1,
        description="The merchant token (Seller ID, e.g. 'A3TH9S8BH6GOGM') used in Listings Items paths and feed headers.",
    )
    marketplace_ids: tuple[str, ...] = Field(
        default=("ATVPDKIKX0DER",),
        min_length=1,
        max_length=50,
        description="Marketplaces polled and written to (getOrders MarketplaceIds, at most 50). First one is the default.",
    )
    region: str = Field(default="na", description="SP-API region: 'na', 'eu' or 'fe'.")
    base_url: str | None = Field(
        default=None,
        description="Override of the regional endpoint (sandboxes, proxies), e.g. 'http://127.0.0.1:8123'.",
    )
    token_url: str = Field(default=LWA_TOKEN_URL, description="Login with Amazon token endpoint.")
    request_pii: bool = Field(
        default=False,
        description=(
            "Read buyer name, e-mail and shipping address lines with a Restricted Data Token. Needs the "
            "'Direct-to-Consumer Shipping' restricted role on the app; without it Amazon omits those fields."
        ),
    )
    pii_data_elements: tuple[str, ...] = Field(
        default=("buyerInfo", "shippingAddress"),
        description="RDT dataElements requested for getOrder/getOrders/getOrderItems (buyerInfo, shippingAddress, buyerTaxInformation).",
    )
    product_type: str = Field(
        default="PRODUCT",
        description=(
            "productType sent with fulfillment_availability patches. [unverified] Amazon accepts 'PRODUCT' for "
            "offer-only patches; set the listing's real product type (e.g. 'LUGGAGE') if it refuses."
        ),
    )
    fulfillment_channel_code: str = Field(
        default="DEFAULT",
        description="fulfillment_channel_code of merchant-fulfilled (MFN) quantity; 'DEFAULT' is MFN.",
    )
    page_size: int = Field(default=100, ge=1, le=100, description="getOrders MaxResultsPerPage (1–100).")
    poll_lookback_seconds: float = Field(
        default=86400.0, ge=0, description="How far back the first poll of a new connection reads (LastUpdatedAfter)."
    )
    poll_overlap_seconds: float = Field(
        default=300.0,
        ge=0,
        description="Each poll re-reads this much before its cursor, so late-indexed updates are not missed.",
    )
    poll_settle_seconds: float = Field(
        default=120.0,
        ge=120.0,
        description="LastUpdatedBefore is now minus this; Amazon requires at least two minutes before now.",
    )
    feed_poll_seconds: float = Field(default=30.0, ge=0, description="Wait between getFeed status checks.")
    feed_max_wait_seconds: float = Field(
        default=3600.0, ge=0, description="Give up waiting for a feed to finish after this long (retryable)."
    )
    relay_header: str = Field(
        default=DEFAULT_RELAY_HEADER,
        description="Header carrying the relay's shared secret on ORDER_CHANGE deliveries (EventBridge API destination key name).",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="Connect/read/write timeout of one call.")

    @field_validator("region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in REGION_ENDPOINTS:
            raise ValueError(f"region must be one of {', '.join(REGION_ENDPOINTS)}, got {value!r}")
        return value

    @field_validator("pii_data_elements")
    @classmethod
    def _check_elements(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"buyerInfo", "shippingAddress", "buyerTaxInformation"}
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise ValueError(f"unknown RDT dataElements {unknown}; allowed: {sorted(allowed)}")
        return value

    @field_validator("relay_header")
    @classmethod
    def _lower_header(cls, value: str) -> str:
        value = value.strip().lower()
        if not value or any(c.isspace() or c == ":" for c in value):
            raise ValueError(f"relay_header must be an HTTP header name, got {value!r}")
        if value.startswith(("x-amz", "content-", "user-agent")):
            # Such headers are kept with the stored message; the secret must never be.
            raise ValueError(
                f"relay_header {value!r} is a stored header namespace; use e.g. 'x-tradewire-relay-secret'"
            )
        return value

    @property
    def api_base_url(self) -> str:
        """Root of the SP-API host: ``base_url`` when set, else the region's endpoint."""
        return (self.base_url or REGION_ENDPOINTS[self.region]).rstrip("/")

    @property
    def marketplace_id(self) -> str:
        """The default marketplace (first of ``marketplace_ids``)."""
        return self.marketplace_ids[0]


class AmazonSecrets(BaseModel):
    """Secrets of one Amazon connection (stored encrypted, never logged)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    client_id: SecretStr = Field(
        description="LWA client identifier of the SP-API application ('amzn1.application-oa2-client…')."
    )
    client_secret: SecretStr = Field(description="LWA client secret of the application.")
    refresh_token: SecretStr = Field(description="LWA refresh token the seller granted ('Atzr|…').")
    relay_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret the EventBridge API destination / SQS relay sends in relay_header with each notification.",
    )
    previous_relay_secret: SecretStr | None = Field(
        default=None, description="The relay secret before a rotation; accepted until removed."
    )

    def relay_secrets(self) -> list[str]:
        """Secrets a notification relay may present, current first (empty ones left out)."""
        found = [s.get_secret_value() for s in (self.relay_secret, self.previous_relay_secret) if s is not None]
        return [s for s in found if s]
