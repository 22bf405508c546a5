"""Poll NetSuite's on-hand quantities per item and location (SuiteQL over ``aggregateItemLocation``).

Rows come oldest change first, keyed ``(changed, item, location)``; each page is its own query
continuing after the previous page's last key (keyset paging: rows changing meanwhile cannot
shift a page), and that key is the page's cursor (``changed|item|location``), so a poll stopped
mid-stream (a failure, the service's page cap) resumes exactly after the last stored page. The
page that reaches the end marks the cursor ``…|end``; the next poll then starts
``inventory_overlap_seconds`` behind it (a change committed late with an older time is not
missed), and a row read twice with the same quantities has the same idempotency key and is
stored once. While that overlap is re-read the cursor may step back inside it: it is where the
next poll resumes, so even an overlap holding more rows than one poll reads cannot stall the
stream. The first poll reads every row: a full snapshot.

Each row becomes one ``inventory.updated`` message, ordered per SKU
(``inventory:<connection>:<sku>``) by the change time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, InboundEvent, PolledPage, PolledRecord, Poller
from tradewire.connectors.netsuite.client import NetSuiteClient, NetSuiteUnavailable, suiteql_literal
from tradewire.connectors.netsuite.inventory_mapping import parse_changed
from tradewire.connectors.netsuite.settings import NetSuiteSecrets, NetSuiteSettings
from tradewire.errors import MappingError, PermanentError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHANGED = "TO_CHAR(a.lastquantityavailablechange, 'YYYY-MM-DD HH24:MI:SS')"
_SELECT = (
    f"SELECT a.item AS item, i.itemid AS sku, a.location AS location, l.name AS locationname, "
    f"a.quantityonhand AS onhand, a.quantityavailable AS available, {_CHANGED} AS changed "
    "FROM aggregateitemlocation a JOIN item i ON i.id = a.item JOIN location l ON l.id = a.location"
)
Key = tuple[str, int, int]


END = "end"


def cursor_text(key: Key, *, end: bool = False) -> str:
    """``changed|item|location`` (resume right after it), with ``|end`` once a poll read everything."""
    return f"{key[0]}|{key[1]}|{key[2]}" + (f"|{END}" if end else "")


def parse_cursor(cursor: str) -> tuple[Key, bool]:
    """The key a cursor names, and whether the poll that wrote it reached the end.

    Raises:
        PermanentError: not a cursor this poller wrote.
    """
    parts = cursor.split("|")
    ended = len(parts) == 4 and parts[3] == END
    if len(parts) not in (3, 4) or (len(parts) == 4 and not ended) or not parts[1].isdigit() or not parts[2].isdigit():
        raise PermanentError(f"NetSuite inventory cursor {cursor!r} is not 'changed|item|location[|end]'")
    try:
        parse_changed(parts[0])
    except MappingError as exc:
        raise PermanentError(f"NetSuite inventory cursor {cursor!r}: {exc}") from None
    return (parts[0], int(parts[1]), int(parts[2])), ended


def page_query(*, since: str | None, after: Key | None, size: int) -> str:
    """The SuiteQL of one page: rows changed at or after ``since``, or strictly after the key ``after``."""
    conditions = []
    if after is not None:
        changed, item, location = after
        stamp = suiteql_literal(changed)
        conditions.append(
            f"({_CHANGED} > {stamp} OR ({_CHANGED} = {stamp} AND "
            f"(a.item > {item} OR (a.item = {item} AND a.location > {location}))))"
        )
    elif since is not None:
        conditions.append(f"{_CHANGED} >= {suiteql_literal(since)}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"{_SELECT}{where} ORDER BY {_CHANGED}, a.item, a.location FETCH FIRST {size} ROWS ONLY"


class NetSuiteInventoryPoller:
    """``Poller`` of one connection's item-location quantities."""

    def __init__(self, client: NetSuiteClient, settings: NetSuiteSettings, connection_id: str) -> None:
        self.client = client
        self.settings = settings
        self.connection_id = connection_id

    async def pages(self, cursor: str | None, *, now: datetime) -> AsyncIterator[PolledPage]:
        """Pages of rows changed since the cursor (minus the overlap), oldest first.

        Raises:
            NetSuiteUnavailable: a row without its key columns.
            NetSuite…: from the client.
        """
        since: str | None = None
        after: Key | None = None
        if cursor:
            key, ended = parse_cursor(cursor)
            if ended:
                start = parse_changed(key[0]) - timedelta(seconds=self.settings.inventory_overlap_seconds)
                since = start.strftime("%Y-%m-%d %H:%M:%S")
            else:
                after = key
        size = self.settings.inventory_page_size
        read_any = False
        while True:
            query = page_query(since=since, after=after, size=size)
            rows = [row async for row in self.client.suiteql(query, limit=size)]
            if not rows:
                if read_any and after is not None:  # the last full page was the end: mark it
                    yield PolledPage([], cursor_text(after, end=True))
                return
            read_any = True
            records = []
            last: Key | None = None
            for row in rows:
                last = self._key(row)
                records.append(PolledRecord(self._event(row, last), json.dumps(row, sort_keys=True).encode()))
            assert last is not None  # rows is not empty
            after = last
            yield PolledPage(records, cursor_text(last, end=len(rows) < size))
            if len(rows) < size:
                return

    def _key(self, row: dict[str, str]) -> Key:
        changed, item, location = row.get("changed"), str(row.get("item", "")), str(row.get("location", ""))
        if not changed or not item.isdigit() or not location.isdigit() or not row.get("sku"):
            raise NetSuiteUnavailable(
                f"inventory row without changed/item/location/sku: {row!r:.200}", system="netsuite"
            )
        try:
            parse_changed(changed)
        except MappingError as exc:
            raise NetSuiteUnavailable(str(exc), system="netsuite") from None
        return changed, int(item), int(location)

    def _event(self, row: dict[str, str], key: Key) -> InboundEvent:
        changed, item, location = key
        moment = parse_changed(changed)
        quantities = f"{row.get('onhand', '')}:{row.get('available', '')}"
        return InboundEvent(
            event_type="inventory.updated",
            idempotency_key=f"netsuite:inventory:{item}:{location}:{changed}:{quantities}",
            object_type="inventory",
            external_id=f"{item}@{location}",
            ordering_key=f"inventory:{self.connection_id}:{row['sku']}",
            ordering_seq=(moment - _EPOCH) // timedelta(microseconds=1),
            triggered_at=moment,
        )

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()


def open_inventory_poller(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None = None
) -> Poller:
    """``PollStream("inventory")``: the poller of one connection.

    Raises:
        pydantic.ValidationError: the connection's settings or secrets are incomplete.
    """
    settings = NetSuiteSettings.model_validate(dict(connection.settings))
    secrets = NetSuiteSecrets.model_validate(dict(connection.secrets))
    client = NetSuiteClient(settings, secrets, budget=budget, transport=transport)
    return NetSuiteInventoryPoller(client, settings, connection.id)
