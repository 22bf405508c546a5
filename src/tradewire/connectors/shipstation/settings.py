"""Settings and secrets of one ShipStation (V1 API) connection."""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tradewire.canonical import is_currency

DEFAULT_BASE_URL = "https://ssapi.shipstation.com"
MIN_WEBHOOK_TOKEN = 24


def origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of ``url`` as httpx (the client that sends) reads it, default port filled in.

    Raises:
        ValueError: not an absolute http(s) URL.
    """
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        raise ValueError(f"not a URL: {url[:80]!r}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"not an absolute http(s) URL: {url[:80]!r}")
    return parsed.scheme, parsed.host.lower(), parsed.port or (443 if parsed.scheme == "https" else 80)


def resource_url_problem(settings: ShipStationSettings, url: str, *, path: str) -> str | None:
    """Why the API credentials must not be sent to ``url``, or None when they may.

    The URL must be absolute http(s) without user or password, whitespace or control
    characters, at ``base_url``'s origin (scheme, host, port) or one of ``resource_origins``,
    and name ``path`` under the API root. It is read with httpx, the parser that will send it,
    so what is checked is what is requested.
    """
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "resource_url contains whitespace or control characters"
    try:
        where = origin(url)
    except ValueError:
        return f"resource_url is not an absolute http(s) URL: {url[:120]!r}"
    parsed = httpx.URL(url)
    if parsed.userinfo:
        return "resource_url carries a user or password"
    if where not in settings.trusted_origins():
        return (
            f"resource_url points at {where[0]}://{where[1]}:{where[2]}, not at this connection's ShipStation API "
            f"({settings.base_url}); credentials are never sent elsewhere"
        )
    root = httpx.URL(settings.base_url).path.rstrip("/")
    if parsed.path.rstrip("/") not in (f"{root}{path}", path):
        return f"resource_url names {parsed.path[:80]!r}, expected {path!r}"
    return None


class ShipStationSettings(BaseModel):
    """Non-secret settings of one ShipStation account connection."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="Root of the V1 API (a Tradewire sandbox or proxy in tests, e.g. 'http://127.0.0.1:8125').",
    )
    resource_origins: tuple[str, ...] = Field(
        default=(),
        description=(
            "Extra origins (scheme://host[:port]) a webhook's resource_url may point at besides base_url, e.g. "
            "'https://ssapi6.shipstation.com' (ShipStation sometimes names a numbered API host). Anything else is "
            "refused, so a forged notification can never make Tradewire send the API key elsewhere."
        ),
    )
    store_id: int | None = Field(
        default=None,
        ge=1,
        description="ShipStation store the orders are created in (advancedOptions.storeId); empty: the account's "
        "manual store.",
    )
    currency: str = Field(
        default="USD",
        min_length=3,
        max_length=3,
        description="Currency of the account: ShipStation amounts (shipmentCost, order amounts) carry none.",
    )
    page_size: int = Field(default=100, ge=1, le=500, description="Records per list page (ShipStation allows 500).")
    poll_overlap_seconds: float = Field(
        default=900.0,
        ge=0,
        le=7 * 86400,
        description="Each poll re-reads this far before its cursor: shipments can appear with an earlier createDate "
        "than one already seen. Re-read records are deduplicated.",
    )
    poll_lookback_hours: float = Field(
        default=24.0, gt=0, le=24 * 90, description="How far back the first poll of a connection reads."
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=300, description="Connect/read/write timeout per request.")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        origin(value)
        return value.strip().rstrip("/")

    @field_validator("resource_origins")
    @classmethod
    def _check_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            origin(item)
        return value

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        value = value.upper()
        if not is_currency(value):
            raise ValueError(f"currency must be an ISO 4217 code, got {value!r}")
        return value

    def trusted_origins(self) -> set[tuple[str, str, int]]:
        """Origins the client may send credentials to: ``base_url`` and ``resource_origins``."""
        return {origin(self.base_url), *(origin(item) for item in self.resource_origins)}


class ShipStationSecrets(BaseModel):
    """Secrets of one ShipStation connection (stored encrypted, never logged)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    api_key: SecretStr = Field(
        min_length=1, description="V1 API key (Settings > Account > API Settings): the Basic user."
    )
    api_secret: SecretStr = Field(min_length=1, description="V1 API secret: the Basic password.")
    webhook_token: SecretStr = Field(
        min_length=MIN_WEBHOOK_TOKEN,
        description=(
            "A random token (at least 24 characters) put in the webhook target URL as '?token=…'. ShipStation does "
            "not sign webhooks, so this is what tells a genuine notification from a forged one."
        ),
    )
    previous_webhook_token: SecretStr | None = Field(
        default=None, description="The token before a rotation, accepted until every subscription uses the new one."
    )

    def webhook_tokens(self) -> list[str]:
        """Tokens a notification may carry, current first."""
        tokens = [self.webhook_token.get_secret_value()]
        if self.previous_webhook_token is not None and self.previous_webhook_token.get_secret_value():
            tokens.append(self.previous_webhook_token.get_secret_value())
        return tokens
