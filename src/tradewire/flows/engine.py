"""Executes one claimed run: skip finished steps, run the rest, turn the ending into a transition.

Checkpoints are written with the run's next transition (one transaction), not after every
step: a step that calls a vendor is idempotent by the vendor's mechanism (NetSuite upsert by
``externalId``), so a crash between the call and the commit repeats a harmless call instead of
costing a commit per step. Runs that stop early (retry, wait, dead) keep the steps they
finished, so the next attempt or a replay starts where they stopped.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from tradewire.connectors.base.calls import capture_calls
from tradewire.errors import AuthError, PermanentError, RetryableError, SkippableError, TradewireError
from tradewire.flows.context import FlowEnv, NeedsDependency, ParkRun, RateBudgetWait, StepContext
from tradewire.flows.retry import RetryPolicy
from tradewire.observability.logging import bind_context
from tradewire.runtime.store.port import (
    Binding,
    ClaimedRun,
    NewRun,
    RunState,
    StepRecord,
    TimelineEvent,
    Transition,
)
from tradewire.tenancy.context import client_scope

log = logging.getLogger("tradewire.flows")

StepFn = Callable[[StepContext], Awaitable[Any]]
DEPENDENCY_RECHECK = timedelta(hours=1)
PAUSED_CONNECTION_RECHECK = timedelta(minutes=5)


@dataclass(frozen=True)
class Step:
    """One named step; its output must be JSON-serialisable."""

    name: str
    fn: StepFn


@dataclass(frozen=True)
class Flow:
    """A named, versioned sequence of steps."""

    name: str
    version: int
    steps: tuple[Step, ...]
    retry: RetryPolicy | None = None
    description: str = ""
    ordering_lane: str | None = None
    """Runs of this flow queue in their own lane of the event's ordering key (``<key>|<lane>``):
    in order among themselves, but never behind another flow's runs of the same object (a held
    order's export must not delay its stock reservation)."""

    def ordering_key_for(self, key: str | None) -> str | None:
        """The ordering key this flow's run gets for an event ordered by ``key``."""
        return f"{key}|{self.ordering_lane}" if key is not None and self.ordering_lane else key

    def step_names(self) -> list[str]:
        """Names in execution order."""
        return [s.name for s in self.steps]


@dataclass(frozen=True)
class Learnt:
    """What a failed execution learnt and keeps: bindings (item ids…) and facts (exceptions…)."""

    bindings: tuple[Binding, ...] = ()
    facts: tuple[Any, ...] = ()
    timeline: tuple[TimelineEvent, ...] = ()


NOTHING_LEARNT = Learnt()


@dataclass
class Outcome:
    """How a run ended this time; ``transition`` is None when already committed."""

    state: RunState
    transition: Transition | None
    summary: str
    new_steps: list[StepRecord] = field(default_factory=list)


class FlowEngine:
    """Runs flows by name for the worker (the runtime knows flows only through this)."""

    def __init__(self, flows: Mapping[str, Flow], env: FlowEnv, *, rng: random.Random | None = None) -> None:
        self.flows = dict(flows)
        self.env = env
        self._rng = rng or random.Random()

    async def execute(self, claimed: ClaimedRun, worker_id: str) -> Outcome:
        """Execute ``claimed`` as far as it goes; never raises for flow errors."""
        run = claimed.run
        with (
            client_scope(run.client_id),
            bind_context(
                client=run.client_id, connection=run.connection_id, message=run.message_id, run=run.id, flow=run.flow
            ),
        ):
            outcome = await self._execute(claimed, worker_id)
        if outcome.state is RunState.DEAD:
            log.warning("run is dead: %s", outcome.summary, extra={"run": run.id, "flow": run.flow})
        return outcome

    async def _execute(self, claimed: ClaimedRun, worker_id: str) -> Outcome:
        run = claimed.run
        flow = self.flows.get(run.flow)
        fence = Transition(run.id, run.client_id, worker_id, run.attempt, None)
        if flow is None:
            return self._dead(fence, [], f"no flow named {run.flow!r} is registered in this worker", "UnknownFlow")
        ctx = StepContext(env=self.env, claimed=claimed, outputs={k: v.output for k, v in claimed.done_steps.items()})
        new_steps: list[StepRecord] = []
        for step in flow.steps:
            if step.name in ctx.outputs:
                continue
            started = self.env.clock()
            structlog.contextvars.bind_contextvars(step=step.name)
            finished = Learnt(tuple(ctx.bindings), tuple(ctx.facts), tuple(ctx.events))
            try:
                with capture_calls() as calls:
                    output = await step.fn(ctx)
            except NeedsDependency as need:
                outcome = await self._wait_for(fence, finished, new_steps, need.child)
                if outcome is not None:
                    return outcome
                ctx.known.clear()  # the dependency may have bound what was prefetched as missing
                try:  # the dependency already ended: run the step again, once
                    output = await step.fn(ctx)
                except Exception as exc:
                    return self._failed(fence, ctx, flow, new_steps, step.name, exc)
            except Exception as exc:
                return self._failed(fence, ctx, flow, new_steps, step.name, exc)
            record = StepRecord(step.name, run.attempt, output, started, self.env.clock(), calls=tuple(calls))
            new_steps.append(record)
            ctx.outputs[step.name] = output
        transition = Transition(
            run.id,
            run.client_id,
            worker_id,
            run.attempt,
            RunState.SUCCEEDED,
            steps=tuple(new_steps),
            failures=run.failures,
            last_error=ctx.skip_reason,
            bindings=tuple(ctx.bindings),
            timeline=tuple(ctx.events),
            facts=tuple(ctx.facts),
        )
        summary = f"skipped: {ctx.skip_reason}" if ctx.skip_reason else "succeeded"
        return Outcome(RunState.SUCCEEDED, transition, summary, new_steps)

    async def _wait_for(
        self, fence: Transition, finished: Learnt, new_steps: list[StepRecord], child: NewRun
    ) -> Outcome | None:
        now = self.env.clock()
        # The finished steps' bindings, events and facts go with their checkpoints: a step that
        # is skipped on resume (map_order's order snapshot, a hold's release) never records them
        # again. The waiting step's own records are not: it runs again when the run wakes.
        parent = Transition(
            fence.run_id, fence.client_id, fence.lease_owner, fence.attempt, None, steps=tuple(new_steps),
            bindings=finished.bindings, timeline=finished.timeline, facts=finished.facts,
        )  # fmt: skip
        result = await self.env.db.call(self.env.store.ensure_dependency, parent, child, now, now + DEPENDENCY_RECHECK)
        if result.parent_waiting:
            return Outcome(RunState.WAITING, None, f"waiting for {child.flow} run {result.run_id}", new_steps)
        if result.state is RunState.DEAD:
            reason = f"{child.flow} run {result.run_id} is dead ({result.last_error}); fix and replay it, then this run"
            return self._dead(fence, new_steps, reason, "DependencyFailed", learnt=finished)
        if result.state is RunState.SUCCEEDED:
            return None
        # Not terminal and not waiting: our lease was lost while we asked.
        return Outcome(RunState.RUNNING, None, "lease lost while waiting for a dependency", new_steps)

    def _failed(
        self,
        fence: Transition,
        ctx: StepContext,
        flow: Flow,
        new_steps: list[StepRecord],
        step: str,
        exc: BaseException,
    ) -> Outcome:
        run = ctx.claimed.run
        error_type = type(exc).__name__
        message = str(exc) or error_type
        if isinstance(exc, SkippableError):
            transition = Transition(
                run.id, run.client_id, fence.lease_owner, run.attempt, RunState.SUCCEEDED,
                steps=tuple(new_steps), last_error=f"skipped at {step}: {message}",
                bindings=tuple(ctx.bindings), timeline=tuple(ctx.events), facts=tuple(ctx.facts),
            )  # fmt: skip
            return Outcome(RunState.SUCCEEDED, transition, f"skipped: {message}", new_steps)
        now = self.env.clock()
        # What was learnt before the failure (item ids, exceptions to open) is kept.
        found = Learnt(tuple(ctx.bindings), tuple(ctx.facts))
        if isinstance(exc, ParkRun):  # e.g. an order hold: not a failure, and what it recorded is kept
            parked = Learnt(tuple(ctx.bindings), tuple(ctx.facts), tuple(ctx.events))
            return self._park(fence, run.failures, new_steps, exc.until, f"{step}: {message}", "Parked", learnt=parked)
        if isinstance(exc, RateBudgetWait):
            at = now + timedelta(seconds=exc.retry_after or 1.0)
            reason = f"waiting for rate budget at {step}: {message}"
            return self._park(fence, run.failures, new_steps, at, reason, error_type, learnt=found)
        if isinstance(exc, AuthError) and ctx.last_connection_id is not None:
            self.env.pause_connection(ctx.last_connection_id, message)
            at = now + PAUSED_CONNECTION_RECHECK
            reason = f"credentials refused at {step}; connection {ctx.last_connection_id} paused: {message}"
            return self._park(
                fence, run.failures, new_steps, at, reason, error_type, state=RunState.RETRY_SCHEDULED, learnt=found
            )
        failures = run.failures + 1
        policy = flow.retry or self.env.retry
        decision = policy.decide(exc, failures, run.window_start, now, self._rng)
        if not isinstance(exc, TradewireError):
            log.exception("unexpected error in %s.%s (run %s)", flow.name, step, run.id, exc_info=exc)
        if decision.give_up:
            kind = "permanent" if isinstance(exc, PermanentError) else "exhausted"
            reason = f"{step}: {message}" if kind == "permanent" else f"{step}: {decision.reason}"
            return self._dead(fence, new_steps, reason, error_type, failures=failures, learnt=found)
        assert decision.retry_at is not None
        retry_state = RunState.RETRY_SCHEDULED
        detail = f"{step}: {message}" if isinstance(exc, RetryableError) else f"{step}: {error_type}: {message}"
        return self._park(
            fence, failures, new_steps, decision.retry_at, detail, error_type, state=retry_state, learnt=found
        )

    @staticmethod
    def _park(
        fence: Transition,
        failures: int,
        new_steps: list[StepRecord],
        at: datetime,
        reason: str,
        error_type: str,
        *,
        state: RunState = RunState.WAITING,
        learnt: Learnt = NOTHING_LEARNT,
    ) -> Outcome:
        transition = Transition(
            fence.run_id, fence.client_id, fence.lease_owner, fence.attempt, state,
            steps=tuple(new_steps), next_at=at, failures=failures, last_error=reason, error_type=error_type,
            bindings=learnt.bindings, facts=learnt.facts, timeline=learnt.timeline,
        )  # fmt: skip
        return Outcome(state, transition, reason, new_steps)

    @staticmethod
    def _dead(
        fence: Transition,
        new_steps: list[StepRecord],
        reason: str,
        error_type: str,
        *,
        failures: int | None = None,
        learnt: Learnt = NOTHING_LEARNT,
    ) -> Outcome:
        transition = Transition(
            fence.run_id, fence.client_id, fence.lease_owner, fence.attempt, RunState.DEAD,
            steps=tuple(new_steps), failures=failures, last_error=reason, error_type=error_type,
            bindings=learnt.bindings, facts=learnt.facts,
        )  # fmt: skip
        return Outcome(RunState.DEAD, transition, reason, new_steps)
