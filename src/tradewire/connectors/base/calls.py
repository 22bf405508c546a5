"""Outbound calls a step makes, captured for the order timeline.

The flow engine opens a capture around each step (:func:`capture_calls`); :class:`VendorHttp`
notes every request it sends with :func:`note_call`. A call is its method, host, path (never
the query string, which may carry signatures or tokens), status, duration and time: never a
body, a header or a secret. Outside a capture, nothing is noted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import httpx

MAX_CALLS_PER_STEP = 200
"""A step that pages through thousands of records keeps its first calls and a count of the rest."""

_CALLS: ContextVar[list[dict[str, Any]] | None] = ContextVar("tradewire_outbound_calls", default=None)


@contextmanager
def capture_calls() -> Iterator[list[dict[str, Any]]]:
    """Collect the calls made inside the block (and tasks it starts) into the yielded list."""
    calls: list[dict[str, Any]] = []
    token = _CALLS.set(calls)
    try:
        yield calls
    finally:
        _CALLS.reset(token)


def note_call(
    system: str, method: str, url: httpx.URL, status: int | None, started: float, ended: float, error: str | None = None
) -> None:
    """Note one request in the current capture (no-op outside one)."""
    calls = _CALLS.get()
    if calls is None:
        return
    if len(calls) >= MAX_CALLS_PER_STEP:
        calls[-1]["more"] = int(calls[-1].get("more", 0)) + 1
        return
    call: dict[str, Any] = {
        "system": system,
        "method": method.upper(),
        "host": url.host + (f":{url.port}" if url.port else ""),
        "path": url.path,
        "status": status,
        "ms": round((ended - started) * 1000.0, 1),
        "at": datetime.now(UTC).isoformat(),
    }
    if error is not None:
        call["error"] = error
    calls.append(call)
