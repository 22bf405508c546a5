"""Vendor models of a declarative system.

A described API has no fixed schema: its records are JSON objects kept whole and read by the
definition's JMESPath expressions (``dict[str, Any]`` in the client). What every API shares is
modelled here: the OAuth 2.0 token answer (RFC 6749 §5.1).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_TOKEN_SECONDS = 3600.0


class TokenResponse(BaseModel):
    """A successful token answer; unknown fields (``scope``, vendor extras) are kept."""

    model_config = ConfigDict(extra="allow")

    access_token: str = Field(min_length=1, repr=False)
    token_type: str = "Bearer"  # noqa: S105 (a token type, not a token)
    expires_in: float | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError(f"token_type {value!r} is not Bearer")
        return value

    @property
    def lifetime_seconds(self) -> float:
        """``expires_in`` (at least 1 s), or an hour when the server does not say (RFC 6749 makes it optional)."""
        return max(self.expires_in, 1.0) if self.expires_in is not None else DEFAULT_TOKEN_SECONDS
