"""Settings and secrets of one Walmart Marketplace (US) connection.

Facts FACTS.md marks [unverified] are settings here, with the documented guess as default:
the HMAC webhook scheme and the per-API rate limits.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

PRODUCTION_URL = "https://marketplace.walmartapis.com"
SANDBOX_URL = "https://sandbox.walmartapis.com"

WebhookAuthMethod = Literal["BASIC_AUTH", "OAUTH", "HMAC"]


class WalmartSettings(BaseModel):
    """Non-secret settings of one Walmart seller account."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    base_url: str = Field(
        default=PRODUCTION_URL,
        description="API root: production 'https://marketplace.walmartapis.com', Walmart's sandbox "
        "'https://sandbox.walmartapis.com', or a local sandbox such as 'http://127.0.0.1:8125'.",
    )
    service_name: str = Field(
        default="Walmart Marketplace",
        min_length=1,
        description="Sent as WM_SVC.NAME on every call (free text 'Walmart Service Name').",
    )
    channel_type: str | None = Field(
        default=None,
        description="WM_CONSUMER.CHANNEL.TYPE given at onboarding (solution providers); omitted when empty.",
    )
    page_size: int = Field(default=100, ge=1, le=200, description="Orders per page ('limit', Walmart's maximum 200).")
    timeout_seconds: float = Field(default=30.0, gt=0, description="Connect/read/write timeout of one call.")
    token_margin_seconds: float = Field(
        default=120.0, ge=0, description="Refresh the 15-minute access token this long before it expires."
    )
    poll_overlap_seconds: float = Field(
        default=300.0,
        ge=0,
        description="Each poll re-reads orders modified this long before the stored cursor (late index writes).",
    )
    poll_lookback_days: float = Field(
        default=7.0, gt=0, le=180, description="First poll (no cursor yet) reads orders modified this many days back."
    )
    poll_created_window_days: float = Field(
        default=180.0,
        gt=0,
        le=365,
        description="Polls also send createdStartDate this far back: without it Walmart only lists orders "
        "created in the last 7 days, so later changes to older orders would be missed.",
    )
    feed_poll_seconds: float = Field(default=5.0, gt=0, description="Seconds between feed status polls.")
    feed_max_wait_seconds: float = Field(
        default=600.0, gt=0, description="Give up waiting for a feed after this long (retryable)."
    )
    webhook_auth_method: WebhookAuthMethod = Field(
        default="BASIC_AUTH",
        description="authDetails.authMethod of our subscriptions: BASIC_AUTH, OAUTH or HMAC [unverified scheme].",
    )
    webhook_auth_header_name: str = Field(
        default="Authorization",
        min_length=1,
        description="authDetails.authHeaderName: the header Walmart puts the Basic or Bearer credential in.",
    )
    webhook_oauth_token_ttl_seconds: int = Field(
        default=3600, ge=60, description="expires_in of the tokens our authUrl issues to Walmart (OAUTH)."
    )
    webhook_hmac_signature_header: str = Field(
        default="WM_SEC.SIGNATURE", description="[unverified] header carrying the HMAC signature."
    )
    webhook_hmac_timestamp_header: str = Field(
        default="WM_SEC.TIMESTAMP", description="[unverified] header carrying the signing time (epoch millis)."
    )
    webhook_hmac_path: str | None = Field(
        default=None,
        description="[unverified] PATH?QUERY signed by HMAC; default '/webhooks/walmart/{connection id}'.",
    )
    webhook_max_age_seconds: float = Field(
        default=3600.0, ge=60, description="HMAC deliveries signed longer ago than this are refused (replay guard)."
    )

    @property
    def root(self) -> str:
        """``base_url`` without a trailing slash."""
        return self.base_url.rstrip("/")


class WalmartSecrets(BaseModel):
    """Secrets of one Walmart connection (stored encrypted, never logged)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    client_id: SecretStr = Field(description="API key Client ID from Seller Center › Settings › API Key Management.")
    client_secret: SecretStr = Field(description="Client Secret of that key (exchanged for 15-minute tokens).")
    webhook_username: SecretStr | None = Field(
        default=None, description="BASIC_AUTH: the userName we gave Walmart in authDetails."
    )
    webhook_password: SecretStr | None = Field(
        default=None, description="BASIC_AUTH: the password we gave Walmart in authDetails."
    )
    webhook_oauth_client_id: SecretStr | None = Field(
        default=None, description="OAUTH: the clientId Walmart presents to our authUrl."
    )
    webhook_oauth_client_secret: SecretStr | None = Field(
        default=None,
        description="OAUTH: the clientSecret Walmart presents to our authUrl; also keys the HMAC-derived bearer.",
    )
    webhook_hmac_secret: SecretStr | None = Field(
        default=None, description="HMAC [unverified]: the clientSecret the signature is keyed with."
    )
