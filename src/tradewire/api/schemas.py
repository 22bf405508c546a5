"""Response and request bodies of API v1 (these shape the OpenAPI spec)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from tradewire.runtime.store.port import MessageRecord, RunRecord, RunState, StepRecord, TimelineEvent


class StepOut(BaseModel):
    name: str
    attempt: int
    output: Any
    error: str | None
    started_at: datetime
    ended_at: datetime

    @classmethod
    def of(cls, s: StepRecord) -> StepOut:
        return cls(
            name=s.name, attempt=s.attempt, output=s.output, error=s.error, started_at=s.started_at, ended_at=s.ended_at
        )


class RunOut(BaseModel):
    id: int
    flow: str
    flow_version: int
    state: RunState
    connection_id: str | None
    message_id: int | None
    ordering_key: str | None
    attempt: int
    failures: int
    next_at: datetime | None
    last_error: str | None
    error_type: str | None
    input: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    steps: list[StepOut] = Field(default_factory=list)

    @classmethod
    def of(cls, r: RunRecord) -> RunOut:
        return cls(
            id=r.id, flow=r.flow, flow_version=r.flow_version, state=r.state, connection_id=r.connection_id,
            message_id=r.message_id, ordering_key=r.ordering_key, attempt=r.attempt, failures=r.failures,
            next_at=r.next_at, last_error=r.last_error, error_type=r.error_type, input=r.input,
            created_at=r.created_at, updated_at=r.updated_at, ended_at=r.ended_at,
            steps=[StepOut.of(s) for s in r.steps],
        )  # fmt: skip


class MessageOut(BaseModel):
    id: int
    connection_id: str | None
    source: str
    topic: str
    idempotency_key: str
    headers: dict[str, str]
    body: str = Field(description="The raw body as received (UTF-8), or base64 when it is not text")
    body_encoding: str
    received_at: datetime

    @classmethod
    def of(cls, m: MessageRecord) -> MessageOut:
        try:
            body, encoding = m.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            body, encoding = base64.b64encode(m.body).decode(), "base64"
        return cls(
            id=m.id, connection_id=m.connection_id, source=m.source, topic=m.topic, idempotency_key=m.idempotency_key,
            headers=m.headers, body=body, body_encoding=encoding, received_at=m.received_at,
        )  # fmt: skip


class TimelineOut(BaseModel):
    event: str
    system: str | None
    connection_id: str | None
    external_id: str | None
    run_id: int | None
    detail: dict[str, Any]
    at: datetime | None

    @classmethod
    def of(cls, e: TimelineEvent) -> TimelineOut:
        return cls(
            event=e.event, system=e.system, connection_id=e.connection_id, external_id=e.external_id,
            run_id=e.run_id, detail=e.detail, at=e.at,
        )  # fmt: skip


class ReplayIn(BaseModel):
    from_step: str | None = Field(default=None, description="Start at this step; earlier steps keep their output")


class BulkReplayIn(BaseModel):
    run_ids: list[int] | None = Field(default=None, max_length=10_000, description="Replay these runs")
    dead: bool = Field(default=False, description="Replay every dead run (optionally filtered)")
    since: datetime | None = Field(default=None, description="With dead: only runs that died after this time")
    flow: str | None = Field(default=None, description="With dead: only runs of this flow")
    from_step: str | None = None


class ReplayOut(BaseModel):
    queued: list[int]
    from_step: str | None


class WebhookAck(BaseModel):
    status: str
    message_id: int | None
    run_ids: list[int]
    detail: str = ""


class Health(BaseModel):
    status: str
    database: str
    runs: dict[str, int]


class PauseIn(BaseModel):
    reason: str = Field(default="paused by an operator", max_length=500)


class ConnectionStatusOut(BaseModel):
    id: str
    status: str
