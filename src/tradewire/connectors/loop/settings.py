"""Settings and secrets of one Loop Returns connection (one merchant's Loop account)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

DEFAULT_BASE_URL = "https://api.loopreturns.com/api/v1"
LIST_STATES = ("open", "closed", "cancelled", "expired", "review")
"""States the Detailed Returns List filters on (Loop's default leaves out ``cancelled`` and ``review``)."""


class LoopSettings(BaseModel):
    """Non-secret settings of one Loop connection.

    Unknown keys are ignored: the platform keeps its own keys (``routes``, ``budgets``, ``poll``)
    in the same mapping.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="API root including the version, e.g. 'https://api.loopreturns.com/api/v1' (a sandbox URL in tests).",
    )
    page_size: int = Field(
        default=100,
        ge=1,
        le=500,
        description=(
            "Returns per page of the Detailed Returns List (paginate=true&pageSize=…). Loop's pages give the maximum "
            "as 500, 700 or 750 depending on the page; 500 is safe for all."
        ),
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=300, description="Connect/read/write timeout of one call.")
    max_range_days: int = Field(
        default=120,
        ge=1,
        le=120,
        description="Longest from/to range of one list request; Loop refuses more than 120 days with a validation error.",
    )
    poll_filter: str = Field(
        default="updated_at",
        pattern=r"^(updated_at|created_at)$",
        description="Which date the polling backstop filters on (Loop's 'filter' parameter): updated_at sees every change.",
    )
    poll_states: tuple[str, ...] = Field(
        default=LIST_STATES,
        min_length=1,
        description="States the polling backstop asks for (all of them, so cancellations are seen too).",
    )
    poll_overlap_seconds: float = Field(
        default=600.0,
        ge=0,
        le=86_400,
        description=(
            "Each poll starts this long before the stored cursor, so a return updated just before the previous poll "
            "ended (or committed late on Loop's side) is not missed. Re-read returns are deduplicated."
        ),
    )
    poll_initial_lookback_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 120 * 10,
        description="How far back the very first poll of a connection reads (longer ranges are split into 120-day windows).",
    )

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {value!r}")
        return value

    @field_validator("poll_states")
    @classmethod
    def _known_states(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(LIST_STATES))
        if unknown:
            raise ValueError(f"unknown return states {unknown}; Loop knows {list(LIST_STATES)}")
        return value


class LoopSecrets(BaseModel):
    """Secrets of one Loop connection (stored encrypted, never logged)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    api_key: SecretStr = Field(
        min_length=1,
        description="API key with the 'Returns' scope (Loop admin > Developer tools), sent as X-Authorization.",
    )
    webhook_secret: SecretStr = Field(
        min_length=1,
        description="The webhook secret shown in Developer tools: signs X-Loop-Signature (base64 HMAC-SHA256 of the body).",
    )
    previous_webhook_secret: SecretStr | None = Field(
        default=None,
        description="The secret before a rotation, accepted as well until removed (Loop documents no grace period).",
    )

    def webhook_secrets(self) -> list[str]:
        """The secrets a delivery may be signed with, current first."""
        secrets = [self.webhook_secret.get_secret_value()]
        if self.previous_webhook_secret is not None and self.previous_webhook_secret.get_secret_value():
            secrets.append(self.previous_webhook_secret.get_secret_value())
        return secrets
