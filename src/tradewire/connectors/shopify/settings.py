"""Settings and secrets of one Shopify connection."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

_VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")


class ShopifySettings(BaseModel):
    """Non-secret settings of one Shopify store connection."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    shop_domain: str = Field(
        description="The store's permanent domain, e.g. 'acme.myshopify.com' (not a custom storefront domain).",
    )
    api_version: str = Field(
        default="2026-10",
        description="Admin API version (quarterly YYYY-01|04|07|10, or 'unstable'). Webhook bodies use the app's version.",
    )
    base_url: str | None = Field(
        default=None,
        description="Override of 'https://{shop_domain}' for sandboxes and proxies, e.g. 'http://127.0.0.1:8123'.",
    )
    webhook_max_age_seconds: float = Field(
        default=5 * 3600.0,
        ge=60.0,
        description=(
            "Deliveries whose X-Shopify-Triggered-At is older than this are refused as stale (401). Shopify retries "
            "for 4 hours with the original trigger time, so keep it above 4 h."
        ),
    )
    webhook_max_future_seconds: float = Field(
        default=300.0,
        ge=0.0,
        description="Clock skew allowed for X-Shopify-Triggered-At in the future before a delivery is refused (401).",
    )
    page_size: int = Field(
        default=100,
        ge=1,
        le=250,
        description="Orders per page when polling (Shopify's maximum is 250).",
    )
    timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Connect/read/write timeout of one Admin API call.",
    )
    inventory_location_id: str | None = Field(
        default=None,
        description=(
            "Location (gid://shopify/Location/… or its name) that quantities without a location are set at and "
            "returned units are restocked to. None: the store's first active location."
        ),
    )
    refund_restock: bool = Field(
        default=True,
        description="Refunds restock lines whose return disposition is 'restock' (restockType RETURN); else NO_RESTOCK.",
    )

    @field_validator("shop_domain")
    @classmethod
    def _normalise_domain(cls, value: str) -> str:
        value = value.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
        if not _DOMAIN.match(value) or "." not in value:
            raise ValueError(f"shop_domain must look like 'acme.myshopify.com', got {value!r}")
        return value

    @field_validator("api_version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError(f"api_version must be YYYY-01|04|07|10 or 'unstable', got {value!r}")
        return value

    @property
    def admin_base_url(self) -> str:
        """Root of the Admin API host: ``base_url`` when set, else ``https://{shop_domain}``."""
        return (self.base_url or f"https://{self.shop_domain}").rstrip("/")

    @property
    def graphql_path(self) -> str:
        """Path of the GraphQL Admin endpoint for ``api_version``."""
        return f"/admin/api/{self.api_version}/graphql.json"


class ShopifySecrets(BaseModel):
    """Secrets of one Shopify connection (stored encrypted, never logged)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    client_secret: SecretStr = Field(
        description="The app's client secret (API secret key): signs webhooks (base64 HMAC-SHA256 of the raw body).",
    )
    previous_client_secret: SecretStr | None = Field(
        default=None,
        description="The secret before a rotation: Shopify may keep signing with it for up to 1 hour. Remove after.",
    )
    access_token: SecretStr = Field(
        description="Admin API access token ('shpat_…') sent as X-Shopify-Access-Token.",
    )

    def webhook_secrets(self) -> list[str]:
        """The secrets a webhook may be signed with, current first."""
        secrets = [self.client_secret.get_secret_value()]
        if self.previous_client_secret is not None and self.previous_client_secret.get_secret_value():
            secrets.append(self.previous_client_secret.get_secret_value())
        return secrets
