"""The flow engine turns every way a step can end into the right run state (memory store)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tradewire.errors import AuthError, MappingError, RateBudgetWait, RetryableError, SkippableError
from tradewire.flows.context import FlowEnv, StepContext
from tradewire.flows.engine import Flow, FlowEngine, Outcome, Step
from tradewire.flows.retry import RetryPolicy
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.memory import MemoryStore
from tradewire.runtime.store.port import Binding, IngestItem, NewRun, RunFilter, RunState, Transition
from tradewire.runtime.store.port_facts import ExceptionFilter
from tradewire.tenancy.connections import ConnectionCache
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture
def world() -> Iterator[tuple[MemoryStore, FlowEnv, str, str]]:
    store = MemoryStore()
    client = store.create_client(store.create_partner("p"), "c")
    box = SecretBox("k" * 40)
    conn = store.create_connection(client, "netsuite", "ns", {}, box.seal({}))
    db = DbExecutor(threads=1)
    env = FlowEnv(store, db, ConnectionCache(store, box), RetryPolicy(base_seconds=1, cap_seconds=10), lambda: NOW)
    yield store, env, client, conn
    db.shutdown()
    store.close()


def run_once(store: MemoryStore, env: FlowEnv, client: str, conn: str, flow: Flow, *, key: str = "k") -> Outcome:
    store.ingest([IngestItem(client, conn, "s", "t", key, b"{}", {}, (NewRun(flow.name, flow.version),), NOW)])
    claimed = store.claim("w", 1, 30, NOW)[0]
    outcome = asyncio.run(FlowEngine({flow.name: flow}, env, rng=random.Random(1)).execute(claimed, "w"))
    if outcome.transition is not None:
        assert store.apply([outcome.transition], NOW) == [True]
    return outcome


def one_step(fn: Any, name: str = "only") -> Flow:
    return Flow("test_flow", 1, (Step(name, fn),))


def test_success_checkpoints_every_step(world: Any) -> None:
    store, env, client, conn = world

    async def first(ctx: StepContext) -> dict[str, int]:
        return {"a": 1}

    async def second(ctx: StepContext) -> dict[str, int]:
        return {"b": ctx.outputs["first"]["a"] + 1}

    flow = Flow("test_flow", 1, (Step("first", first), Step("second", second)))
    outcome = run_once(store, env, client, conn, flow)
    assert outcome.state is RunState.SUCCEEDED
    with client_scope(client):
        run = store.list_runs(RunFilter())[0]
        steps = store.get_run(run.id).steps
    assert [(s.name, s.output) for s in steps] == [("first", {"a": 1}), ("second", {"b": 2})]


def test_permanent_error_is_dead_with_the_reason(world: Any) -> None:
    store, env, client, conn = world

    async def bad(ctx: StepContext) -> None:
        raise MappingError("line_items[1].price 'abc' is not a number")

    outcome = run_once(store, env, client, conn, one_step(bad, "map_order"))
    assert outcome.state is RunState.DEAD
    assert outcome.transition is not None
    assert outcome.transition.last_error == "map_order: line_items[1].price 'abc' is not a number"


def test_retryable_error_schedules_a_retry_and_counts_it(world: Any) -> None:
    store, env, client, conn = world

    async def flaky(ctx: StepContext) -> None:
        raise RetryableError("NetSuite 503", retry_after=4.0)

    outcome = run_once(store, env, client, conn, one_step(flaky))
    assert outcome.state is RunState.RETRY_SCHEDULED
    t = outcome.transition
    assert t is not None
    assert t.failures == 1
    assert t.next_at == NOW.replace(second=4)
    assert "NetSuite 503" in (t.last_error or "")


def test_an_empty_budget_parks_without_counting_a_failure(world: Any) -> None:
    store, env, client, conn = world

    async def throttled(ctx: StepContext) -> None:
        raise RateBudgetWait("bucket empty", retry_after=3.0)

    outcome = run_once(store, env, client, conn, one_step(throttled))
    assert outcome.state is RunState.WAITING
    assert outcome.transition is not None
    assert outcome.transition.failures == 0


def test_refused_credentials_pause_the_connection_and_keep_the_run(world: Any) -> None:
    store, env, client, conn = world

    async def refused(ctx: StepContext) -> None:
        ctx.last_connection_id = conn
        raise AuthError("INVALID_LOGIN")

    outcome = run_once(store, env, client, conn, one_step(refused))
    assert outcome.state is RunState.RETRY_SCHEDULED
    assert "paused" in outcome.summary
    assert store.get_connection(conn).status == "paused"


def test_skip_ends_as_succeeded_with_the_reason(world: Any) -> None:
    store, env, client, conn = world

    async def nothing(ctx: StepContext) -> None:
        raise SkippableError("cancelled before export")

    outcome = run_once(store, env, client, conn, one_step(nothing))
    assert outcome.state is RunState.SUCCEEDED
    assert "cancelled before export" in outcome.summary


def test_a_bug_is_retried_and_named(world: Any) -> None:
    store, env, client, conn = world

    async def buggy(ctx: StepContext) -> None:
        raise KeyError("customer")

    outcome = run_once(store, env, client, conn, one_step(buggy))
    assert outcome.state is RunState.RETRY_SCHEDULED
    assert "KeyError" in (outcome.transition.last_error if outcome.transition else "")


def test_unknown_flow_is_dead(world: Any) -> None:
    store, env, client, conn = world
    store.ingest([IngestItem(client, conn, "s", "t", "x", b"{}", {}, (NewRun("gone", 1),), NOW)])
    claimed = store.claim("w", 1, 30, NOW)[0]
    outcome = asyncio.run(FlowEngine({}, env).execute(claimed, "w"))
    assert outcome.state is RunState.DEAD
    assert "no flow named 'gone'" in outcome.summary


def test_a_dead_dependency_kills_the_parent_with_a_pointer(world: Any) -> None:
    store, env, client, conn = world
    child = NewRun("child_flow", 1, dedupe_key="c1")

    async def needs(ctx: StepContext) -> None:
        ctx.need(child)

    flow = one_step(needs)
    first = run_once(store, env, client, conn, flow)
    assert first.state is RunState.WAITING
    kid = store.claim("w", 1, 30, NOW)[0].run
    died = Transition(kid.id, client, "w", kid.attempt, RunState.DEAD, last_error="NetSuite refused the customer")
    store.apply([died], NOW)
    parent = store.claim("w", 1, 30, NOW)[0]
    outcome = asyncio.run(FlowEngine({flow.name: flow}, env).execute(parent, "w"))
    assert outcome.state is RunState.DEAD
    assert f"child_flow run {kid.id} is dead" in outcome.summary
    assert "NetSuite refused the customer" in outcome.summary


def test_a_dependency_that_ended_meanwhile_is_seen_on_the_rerun(world: Any) -> None:
    store, env, client, conn = world
    child = NewRun("child_flow", 1, dedupe_key="cust")

    def finish_child_elsewhere() -> None:
        """Another worker creates, runs and binds the customer while this run is deciding."""
        store.ensure_dependency(Transition(0, client, "nobody", 0, None), child, NOW, NOW)
        kid = next(c.run for c in store.claim("other", 5, 30, NOW) if c.run.flow == "child_flow")
        bound = (Binding(conn, "customer", "C-1", "cust"),)
        store.apply([Transition(kid.id, client, "other", kid.attempt, RunState.SUCCEEDED, bindings=bound)], NOW)

    async def prefetch(ctx: StepContext) -> None:
        await ctx.prefetch_bindings(conn, {"customer": ["cust"]})

    async def resolve(ctx: StepContext) -> dict[str, str]:
        ref = await ctx.binder(conn, "customer").external_id("cust")
        if ref is None:
            await asyncio.to_thread(finish_child_elsewhere)
            ctx.need(child)
        return {"customer_ref": str(ref)}

    flow = Flow("test_flow", 1, (Step("prefetch", prefetch), Step("resolve", resolve)))
    outcome = run_once(store, env, client, conn, flow)
    assert outcome.state is RunState.SUCCEEDED
    assert outcome.new_steps[-1].output == {"customer_ref": "C-1"}


def test_an_exception_opened_before_a_permanent_error_is_kept_with_the_dead_run(world: Any) -> None:
    store, env, client, conn = world

    async def unknown_order(ctx: StepContext) -> None:
        ctx.open_exception("return_unknown_order:R1", "return_unknown_order", "return", "r-1", "order #9 is unknown")
        raise MappingError("return R1 names order #9, which Tradewire never saw")

    outcome = run_once(store, env, client, conn, one_step(unknown_order, "match_order"))
    assert outcome.state is RunState.DEAD
    with client_scope(client):
        [opened] = store.list_exceptions(ExceptionFilter())
    assert (opened.kind, opened.canonical_id, opened.message) == ("return_unknown_order", "r-1", "order #9 is unknown")


def test_facts_of_a_successful_run_commit_with_it_and_a_retry_keeps_earlier_ones(world: Any) -> None:
    store, env, client, conn = world

    async def flaky(ctx: StepContext) -> None:
        ctx.open_exception("qty:R2", "quantity_mismatch", "return", "r-2", "2 expected, 1 received")
        raise RetryableError("ERP unavailable")

    outcome = run_once(store, env, client, conn, one_step(flaky, "inspect"))
    assert outcome.state is RunState.RETRY_SCHEDULED
    with client_scope(client):
        assert [e.key for e in store.list_exceptions(ExceptionFilter())] == ["qty:R2"]


def test_a_flow_with_its_own_lane_never_queues_behind_another_flows_runs() -> None:
    from tradewire.flows.registry import flows_for

    lanes = {f.name: f.ordering_key_for("order:c1:42") for f in flows_for("order.created")}
    assert lanes["order_to_erp"] == "order:c1:42"
    assert lanes["inventory_reserve"] == "order:c1:42|inventory"  # a held export must not delay the reservation
    assert one_step(lambda ctx: None).ordering_key_for(None) is None
