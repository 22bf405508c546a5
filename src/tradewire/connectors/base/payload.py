"""Reading stored vendor payloads."""

from __future__ import annotations

import json
from typing import Any

import orjson

from tradewire.errors import MappingError


def load_json_object(raw: bytes) -> dict[str, Any]:
    """One JSON object from raw bytes, integers kept exact (even beyond 64 bits).

    Raises:
        MappingError: not JSON, or not an object.
    """
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "Integer" not in str(exc):
            raise MappingError(f"not JSON: {exc}") from exc
        payload = json.loads(raw)  # orjson stops at 64-bit integers; the standard library does not
    if not isinstance(payload, dict):
        raise MappingError(f"expected one JSON object, got {type(payload).__name__}")
    return payload
