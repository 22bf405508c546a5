"""Open the right store for a database URL."""

from __future__ import annotations

from tradewire.governance.audit_chain import AuditSigner
from tradewire.runtime.store.port import Store
from tradewire.settings import DatabaseSettings


def open_store(url: str, *, settings: DatabaseSettings | None = None, audit_signer: AuditSigner | None = None) -> Store:
    """A store for ``url``: ``sqlite:///file.db``, ``postgresql://…`` or ``memory://``.

    The schema must exist (``tradewire migrate``), except for ``memory://``. ``audit_signer`` seals
    audit entries (processes build it from ``TRADEWIRE_SECRET_KEY``).
    """
    store = _open(url, settings or DatabaseSettings(url=url))
    if audit_signer is not None:
        store.audit_signer = audit_signer  # type: ignore[attr-defined]
    return store


def _open(url: str, settings: DatabaseSettings) -> Store:
    if url.startswith("memory:"):
        from tradewire.runtime.store.memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite"):
        from tradewire.runtime.store.sqlite import SqliteStore

        return SqliteStore(url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    if url.startswith(("postgresql", "postgres")):
        from tradewire.runtime.store.postgres import PostgresStore

        return PostgresStore(url, pool_size=settings.pool_size)
    from tradewire.errors import ConfigError

    raise ConfigError(f"unsupported database URL {url!r}: use sqlite:///path.db or postgresql://…")
