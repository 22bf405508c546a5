"""The in-memory twin for unit tests.

It is SQLite's in-memory database behind the very same queries, not a second hand-written
implementation: claim order, ordering keys and fencing are the hardest parts of the store,
and one implementation of them is one thing to get right. It shares nothing between
instances and vanishes with the process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from tradewire.runtime.store.sqlite import SqliteStore
from tradewire.runtime.store.tables import metadata


class MemoryStore(SqliteStore):
    """A fresh, empty store that lives in this process only."""

    dialect = "memory"

    def __init__(self) -> None:
        super().__init__("sqlite://", memory=True)
        metadata.create_all(self.engine)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Reads share the single in-memory connection, so they queue behind writers."""
        with self.write() as conn:
            yield conn
