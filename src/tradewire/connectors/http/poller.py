"""Pollers from the definition: an object's list endpoint read incrementally by its change time.

The cursor is the greatest change time stored so far, as fixed-width UTC text
(``2026-11-23T11:30:00.000000Z``) so it sorts as it orders. Each poll asks for records
changed since ``cursor − overlap_seconds`` (late writes with an older timestamp are not
missed); records read twice in the overlap carry the same idempotency key (object, id, change
time), so the store treats them as duplicates. A page's cursor never goes backwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, InboundEvent, PolledPage, PolledRecord, Poller, PollStream
from tradewire.connectors.http.client import HttpClient, record_bytes
from tradewire.connectors.http.definition import Definition, PollerSpec
from tradewire.connectors.http.mapping import external_id, parse_time, search
from tradewire.connectors.http.settings import HttpSettings, connection_parts
from tradewire.errors import ConfigError, MappingError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_cursor(moment: datetime) -> str:
    """Fixed-width UTC text that sorts in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def microseconds(moment: datetime) -> int:
    """Whole microseconds since the Unix epoch."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


class DeclarativePoller:
    """Polls one :class:`PollerSpec` of a definition for one connection."""

    def __init__(self, client: HttpClient, spec: PollerSpec) -> None:
        self.client = client
        self.spec = spec
        self.definition: Definition = client.definition
        self.object = self.definition.objects[spec.object]

    def _since(self, cursor: str | None, now: datetime) -> datetime:
        cfg = self.spec.cursor
        if cursor:
            moment = parse_time(cursor)
            if moment is None:
                raise ConfigError(f"stored cursor {cursor!r} of poller {self.spec.name} is not a time")
            return moment - timedelta(seconds=cfg.overlap_seconds)
        return now - timedelta(seconds=cfg.lookback_seconds)

    def _filter_value(self, since: datetime) -> str:
        if self.spec.cursor.format == "epoch_seconds":
            return str(int(since.timestamp()))
        return since.astimezone(UTC).isoformat().replace("+00:00", "Z")

    async def pages(self, cursor: str | None, *, now: datetime) -> AsyncIterator[PolledPage]:
        """Pages of records changed since ``cursor`` (minus the overlap), each with the cursor to store.

        Raises:
            MappingError: a record without an id or a readable change time (fix the definition).
            VendorRetryable / VendorAuthError / VendorRejected: from the client.
        """
        since = self._since(cursor, now)
        best = cursor
        assert self.object.list is not None
        name = self.spec.object
        query = {self.spec.cursor.param: self._filter_value(since)}
        async for records in self.client.pages(self.object.list, extra_query=query):
            polled: list[PolledRecord] = []
            for record in records:
                ext = external_id(self.object, name, record)
                changed = parse_time(search(self.spec.cursor.field, record))
                if changed is None:
                    raise MappingError(
                        f"{name} {ext}: no change time at {self.spec.cursor.field!r}; the poller cannot advance"
                    )
                stamp = format_cursor(changed)
                if best is None or stamp > best:
                    best = stamp
                event = InboundEvent(
                    event_type=f"{self.object.canonical}.updated",
                    idempotency_key=f"poll:{name}:{ext}:{stamp}",
                    object_type=self.object.canonical,
                    external_id=ext,
                    ordering_key=f"http:{self.definition.name}:{name}:{ext}",
                    ordering_seq=microseconds(changed),
                    triggered_at=changed,
                )
                polled.append(PolledRecord(event=event, body=record_bytes(record)))
            yield PolledPage(polled, best)

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


def open_poller(
    name: str, connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> Poller:
    """The poller ``name`` of the connection's definition (egress allow-list from the environment).

    Raises:
        ConfigError: the definition declares no such poller.
    """
    _, _, definition = connection_parts(connection)
    spec = next((p for p in definition.pollers if p.name == name), None)
    if spec is None:
        declared = ", ".join(p.name for p in definition.pollers) or "none"
        raise ConfigError(f"{definition.name} declares no poller {name!r}; pollers: {declared}")
    return DeclarativePoller(HttpClient.from_connection(connection, budget=budget, transport=transport), spec)


def poll_streams(definition: Definition) -> tuple[PollStream, ...]:
    """The :class:`PollStream` s a definition declares (for a registry that knows the definition)."""

    def opener(name: str) -> PollStream:
        spec = next(p for p in definition.pollers if p.name == name)
        return PollStream(
            name=name,
            every_seconds=spec.every_seconds,
            open=lambda connection, budget, transport: open_poller(name, connection, budget, transport),
        )

    return tuple(opener(p.name) for p in definition.pollers)


def default_poll_stream() -> PollStream:
    """The stream ``SPEC.pollers`` declares: the connection's first poller (its ``poll`` setting names another)."""

    def open_first(connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None) -> Poller:
        settings = HttpSettings.model_validate(dict(connection.settings))
        definition = settings.load()
        chosen = connection.settings.get("poller") or (definition.pollers[0].name if definition.pollers else None)
        if chosen is None:
            raise ConfigError(f"{definition.name} declares no pollers; nothing to poll")
        return open_poller(str(chosen), connection, budget, transport)

    return PollStream(name="records", every_seconds=60.0, open=open_first)
