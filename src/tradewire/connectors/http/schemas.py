"""Vendor models of a declarative system: records are whatever the definition's expressions select.

A described API has no fixed schema, so a record is a JSON object kept whole (``extra="allow"``);
the definition's ``id`` and ``updated_at`` expressions say which fields matter.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """One vendor record, every field kept."""

    model_config = ConfigDict(extra="allow")

    def data(self) -> dict[str, Any]:
        """The record as a plain dict."""
        return dict(self.__pydantic_extra__ or {})
