"""Facts of the fulfilment area (see :mod:`tradewire.runtime.store.port_facts`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FollowUpRun:
    """Fact: queue another flow's run, committed with this run's transition (or not at all).

    Used where one flow's outcome starts another (an order fully shipped → ``invoice_in_erp``)
    without waiting for it: the follow-up exists exactly when the facts that justify it do, and
    ``dedupe_key`` makes a repeat (a retried or replayed step) queue nothing new.

    Attributes:
        flow: the flow to run.
        flow_version: its version.
        dedupe_key: unique per (client, flow); a second fact with the same key is ignored.
        input: the run's input (JSON).
        connection_id: the connection the run acts for (its ``source_connection_id``).
        ordering_key: runs with the same key run one at a time.
    """

    flow: str
    flow_version: int
    dedupe_key: str
    input: dict[str, Any]
    connection_id: str | None = None
    ordering_key: str | None = None
