"""Walmart's error bodies, described readably, and errors hidden in 2xx answers."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import ValidationError

from tradewire.connectors.walmart.schemas import WalmartErrorItem
from tradewire.errors import VendorRejected

SYSTEM = "walmart"


def describe_walmart_error(response: httpx.Response) -> str | None:
    """``CODE field: message [category/severity]; …`` from Walmart's ``{"errors": [...]}`` body."""
    if response.status_code == 413:
        return "feed file too large for Walmart (413): split it into smaller feeds"
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    items = _error_items(body)
    if not items:
        return None
    parts = []
    for item in items[:5]:
        text = item.message or item.description or "no message"
        head = " ".join(p for p in (item.code, f"{item.field}:" if item.field else None) if p)
        tail = "/".join(p for p in (item.category, item.severity) if p)
        parts.append(f"{head} {text}".strip() + (f" [{tail}]" if tail else ""))
    return "; ".join(parts)


def _error_items(body: Any) -> list[WalmartErrorItem]:
    if not isinstance(body, dict):
        return []
    raw = body.get("errors", body.get("error"))
    if isinstance(raw, dict):
        raw = raw.get("error", [raw])
    if not isinstance(raw, list):
        return []
    items = []
    for entry in raw:
        if isinstance(entry, dict):
            try:
                items.append(WalmartErrorItem.model_validate(entry))
            except ValidationError:
                continue
    return items


def classify_walmart_body(response: httpx.Response) -> None:
    """Walmart sometimes answers 200 with only an ``errors`` list (e.g. a refused line update).

    Raises:
        VendorRejected: a 2xx body that holds errors and no result.
    """
    if not response.content or response.content[:1] not in (b"{", b" "):
        return
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return
    if isinstance(body, dict) and body.get("errors") and not ({"order", "list", "feedId"} & set(body)):
        reason = describe_walmart_error(response) or "errors in a 2xx answer"
        raise VendorRejected(
            f"walmart refused {response.request.method} {response.request.url.path}: {reason}",
            status=response.status_code,
            system=SYSTEM,
            detail={"reason": reason},
        )
