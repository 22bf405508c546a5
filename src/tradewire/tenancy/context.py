"""The client context: who the current work is for.

Tenant queries in the store read the client from here and refuse to run without one,
so no route or command filters by owner by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tradewire.errors import TenantContextMissing

_current_client: ContextVar[str | None] = ContextVar("tradewire_client", default=None)


@contextmanager
def client_scope(client_id: str) -> Iterator[str]:
    """Run the enclosed block on behalf of ``client_id``."""
    if not client_id:
        raise TenantContextMissing("client_scope needs a client id")
    token = _current_client.set(client_id)
    try:
        yield client_id
    finally:
        _current_client.reset(token)


def current_client() -> str | None:
    """The client of the current context, or None."""
    return _current_client.get()


def require_client() -> str:
    """The client of the current context.

    Raises:
        TenantContextMissing: when no client context is set.
    """
    client_id = _current_client.get()
    if client_id is None:
        raise TenantContextMissing("a tenant query ran without a client context (use client_scope)")
    return client_id
