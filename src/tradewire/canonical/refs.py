"""References to records in external systems."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ExternalRef(BaseModel):
    """Where a canonical object came from: one record in one connection."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str = Field(min_length=1, max_length=40)
    connection_id: str = Field(min_length=1, max_length=64)
    object: str = Field(min_length=1, max_length=40)
    external_id: str = Field(min_length=1, max_length=255)
