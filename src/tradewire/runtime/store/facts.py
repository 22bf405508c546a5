"""Writers of facts (see :mod:`tradewire.runtime.store.port_facts`), one per fact type.

The module that owns a fact's table registers its writer with :func:`fact_writer`;
``apply`` groups each transaction's facts by type and calls each writer once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection

if TYPE_CHECKING:
    from tradewire.runtime.store.sql_base import SqlBase


@dataclass(frozen=True)
class FactRow:
    """One fact with the run that recorded it."""

    client_id: str
    run_id: int | None
    fact: Any


FactWriter = Callable[["SqlBase", Connection, Sequence[FactRow], datetime], None]
W = TypeVar("W", bound=FactWriter)

_WRITERS: dict[type, FactWriter] = {}


def fact_writer(fact_type: type) -> Callable[[W], W]:
    """Register the decorated function as the writer of ``fact_type``."""

    def register(fn: W) -> W:
        if fact_type in _WRITERS and _WRITERS[fact_type] is not fn:
            raise RuntimeError(f"{fact_type.__name__} already has a writer")
        _WRITERS[fact_type] = fn
        return fn

    return register


def write_facts(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Write ``rows`` grouped by fact type, in the order types first appear.

    Raises:
        TypeError: a fact type without a writer (a programming error, caught by tests).
    """
    groups: dict[type, list[FactRow]] = {}
    for row in rows:
        groups.setdefault(type(row.fact), []).append(row)
    for fact_type, group in groups.items():
        writer = _WRITERS.get(fact_type)
        if writer is None:
            raise TypeError(f"no writer for fact {fact_type.__name__}; register one with fact_writer")
        writer(store, conn, group, now)
