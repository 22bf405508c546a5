"""Open the right store for a database URL."""

from __future__ import annotations

from tradewire.runtime.store.port import Store
from tradewire.settings import DatabaseSettings


def open_store(url: str, *, settings: DatabaseSettings | None = None) -> Store:
    """A store for ``url``: ``sqlite:///file.db``, ``postgresql://…`` or ``memory://``.

    The schema must exist (``tradewire migrate``), except for ``memory://``.
    """
    settings = settings or DatabaseSettings(url=url)
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
