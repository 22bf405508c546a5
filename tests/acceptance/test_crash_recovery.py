"""The crash test: workers are SIGKILLed at random while orders flow; nothing is lost or duplicated.

The test process runs the Shopify and NetSuite sandboxes (with faults: 429s, 5xx, timeouts,
duplicate and late webhooks) on 127.0.0.1. ``tradewire serve`` and several ``tradewire worker``
processes run as real subprocesses on one database. While the shop creates and cancels orders,
a killer thread SIGKILLs a random worker every 0.2–1.5 s and starts it again. Afterwards the
ledger check: every order whose ``orders/create`` webhook was acknowledged is in NetSuite exactly
once, cancelled ones are cancelled there, no run is dead and none is left active.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from procs import Child, Children, cli_env, new_secret_key, wait_healthy

from tradewire.canonical import canonical_id
from tradewire.connectors.base.sandbox import free_port
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.port import (
    ACTIVE_STATES,
    IngestItem,
    NewRun,
    RunFilter,
    RunState,
    Store,
    Transition,
)
from tradewire.services.demo_world import DemoKnobs, DemoWorld, build_world
from tradewire.services.operations import Operations
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

ORDERS = 300
MIN_KILLS = 20
CANCEL_RATE = 0.08
GENERATE_SECONDS = 20.0
SETTLE_SECONDS = 100.0


@dataclass
class Killer:
    """SIGKILLs a random worker at random intervals and starts it again, until told to stop."""

    workers: list[Child]
    rng: random.Random
    kills: int = 0
    errors: list[BaseException] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Start killing in a background thread."""
        self._thread = threading.Thread(target=self._run, name="killer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop killing; every worker is left running."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.rng.uniform(0.2, 1.5)):
                victim = self.rng.choice(self.workers)
                victim.kill()
                self.kills += 1
                victim.start()
        except BaseException as exc:  # surfaced by the test, not lost in a thread
            self.errors.append(exc)


def _start_world(url: str, key: str, seed: int) -> tuple[Store, DemoWorld]:
    store = open_store(url)
    try:
        return store, build_world(store, SecretBox(key), DemoKnobs.faulty(seed), seed=seed)
    except BaseException:
        store.close()
        raise


def _active(ops: Operations) -> int:
    counts = ops.counts()
    return sum(counts.get(state.value, 0) for state in ACTIVE_STATES)


def _crash_test(url: str, tmp_path: Path, children: Children, *, workers: int, seed: int) -> None:
    rng = random.Random(seed)
    key = new_secret_key()
    store, world = _start_world(url, key, seed)
    killer: Killer | None = None
    started = time.monotonic()
    try:
        env = cli_env(
            TRADEWIRE_SECRET_KEY=key,
            TRADEWIRE_DEV_MODE="true",
            TRADEWIRE_LOG__LEVEL="WARNING",
            TRADEWIRE_WORKER__LEASE_SECONDS="3",
            TRADEWIRE_WORKER__HEARTBEAT_SECONDS="1",
            # Backoff is not under test here; a short cap keeps the settle phase short.
            TRADEWIRE_RETRY__CAP_SECONDS="3",
        )
        port = free_port()
        api = f"http://127.0.0.1:{port}"
        serve = children.start("serve", ["serve", "--database-url", url, "--port", str(port)], env=env, cwd=tmp_path)
        wait_healthy(f"{api}/healthz", serve)
        world.subscribe(api)
        pool = [
            children.start(
                f"worker-{i}", ["worker", "--database-url", url, "--concurrency", "16"], env=env, cwd=tmp_path
            )
            for i in range(workers)
        ]
        killer = Killer(pool, random.Random(rng.random()))
        killer.start()

        # Orders flow while workers die: batches of 5 spread over GENERATE_SECONDS, some cancelled.
        shop = world.shop
        ops = Operations(store, world.client_id, actor="crash-test")
        created: list[int] = []
        cancelled: set[int] = set()
        batches = ORDERS // 5
        for _ in range(batches):
            for order in shop.create_orders(5):
                created.append(int(order["id"]))
                if rng.random() < CANCEL_RATE:
                    time.sleep(rng.uniform(0, 0.05))
                    shop.cancel_order(int(order["id"]))
                    cancelled.add(int(order["id"]))
            time.sleep(GENERATE_SECONDS / batches)
        deadline = time.monotonic() + 40
        while killer.kills < MIN_KILLS and time.monotonic() < deadline and not killer.errors:
            time.sleep(0.1)
        killer.stop()
        assert not killer.errors, f"the killer failed: {killer.errors!r}"
        assert killer.kills >= MIN_KILLS
        generated_at = time.monotonic()

        # Settle: the shop delivered everything and no run is active any more.
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            if not shop.sender.busy and _active(ops) == 0:
                break
            assert serve.alive(), f"serve died:\n{serve.output()[-4000:]}"
            time.sleep(0.25)
        settled_at = time.monotonic()
        counts = ops.counts()
        runs = ops.runs(RunFilter(limit=100_000))
        stuck = [(r.id, r.flow, r.state.value, r.last_error) for r in runs if r.state in ACTIVE_STATES]
        dead = [(r.id, r.flow, r.last_error) for r in runs if r.state.value == "dead"]

        # The ledger check.
        log = shop.delivery_log()
        acknowledged = {
            int(d["order_id"])
            for d in log
            if d["topic"] == "orders/create" and any(a["status"] and 200 <= a["status"] < 300 for a in d["attempts"])
        }
        cancel_acked = {
            int(d["order_id"])
            for d in log
            if d["topic"] == "orders/cancelled" and any(a["status"] and 200 <= a["status"] < 300 for a in d["attempts"])
        }
        rows = world.netsuite.sales_orders()
        per_external: dict[str | None, list[str]] = {}
        for row in rows:
            per_external.setdefault(row.external_id, []).append(row.status)

        def external(order_id: int) -> str:
            return canonical_id(world.client_id, "order", f"shopify:{world.shopify_connection}:{order_id}")

        missing = sorted(oid for oid in acknowledged if external(oid) not in per_external)
        doubled = sorted(oid for oid in acknowledged if len(per_external.get(external(oid), [])) > 1)
        not_cancelled = sorted(oid for oid in cancel_acked if "C" not in per_external.get(external(oid), []))
        rescued = sum(r.rescues for r in runs)
        retried = sum(r.failures for r in runs)
        rerun = sum(1 for r in runs if r.attempt > 1)
        print(
            f"\ncrash test ({store.dialect}, {workers} workers): {killer.kills} kills, "
            f"{len(created)} orders ({len(acknowledged)} acknowledged), {len(cancelled)} cancelled, "
            f"{len(rows)} sales orders in NetSuite; runs {dict(sorted(counts.items()))}; "
            f"{rescued} rescues of runs whose worker was killed, {rerun} runs claimed more than once, "
            f"{retried} failed attempts retried; erp faults {world.netsuite.snapshot_stats()}; "
            f"generate {generated_at - started:.1f}s, settle {settled_at - generated_at:.1f}s"
        )
        assert rescued, "no kill hit a run in flight: the test did not test recovery"
        assert not stuck, f"runs left active after {SETTLE_SECONDS}s: {stuck[:10]}"
        assert not shop.sender.busy, "the shop still has webhooks to deliver"
        assert acknowledged == set(created), f"{len(set(created) - acknowledged)} orders never acknowledged"
        assert not missing, f"{len(missing)} acknowledged orders missing in NetSuite, e.g. {missing[:5]}"
        assert not doubled, f"{len(doubled)} orders in NetSuite more than once, e.g. {doubled[:5]}"
        assert world.netsuite.duplicates() == {}
        assert not dead, f"{len(dead)} dead runs, e.g. {dead[:5]}"
        assert not not_cancelled, f"{len(not_cancelled)} cancellations not applied, e.g. {not_cancelled[:5]}"
        assert len(rows) == len(acknowledged), "NetSuite holds sales orders nobody sent"
    finally:
        if killer is not None:
            killer.stop()
        children.stop_all()
        world.stop()
        store.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_workers_killed_at_random_lose_and_duplicate_nothing_on_postgres(
    tmp_path: Path, pg_url: str, children: Children
) -> None:
    _crash_test(pg_url, tmp_path, children, workers=3, seed=20261123)


@pytest.mark.slow
def test_workers_killed_at_random_lose_and_duplicate_nothing_on_sqlite(
    tmp_path: Path, sqlite_url: str, children: Children
) -> None:
    _crash_test(sqlite_url, tmp_path, children, workers=2, seed=4242)


# --- one worker death after ordinary retries ---------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_one_worker_death_after_ordinary_retries_is_not_a_poison_run(
    request: pytest.FixtureRequest, backend: str
) -> None:
    """Settings: "A run whose worker died this many times goes to the dead letters"; here it died once."""
    store = open_store(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    try:
        partner = store.create_partner("Agency")
        client = store.create_client(partner, "Retailer")
        connection = store.create_connection(client, "shopify", "Main store", {"shop": "x"}, b"secret")
        now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
        store.ingest(
            [
                IngestItem(
                    client_id=client,
                    connection_id=connection,
                    source=f"shopify:{connection}",
                    topic="orders/create",
                    idempotency_key="evt-1",
                    body=b'{"id": 1}',
                    headers={},
                    runs=(NewRun(flow="order_to_erp", flow_version=1),),
                    received_at=now,
                )
            ]
        )
        max_rescues = 10
        for failures in range(1, max_rescues):  # nine 503s from NetSuite, each retried as policy says
            (claimed,) = store.claim("w1", 1, 30, now)
            run = claimed.run
            fence = Transition(
                run.id, client, "w1", run.attempt, RunState.RETRY_SCHEDULED,
                next_at=now, failures=failures, last_error="post_sales_order: 503", error_type="NetSuiteUnavailable",
            )  # fmt: skip
            assert store.apply([fence], now) == [True]
        store.claim("w1", 1, 30, now)  # the tenth attempt: its worker is SIGKILLed
        assert store.rescue_expired(now + timedelta(seconds=31), max_rescues) == 1
        with client_scope(client):
            assert store.count_by_state() == {"queued": 1}, "one lost worker made the run a poison run"
    finally:
        store.close()
