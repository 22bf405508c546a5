"""Quantities per item and location in the NetSuite sandbox, readable through SuiteQL.

Two tables join the SuiteQL ones: ``location`` (``id``, ``name``, ``isinactive``) and
``aggregateitemlocation`` (``item``, ``location``, ``quantityonhand``, ``quantityavailable``,
``quantitycommitted``, ``lastquantityavailablechange``) [3p: column names as third-party
SuiteQL references list them; verify per account]. Times are stored as UTC ISO text. A
warehouse moves stock with :meth:`InventoryBook.adjust` (the admin endpoint
``POST /_sandbox/inventory``), as an inventory adjustment in NetSuite would.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

TABLES = ("location", "aggregateitemlocation")
SCHEMA = """
CREATE TABLE location (id INTEGER PRIMARY KEY, name TEXT UNIQUE, isinactive TEXT DEFAULT 'F');
CREATE TABLE aggregateitemlocation (
  item INTEGER, location INTEGER, quantityonhand REAL, quantityavailable REAL, quantitycommitted REAL,
  lastquantityavailablechange TEXT, PRIMARY KEY (item, location));
"""
DEFAULT_LOCATIONS = ("Main Warehouse", "East Coast DC")


def utc_text(moment: float) -> str:
    """A Unix time as the sandbox stores times (UTC ISO, microseconds)."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds")


class InventoryBook:
    """Locations and per-location quantities on the store's sqlite database (the store's lock held)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock, clock: Callable[[], float]) -> None:
        self._db = db
        self._lock = lock
        self._clock = clock
        db.executescript(SCHEMA)
        self.reset()

    def reset(self, locations: Sequence[str] = DEFAULT_LOCATIONS) -> None:
        """Forget quantities; recreate the locations (ids 1, 2, …)."""
        with self._lock:
            self._db.execute("DELETE FROM aggregateitemlocation")
            self._db.execute("DELETE FROM location")
            for number, name in enumerate(locations, start=1):
                self._db.execute("INSERT INTO location (id, name) VALUES (?, ?)", (number, name))

    def location_id(self, location: str | int | None) -> int:
        """The id of a location given by id or name (None: the first).

        Raises:
            KeyError: no such location.
        """
        with self._lock:
            if location is None:
                row = self._db.execute("SELECT id FROM location ORDER BY id LIMIT 1").fetchone()
            elif isinstance(location, int) or str(location).isdigit():
                row = self._db.execute("SELECT id FROM location WHERE id = ?", (int(location),)).fetchone()
            else:
                row = self._db.execute("SELECT id FROM location WHERE name = ?", (str(location),)).fetchone()
        if row is None:
            raise KeyError(f"location {location!r}")
        return int(row[0])

    def adjust(
        self,
        item_id: int,
        *,
        location: str | int | None = None,
        delta: float | None = None,
        on_hand: float | None = None,
    ) -> dict[str, Any]:
        """Move stock of one item at one location (``delta``) or count it (``on_hand``); return the row.

        Raises:
            KeyError: unknown location.
            ValueError: neither or both of ``delta`` / ``on_hand``, or a count below what is committed.
        """
        if (delta is None) == (on_hand is None):
            raise ValueError("give exactly one of 'delta' or 'on_hand'")
        where = self.location_id(location)
        with self._lock:
            row = self._db.execute(
                "SELECT quantityonhand, quantitycommitted FROM aggregateitemlocation WHERE item = ? AND location = ?",
                (item_id, where),
            ).fetchone()
            before, committed = (float(row[0]), float(row[1])) if row else (0.0, 0.0)
            after = before + delta if delta is not None else float(on_hand or 0)
            self._db.execute(
                "INSERT INTO aggregateitemlocation VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (item, location) DO UPDATE SET "
                "quantityonhand = excluded.quantityonhand, quantityavailable = excluded.quantityavailable, "
                "lastquantityavailablechange = excluded.lastquantityavailablechange",
                (item_id, where, after, max(after - committed, 0.0), committed, utc_text(self._clock())),
            )
            return self.rows(item_id=item_id, location_id=where)[0]

    def rows(self, *, item_id: int | None = None, location_id: int | None = None) -> list[dict[str, Any]]:
        """Quantities with SKU and location name, oldest change first."""
        with self._lock:
            cursor = self._db.execute(
                "SELECT a.item, i.itemid, a.location, l.name, a.quantityonhand, a.quantityavailable, "
                "a.lastquantityavailablechange FROM aggregateitemlocation a JOIN item i ON i.id = a.item "
                "JOIN location l ON l.id = a.location WHERE (? IS NULL OR a.item = ?) AND (? IS NULL OR a.location = ?) "
                "ORDER BY a.lastquantityavailablechange, a.item, a.location",
                (item_id, item_id, location_id, location_id),
            )
            names = ("item", "sku", "location", "location_name", "on_hand", "available", "changed")
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
