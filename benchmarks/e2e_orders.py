"""End-to-end benchmark: Shopify webhook → ``tradewire serve`` → ``tradewire worker`` → NetSuite record.

Per configuration (backend × number of worker processes) it:

1. creates a fresh database (a SQLite file in a temporary folder, or a fresh PostgreSQL
   database so that ``LISTEN/NOTIFY`` and statistics are not shared with anyone else), migrates it,
   and builds the demo tenant with both sandboxes (``build_world(..., DemoKnobs.calm())``) in this
   process on 127.0.0.1;
2. starts one ``serve`` and K ``worker`` processes (env ``TRADEWIRE_DATABASE__URL``,
   ``TRADEWIRE_SECRET_KEY``, ``TRADEWIRE_LOG__LEVEL=WARNING``) and subscribes the shop to ``serve``;
3. warms up (a few orders end to end), then the **end-to-end phase**: N orders are created in the
   Shopify sandbox (all at once, or at ``--rate``), which signs and delivers them; figures come from
   the sandboxes' own clocks: the first send of each ``orders/create`` delivery and the NetSuite
   record's ``created_at``. orders/s = orders / (last record created − first delivery sent);
   worker CPU from psutil (user + system) before/after, divided by orders;
4. the **acknowledgement phase**: a separate load-generator process POSTs signed webhooks straight to
   ``serve`` at a fixed rate (open loop, default 200 req/s for 10 s) and reports p50/p99 response
   times measured from each request's *scheduled* send time (no coordinated omission). First with the
   workers running (the receiver competes with the runs it creates, for CPU and, on SQLite, for the
   write lock), then again with the workers stopped (the receiver alone).

By default ``serve`` and ``worker`` run through a thin wrapper (``_child serve|worker``) that does
exactly what the CLI commands do (``Settings()`` from the environment, ``start_logging``,
``processes.run_worker`` / ``create_app`` + ``uvicorn.run``) and additionally counts, with SQLAlchemy
events, every statement sent to the database (cursor executions, so an ``executemany`` counts once),
commits and pool checkouts (on PostgreSQL each checkout costs one ``pool_pre_ping`` round trip, and
psycopg sends an implicit ``BEGIN`` per transaction: neither is a cursor execution), the CPU time
spent inside the ``map_order`` step. Peak RSS is sampled with psutil every 0.2 s (``ru_maxrss`` is
useless here: Linux keeps it across ``execve``, so a child reports its parent's peak). ``--cli`` runs the
real ``tradewire serve`` / ``tradewire worker`` commands instead (no statement counts then).

``--profile`` samples one worker, ``serve`` and this process (the sandboxes) with py-spy during the
end-to-end phase and prints the hottest functions (py-spy: ``pip install --target /tmp/pyspy py-spy``,
then ``--py-spy /tmp/pyspy/bin/py-spy``; it is found on PATH otherwise).

Usage::

    .venv/bin/python benchmarks/e2e_orders.py --backend both --workers 1,2,4 --orders 2000
    .venv/bin/python benchmarks/e2e_orders.py --backend postgres --workers 1 --profile --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
HERE = Path(__file__).resolve()
REPO = HERE.parent.parent


# --------------------------------------------------------------------------------------------------
# Child processes: serve / worker with counters, and the acknowledgement load generator
# --------------------------------------------------------------------------------------------------


class Counters:
    """Database statements, commits and checkouts of this process, plus mapping CPU."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statements = 0
        self.kinds: Counter[str] = Counter()
        self.commits = 0
        self.checkouts = 0
        self.map_cpu = 0.0
        self.map_calls = 0

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
        from sqlalchemy.pool import Pool

        def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            kind = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
            with self.lock:
                self.statements += 1
                self.kinds[kind] += 1

        def on_commit(_conn: Any) -> None:
            with self.lock:
                self.commits += 1

        def on_checkout(*_: Any) -> None:
            with self.lock:
                self.checkouts += 1

        event.listen(Engine, "before_cursor_execute", on_execute)
        event.listen(Engine, "commit", on_commit)
        event.listen(Pool, "checkout", on_checkout)

    def wrap_mapping(self) -> None:
        """Time (thread CPU) the ``map_order`` step of every flow that has one."""
        import dataclasses

        from tradewire.flows.registry import FLOWS

        def timed(fn: Any) -> Any:
            async def step(ctx: Any) -> Any:
                started = time.thread_time()
                try:
                    return await fn(ctx)
                finally:
                    with self.lock:
                        self.map_cpu += time.thread_time() - started
                        self.map_calls += 1

            return step

        for name, flow in list(FLOWS.items()):
            steps = tuple(dataclasses.replace(s, fn=timed(s.fn)) if s.name == "map_order" else s for s in flow.steps)
            FLOWS[name] = dataclasses.replace(flow, steps=steps)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "statements": self.statements,
                "kinds": dict(self.kinds),
                "commits": self.commits,
                "checkouts": self.checkouts,
                "map_cpu": self.map_cpu,
                "map_calls": self.map_calls,
                "at": time.time(),
            }

    def dump_forever(self, path: Path) -> None:
        def loop() -> None:
            while True:
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self.snapshot()))
                tmp.replace(path)
                time.sleep(0.2)

        threading.Thread(target=loop, name="bench-stats", daemon=True).start()


def child_serve(stats: Path) -> None:
    """``tradewire serve`` with counters."""
    counters = Counters()
    counters.install()
    counters.dump_forever(stats)
    import uvicorn

    from tradewire.api.app import create_app
    from tradewire.cli.common import load_settings, start_logging
    from tradewire.services import processes

    settings = load_settings()
    start_logging(settings)
    settings.check_for_production()
    store = processes.store_for(settings)
    app = create_app(settings, store, processes.build_ingest(settings, store))
    try:
        uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_level="warning", access_log=False)
    finally:
        store.close()


def child_worker(stats: Path) -> None:
    """``tradewire worker`` with counters."""
    counters = Counters()
    counters.install()
    counters.wrap_mapping()
    counters.dump_forever(stats)
    from tradewire.cli.common import load_settings, start_logging
    from tradewire.services import processes

    settings = load_settings()
    start_logging(settings)
    settings.check_for_production()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await processes.run_worker(settings, stop)

    asyncio.run(main())


def child_ackload(url: str, secret: str, rate: float, seconds: float, out: Path) -> None:
    """POST signed ``orders/create`` webhooks to ``url`` at ``rate``/s (open loop); write latencies."""
    from urllib.parse import urlsplit

    from tradewire.connectors.shopify.sandbox_shop import SandboxShop
    from tradewire.connectors.shopify.sandbox_webhooks import build_delivery
    from tradewire.services.demo_world import CATALOG

    shop = SandboxShop(client_secret=secret, access_token="unused", catalog=CATALOG, seed=11)  # noqa: S106
    total = int(rate * seconds)
    requests: list[tuple[bytes, dict[str, str]]] = []
    for number in range(total):
        order = shop.generator.new_order(order_id=shop.next_id(), number=900_000 + number, now=shop.now_text())
        triggered = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        delivery = build_delivery(
            topic="orders/create",
            order=order,
            address=url,
            client_secret=secret,
            shop_domain=shop.shop_domain,
            api_version=shop.api_version,
            event_id=str(uuid.uuid4()),
            triggered_at=triggered,
        )
        requests.append((delivery.body, delivery.headers))

    parsed = urlsplit(url)
    host, port, path = parsed.hostname or "127.0.0.1", parsed.port or 80, parsed.path
    wire = []
    for body, headers in requests:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "content-length")
        wire.append(head.encode() + b"\r\n" + body)

    async def main() -> dict[str, Any]:
        # A minimal keep-alive HTTP/1.1 client: httpx's pool costs O(connections) CPU per request,
        # which made the generator itself the bottleneck once the receiver queued requests.
        scheduled_lat: list[float] = []
        service_lat: list[float] = []
        errors: Counter[str] = Counter()
        free: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

        async def exchange(data: bytes) -> int:
            for attempt in range(2):
                conn = free.pop() if free else await asyncio.open_connection(host, port)
                reader, writer = conn
                try:
                    writer.write(data)
                    status_line = await reader.readline()
                    if not status_line:
                        raise ConnectionResetError("closed")
                    length = 0
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        name, _, value = line.decode("latin-1").partition(":")
                        if name.strip().lower() == "content-length":
                            length = int(value.strip())
                    await reader.readexactly(length)
                    free.append(conn)
                    return int(status_line.split()[1])
                except (ConnectionError, asyncio.IncompleteReadError):
                    writer.close()
                    if attempt:
                        raise
            raise AssertionError("unreachable")

        loop = asyncio.get_running_loop()
        start = loop.time() + 0.1
        lag_max = 0.0

        async def one(i: int, data: bytes) -> None:
            due = start + i / rate
            sent = loop.time()
            try:
                status = await asyncio.wait_for(exchange(data), 30.0)
                if status != 200:
                    errors[str(status)] += 1
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                errors[exc.__class__.__name__] += 1
            done = loop.time()
            scheduled_lat.append((done - due) * 1000)
            service_lat.append((done - sent) * 1000)

        tasks = []
        for i, data in enumerate(wire):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lag_max = max(lag_max, loop.time() - due)
            tasks.append(asyncio.create_task(one(i, data)))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start
        for _reader, writer in free:
            writer.close()
        return {
            "sent": total,
            "elapsed": elapsed,
            "scheduled_ms": scheduled_lat,
            "service_ms": service_lat,
            "errors": dict(errors),
            "generator_lag_max_ms": lag_max * 1000,
        }

    result = asyncio.run(main())
    out.write_text(json.dumps(result))


# --------------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Result:
    """Figures of one configuration."""

    backend: str
    workers: int
    orders: int
    settled: bool = False
    orders_in_erp: int = 0
    duplicates_in_erp: int = 0
    orders_per_s: float = 0.0
    webhooks_per_s: float = 0.0
    e2e_p50_ms: float = 0.0
    e2e_p99_ms: float = 0.0
    e2e_max_ms: float = 0.0
    ack_rate: float = 0.0
    ack_achieved_rate: float = 0.0
    ack_p50_ms: float = 0.0
    ack_p99_ms: float = 0.0
    ack_max_ms: float = 0.0
    ack_service_p99_ms: float = 0.0
    ack_errors: dict[str, int] = field(default_factory=dict)
    ack_alone_achieved_rate: float = 0.0
    ack_alone_p50_ms: float = 0.0
    ack_alone_p99_ms: float = 0.0
    runs_per_order: float = 0.0
    worker_cpu_ms_per_order: float = 0.0
    worker_map_cpu_ms_per_order: float = 0.0
    worker_cpu_ms_outside_mapping: float = 0.0
    serve_cpu_ms_per_order: float = 0.0
    sandboxes_cpu_ms_per_order: float = 0.0
    postgres_cpu_ms_per_order: float = 0.0
    sandbox_cpu_split_ms: dict[str, float] = field(default_factory=dict)
    machine_cpu_busy_pct: float = 0.0
    worker_sql_per_order: float = 0.0
    worker_commits_per_order: float = 0.0
    worker_checkouts_per_order: float = 0.0
    serve_sql_per_order: float = 0.0
    serve_commits_per_order: float = 0.0
    sql_kinds_per_order: dict[str, float] = field(default_factory=dict)
    peak_rss_serve_mb: float = 0.0
    peak_rss_worker_mb: float = 0.0
    peak_rss_bench_mb: float = 0.0
    e2e_seconds: float = 0.0
    profile: dict[str, Any] = field(default_factory=dict)
    note: str = ""


class Proc:
    """A child process we started (stopped by its PID only)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, stats: Path | None) -> None:
        import psutil

        self.name = name
        self.stats = stats
        self.log = log
        self._log_file = log.open("wb")
        self.popen = subprocess.Popen(argv, env=env, stdout=self._log_file, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.popen.pid)
        self.peak_rss = 0

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu(self) -> float:
        try:
            times = self.ps.cpu_times()
            return float(times.user + times.system)
        except Exception:
            return 0.0

    def sample_rss(self) -> None:
        with contextlib.suppress(Exception):
            self.peak_rss = max(self.peak_rss, self.ps.memory_info().rss)

    def counters(self) -> dict[str, Any]:
        if self.stats is None or not self.stats.exists():
            return {}
        for _ in range(5):
            with contextlib.suppress(ValueError, OSError):
                data: dict[str, Any] = json.loads(self.stats.read_text())
                return data
            time.sleep(0.05)
        return {}

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log_file.close()


def make_pg_database(admin_url: str) -> tuple[str, str]:
    """A fresh database on the server of ``admin_url``; returns (url, name)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"tw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, name


def drop_pg_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_http(url: str, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def find_pyspy(explicit: str | None) -> str | None:
    for candidate in (explicit, shutil.which("py-spy"), "/tmp/pyspy/bin/py-spy"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


FRAME = re.compile(r"^(?P<fn>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def short_frame(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("file")
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match.group('fn')} ({path})"


# Frames every stack shares (event loop, thread pool, this wrapper): left out of the inclusive list.
GENERIC_FRAMES = (
    "(threading.py)",
    "(concurrent/futures/thread.py)",
    "(asyncio/runners.py)",
    "(asyncio/base_events.py)",
    "(asyncio/events.py)",
    "(e2e_orders.py)",
    "(uvicorn/main.py)",
    "(uvicorn/server.py)",
    "(uvicorn/_compat.py)",
)


# Where a sample belongs: the first of these (in this order) that any frame of its stack matches.
CATEGORIES: list[tuple[str, str]] = [
    ("store.claim", "WorkerMethods.claim "),
    ("store.apply (group commit)", "WorkerMethods.apply "),
    ("store.ingest (group commit)", "WorkerMethods.ingest "),
    ("store.find_bindings", "TenantMethods.find_bindings "),
    ("store.take_tokens (rate budget)", "take_tokens "),
    ("store.ensure_dependency", "ensure_dependency "),
    ("store (other)", "(tradewire/runtime/store/"),
    ("vendor HTTP client (httpx→NetSuite)", "VendorHttp.request "),
    ("map_order step", "map_order (tradewire/flows/orders.py"),
    ("flow steps (other)", "FlowEngine._execute "),
    ("webhook route (fastapi)", "FastAPI.__call__ "),
    ("NetSuite sandbox app", "(tradewire/connectors/netsuite/sandbox"),
    ("Shopify sandbox webhook sender (httpx)", "WebhookSender._post "),
    ("uvicorn HTTP server", "(uvicorn/"),
    ("httpx client (other)", "(httpx/"),
    ("worker loop", "(tradewire/runtime/worker.py"),
    ("SQLAlchemy/psycopg (other)", "(sqlalchemy/"),
]
# Cross-cutting costs, counted wherever they occur (a sample may be in several).
LENSES: list[tuple[str, str]] = [
    ("SQLAlchemy statement compile (cache miss or uncacheable)", "SQLCompiler.__init__ "),
    ("SQLAlchemy cache-key generation", "_generate_cache_key "),
    ("failed `import sniffio` in httpcore (module search)", "_find_and_load "),
    ("pydantic validate/dump", "(pydantic/"),
    ("JSON (orjson/json)", "json"),
    ("OAuth 1.0a signing", "(tradewire/connectors/base/oauth1.py"),
]


def _category(frames: list[str]) -> str:
    for label, needle in CATEGORIES:
        if any(needle in frame for frame in frames):
            return label
    return "event loop, threads, other"


def summarise_raw(path: Path, top: int = 20) -> dict[str, Any]:
    """py-spy ``--format raw`` (collapsed stacks) → samples, top self and top inclusive functions."""
    if not path.exists():
        return {}
    self_counts: Counter[str] = Counter()
    incl_counts: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    lenses: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [short_frame(f) for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        self_counts[frames[-1]] += count
        for name in set(frames):
            incl_counts[name] += count
        categories[_category(frames)] += count
        for label, needle in LENSES:
            if any(needle in f for f in frames):
                lenses[label] += count
    pct = (lambda n: round(100.0 * n / total, 1)) if total else (lambda n: 0.0)
    inclusive = [(name, n) for name, n in incl_counts.most_common() if not name.endswith(GENERIC_FRAMES)]
    return {
        "samples": total,
        "top_self": [(name, pct(n)) for name, n in self_counts.most_common(top)],
        "top_inclusive": [(name, pct(n)) for name, n in inclusive[:top]],
        "categories": [(name, pct(n)) for name, n in categories.most_common()],
        "lenses": [(name, pct(n)) for name, n in lenses.most_common()],
    }


class Bench:
    """Runs one configuration."""

    def __init__(self, args: argparse.Namespace, backend: str, workers: int, workdir: Path) -> None:
        self.args = args
        self.backend = backend
        self.workers = workers
        self.workdir = workdir
        self.secret_key = "bench-" + secrets.token_hex(24)
        self.procs: list[Proc] = []
        self.result = Result(backend=backend, workers=workers, orders=args.orders)
        self._sampling = threading.Event()
        self.store: Any = None
        self.db_name = ""
        self.bench_rss = 0

    def env(self, url: str, port: int | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIRE_")}
        env.update(
            TRADEWIRE_DATABASE__URL=url,
            TRADEWIRE_SECRET_KEY=self.secret_key,
            TRADEWIRE_LOG__LEVEL="WARNING",
            PYTHONPATH=str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", ""),
        )
        if port is not None:
            env.update(TRADEWIRE_API__HOST="127.0.0.1", TRADEWIRE_API__PORT=str(port))
        return env

    def start(self, name: str, mode: str, env: dict[str, str]) -> Proc:
        stats = self.workdir / f"{name}.stats.json"
        if self.args.cli:
            argv = [str(Path(sys.executable).parent / "tradewire"), mode]
            stats_path: Path | None = None
        else:
            argv = [sys.executable, str(HERE), "_child", mode, "--stats", str(stats)]
            stats_path = stats
        proc = Proc(name, argv, env, self.workdir / f"{name}.log", stats_path)
        self.procs.append(proc)
        return proc

    def _sample_loop(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._sampling.is_set():
            for proc in self.procs:
                proc.sample_rss()
            with contextlib.suppress(Exception):
                self.bench_rss = max(self.bench_rss, me.memory_info().rss)
            time.sleep(0.2)

    def run(self) -> Result:
        from tradewire.connectors.base.sandbox import free_port
        from tradewire.runtime.store.factory import open_store
        from tradewire.runtime.store.migrate import migrate
        from tradewire.services.demo_world import DemoKnobs, build_world
        from tradewire.tenancy.secrets import SecretBox

        pg_name: str | None = None
        store = world = None
        sampler = threading.Thread(target=self._sample_loop, name="bench-rss", daemon=True)
        try:
            if self.backend == "sqlite":
                url = f"sqlite:///{self.workdir / 'bench.db'}"
            else:
                url, pg_name = make_pg_database(self.args.pg_url)
                self.db_name = pg_name
            migrate(url)
            store = self.store = open_store(url)
            world = build_world(store, SecretBox(self.secret_key), DemoKnobs.calm(), seed=7)
            port = free_port()
            serve = self.start("serve", "serve", self.env(url, port))
            for index in range(self.workers):
                self.start(f"worker{index}", "worker", self.env(url))
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/healthz")
            sampler.start()
            world.subscribe(base)
            self._e2e(world, self.args.warmup, measure=False)
            self._e2e(world, self.args.orders, measure=True)
            if self.args.ack_seconds > 0:
                hook = base + f"/webhooks/shopify/{world.shopify_connection}"
                self._ack(hook, world.shop.client_secret, alone=False)
                for proc in self.procs:
                    if proc.name.startswith("worker"):
                        proc.sample_rss()
                        self.result.peak_rss_worker_mb = max(
                            self.result.peak_rss_worker_mb, round(proc.peak_rss / 2**20, 1)
                        )
                        proc.stop()
                self._ack(hook, world.shop.client_secret, alone=True)
            serve.sample_rss()
            self.result.peak_rss_serve_mb = round(serve.peak_rss / 2**20, 1)
            workers = [p for p in self.procs if p.name.startswith("worker")]
            worker_rss = max(p.peak_rss for p in workers) / 2**20
            self.result.peak_rss_worker_mb = round(max(self.result.peak_rss_worker_mb, worker_rss), 1)
            self.result.peak_rss_bench_mb = round(self.bench_rss / 2**20, 1)
        except Exception as exc:
            self.result.note = f"failed: {exc.__class__.__name__}: {exc}"
            raise
        finally:
            self._sampling.set()
            for proc in reversed(self.procs):
                with contextlib.suppress(Exception):
                    proc.stop()
            if world is not None:
                with contextlib.suppress(Exception):
                    world.stop()
            if store is not None:
                with contextlib.suppress(Exception):
                    store.close()
            if pg_name is not None:
                with contextlib.suppress(Exception):
                    drop_pg_database(self.args.pg_url, pg_name)
        return self.result

    # --- the end-to-end phase -----------------------------------------------------------------------

    def _e2e(self, world: Any, count: int, *, measure: bool) -> None:
        import psutil

        from tradewire.canonical import canonical_id

        if count <= 0:
            return
        shop, ns = world.shop, world.netsuite
        workers = [p for p in self.procs if p.name.startswith("worker")]
        serve = next(p for p in self.procs if p.name == "serve")
        me = psutil.Process()
        sandbox_threads = {
            "netsuite": world.netsuite_server._thread.native_id,
            "shopify": world.shopify_server._thread.native_id,
        }

        def thread_cpu() -> dict[str, float]:
            by_id = {t.id: t.user_time + t.system_time for t in me.threads()}
            split = {name: by_id.get(tid, 0.0) for name, tid in sandbox_threads.items()}
            times = me.cpu_times()
            split["bench_other"] = times.user + times.system - sum(split.values())
            return split

        before_pg = self._pg_cpu()
        before_cpu = {p.name: p.cpu() for p in self.procs}
        before_counts = {p.name: p.counters() for p in self.procs}
        before_threads = thread_cpu()
        before_machine = psutil.cpu_times()
        before_runs = self._run_count(world)
        profilers = self._start_profilers(workers, serve) if measure and self.args.profile else []

        orders: dict[int, str] = {}
        started = time.time()
        rate = self.args.rate
        chunk = 50
        created = 0
        while created < count:
            n = min(chunk, count - created)
            for order in shop.create_orders(n):
                oid = int(order["id"])
                orders[oid] = canonical_id(world.client_id, "order", f"shopify:{world.shopify_connection}:{oid}")
            created += n
            if rate > 0:
                pause = started + created / rate - time.time()
                if pause > 0:
                    time.sleep(pause)
        wanted = set(orders.values())
        deadline = time.monotonic() + self.args.timeout
        settled = False
        while time.monotonic() < deadline:
            present = {row.external_id for row in ns.sales_orders()} & wanted
            if len(present) == len(wanted) and not shop.sender.busy:
                settled = True
                break
            time.sleep(0.1)
        if not measure:
            if not settled:
                raise RuntimeError("warm-up orders did not reach NetSuite in time")
            return
        finished = time.time()
        time.sleep(0.5)  # let the children's stats files catch up
        profiles = self._stop_profilers(profilers)

        res = self.result
        res.settled = settled
        rows = {row.external_id: row for row in ns.sales_orders() if row.external_id in wanted}
        res.orders_in_erp = len(rows)
        res.duplicates_in_erp = sum(n - 1 for eid, n in ns.duplicates().items() if eid in wanted)
        first_sent: dict[int, float] = {}
        acked: list[float] = []
        for delivery in shop.delivery_log():
            oid = int(delivery["order_id"])
            if delivery["topic"] == "orders/create" and oid in orders and delivery["first_sent_at"] is not None:
                first_sent[oid] = min(first_sent.get(oid, delivery["first_sent_at"]), delivery["first_sent_at"])
                acked.append(delivery["first_sent_at"])
        latencies = [
            (rows[cid].created_at - first_sent[oid]) * 1000
            for oid, cid in orders.items()
            if cid in rows and oid in first_sent
        ]
        res.e2e_p50_ms = round(percentile(latencies, 50), 1)
        res.e2e_p99_ms = round(percentile(latencies, 99), 1)
        res.e2e_max_ms = round(max(latencies, default=0.0), 1)
        if rows and first_sent:
            span = max(r.created_at for r in rows.values()) - min(first_sent.values())
            res.orders_per_s = round(len(rows) / span, 1) if span > 0 else 0.0
            send_span = max(acked) - min(acked)
            res.webhooks_per_s = round(len(acked) / send_span, 1) if send_span > 0 else 0.0
        res.e2e_seconds = round(finished - started, 2)

        n = max(len(rows), 1)
        after_cpu = {p.name: p.cpu() for p in self.procs}
        after_pg = self._pg_cpu()
        if after_pg:
            res.postgres_cpu_ms_per_order = round(
                sum(v - before_pg.get(pid, 0.0) for pid, v in after_pg.items()) * 1000 / n, 2
            )
        after_counts = {p.name: p.counters() for p in self.procs}
        after_threads = thread_cpu()
        after_machine = psutil.cpu_times()
        res.runs_per_order = round((self._run_count(world) - before_runs) / n, 3)
        worker_cpu = sum(after_cpu[p.name] - before_cpu[p.name] for p in workers)
        res.worker_cpu_ms_per_order = round(worker_cpu * 1000 / n, 2)
        res.serve_cpu_ms_per_order = round((after_cpu["serve"] - before_cpu["serve"]) * 1000 / n, 2)
        split = {k: (after_threads[k] - before_threads[k]) * 1000 / n for k in after_threads}
        res.sandbox_cpu_split_ms = {k: round(v, 2) for k, v in split.items()}
        res.sandboxes_cpu_ms_per_order = round(sum(split.values()), 2)
        busy = sum(
            getattr(after_machine, f) - getattr(before_machine, f) for f in ("user", "system", "nice", "irq", "softirq")
        )
        wall = finished - started
        res.machine_cpu_busy_pct = round(100 * busy / (wall * (os.cpu_count() or 1)), 1) if wall > 0 else 0.0

        def delta(names: list[str], key: str) -> float:
            return sum(float(after_counts[m].get(key, 0)) - float(before_counts[m].get(key, 0)) for m in names)

        if not self.args.cli:
            names = [p.name for p in workers]
            res.worker_sql_per_order = round(delta(names, "statements") / n, 2)
            res.worker_commits_per_order = round(delta(names, "commits") / n, 2)
            res.worker_checkouts_per_order = round(delta(names, "checkouts") / n, 2)
            map_cpu = delta(names, "map_cpu")
            res.worker_map_cpu_ms_per_order = round(map_cpu * 1000 / n, 2)
            res.worker_cpu_ms_outside_mapping = round((worker_cpu - map_cpu) * 1000 / n, 2)
            res.serve_sql_per_order = round(delta(["serve"], "statements") / n, 2)
            res.serve_commits_per_order = round(delta(["serve"], "commits") / n, 2)
            kinds: Counter[str] = Counter()
            for name in names:
                for kind, value in after_counts[name].get("kinds", {}).items():
                    kinds[kind] += value - before_counts[name].get("kinds", {}).get(kind, 0)
            res.sql_kinds_per_order = {k: round(v / n, 2) for k, v in kinds.most_common() if v}
        res.profile = profiles

    def _pg_cpu(self) -> dict[int, float]:
        """CPU seconds of the PostgreSQL backends serving this benchmark's database, by PID."""
        import psutil

        if not self.db_name:
            return {}
        found: dict[int, float] = {}
        for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
            cmdline = " ".join(proc.info.get("cmdline") or [])
            if cmdline.startswith("postgres:") and f" {self.db_name} " in cmdline and proc.info["cpu_times"]:
                times = proc.info["cpu_times"]
                found[proc.pid] = times.user + times.system
        return found

    def _run_count(self, world: Any) -> int:
        from tradewire.services.operations import Operations

        assert self.store is not None
        return sum(Operations(self.store, world.client_id, actor="bench").counts().values())

    # --- profiling ----------------------------------------------------------------------------------

    def _start_profilers(self, workers: list[Proc], serve: Proc) -> list[tuple[str, subprocess.Popen[bytes], Path]]:
        pyspy = find_pyspy(self.args.py_spy)
        if pyspy is None:
            self.result.note += " (py-spy not found: no profile)"
            return []
        started = []
        for name, pid in (("worker", workers[0].pid), ("serve", serve.pid), ("bench+sandboxes", os.getpid())):
            out = self.workdir / f"profile-{name.replace('+', '_')}.txt"
            argv = [pyspy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--nonblocking"]
            argv += ["--threads", "--output", str(out)]
            if not self.args.profile_idle:
                argv.append("--gil")  # only the thread holding the GIL: Python CPU, not waits
            log = (self.workdir / f"pyspy-{name.replace('+', '_')}.log").open("wb")
            started.append((name, subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT), out))
        time.sleep(0.5)
        return started

    def _stop_profilers(self, profilers: list[tuple[str, subprocess.Popen[bytes], Path]]) -> dict[str, Any]:
        summary: dict[str, Any] = {}
        for name, popen, out in profilers:
            popen.send_signal(signal.SIGINT)
            try:
                popen.wait(20)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(5)
            summary[name] = summarise_raw(out, self.args.profile_top)
            summary[name]["raw"] = str(out)
        return summary

    # --- the acknowledgement phase ------------------------------------------------------------------

    def _ack(self, url: str, secret: str, *, alone: bool) -> None:
        out = self.workdir / "ack.json"
        argv = [sys.executable, str(HERE), "_child", "ackload", "--url", url, "--secret", secret]
        argv += ["--rate", str(self.args.ack_rate), "--seconds", str(self.args.ack_seconds), "--out", str(out)]
        env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        timeout = self.args.ack_seconds * 4 + 120
        completed = subprocess.run(argv, env=env, capture_output=True, timeout=timeout, check=False)
        if completed.returncode != 0 or not out.exists():
            tail = completed.stderr.decode(errors="replace")[-800:]
            raise RuntimeError(f"ack load generator failed ({completed.returncode}): {tail}")
        data = json.loads(out.read_text())
        res = self.result
        if alone:
            res.ack_alone_p50_ms = round(percentile(data["scheduled_ms"], 50), 2)
            res.ack_alone_p99_ms = round(percentile(data["scheduled_ms"], 99), 2)
            res.ack_alone_achieved_rate = round(data["sent"] / data["elapsed"], 1) if data["elapsed"] else 0.0
            return
        res.ack_rate = self.args.ack_rate
        res.ack_achieved_rate = round(data["sent"] / data["elapsed"], 1) if data["elapsed"] else 0.0
        res.ack_p50_ms = round(percentile(data["scheduled_ms"], 50), 2)
        res.ack_p99_ms = round(percentile(data["scheduled_ms"], 99), 2)
        res.ack_max_ms = round(max(data["scheduled_ms"], default=0.0), 2)
        res.ack_service_p99_ms = round(percentile(data["service_ms"], 99), 2)
        res.ack_errors = data["errors"]
        if data["generator_lag_max_ms"] > 5:
            res.note += f" ack generator lagged up to {data['generator_lag_max_ms']:.0f} ms"


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------

AIMS = {"postgres_orders_per_s": 250.0, "sqlite_orders_per_s": 150.0, "worker_cpu_ms": 3.0, "ack_p99_ms": 20.0}


def print_table(results: list[Result]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="Tradewire end to end: Shopify webhook → serve → worker → NetSuite", show_lines=False)
    rows: list[tuple[str, Any]] = [
        ("orders (in ERP / sent)", lambda r: f"{r.orders_in_erp}/{r.orders}" + ("" if r.settled else " UNSETTLED")),
        ("duplicates in ERP", lambda r: r.duplicates_in_erp),
        ("orders/s webhook→ERP", lambda r: r.orders_per_s),
        ("webhooks delivered/s", lambda r: r.webhooks_per_s),
        ("e2e latency p50 ms", lambda r: r.e2e_p50_ms),
        ("e2e latency p99 ms", lambda r: r.e2e_p99_ms),
        ("ack @ rate req/s (achieved)", lambda r: f"{r.ack_rate:g} ({r.ack_achieved_rate:g})"),
        ("ack (workers busy) p50 ms", lambda r: r.ack_p50_ms),
        ("ack (workers busy) p99 ms", lambda r: r.ack_p99_ms),
        ("ack (workers busy) max ms", lambda r: r.ack_max_ms),
        ("ack errors", lambda r: r.ack_errors or "-"),
        ("ack, workers stopped: achieved", lambda r: r.ack_alone_achieved_rate),
        ("ack, workers stopped: p50 ms", lambda r: r.ack_alone_p50_ms),
        ("ack, workers stopped: p99 ms", lambda r: r.ack_alone_p99_ms),
        ("runs per order", lambda r: r.runs_per_order),
        ("worker CPU ms/order", lambda r: r.worker_cpu_ms_per_order),
        ("  of which map_order", lambda r: r.worker_map_cpu_ms_per_order),
        ("  outside mapping", lambda r: r.worker_cpu_ms_outside_mapping),
        ("serve CPU ms/order", lambda r: r.serve_cpu_ms_per_order),
        ("sandboxes CPU ms/order", lambda r: r.sandboxes_cpu_ms_per_order),
        ("PostgreSQL server CPU ms/order", lambda r: r.postgres_cpu_ms_per_order),
        ("  split", lambda r: ", ".join(f"{k} {v}" for k, v in r.sandbox_cpu_split_ms.items())),
        ("machine CPU busy %", lambda r: r.machine_cpu_busy_pct),
        ("worker SQL stmts/order", lambda r: r.worker_sql_per_order),
        ("worker commits/order", lambda r: r.worker_commits_per_order),
        ("worker pool checkouts/order", lambda r: r.worker_checkouts_per_order),
        ("serve SQL stmts/order", lambda r: r.serve_sql_per_order),
        ("serve commits/order", lambda r: r.serve_commits_per_order),
        ("peak RSS serve MB", lambda r: r.peak_rss_serve_mb),
        ("peak RSS worker MB (max)", lambda r: r.peak_rss_worker_mb),
        ("peak RSS bench+sandboxes MB", lambda r: r.peak_rss_bench_mb),
        ("e2e phase s", lambda r: r.e2e_seconds),
    ]
    table.add_column("figure")
    for r in results:
        table.add_column(f"{r.backend} ×{r.workers}", justify="right")
    for label, get in rows:
        table.add_row(label, *(str(get(r)) for r in results))
    console.print(table)
    for r in results:
        if r.sql_kinds_per_order:
            console.print(
                f"[bold]{r.backend} ×{r.workers}[/bold] worker statements/order by kind: {r.sql_kinds_per_order}"
            )
        if r.note:
            console.print(f"[yellow]{r.backend} ×{r.workers}: {r.note.strip()}[/yellow]")
        for name, prof in r.profile.items():
            if not prof.get("samples"):
                continue
            console.print(f"\n[bold]profile {r.backend} ×{r.workers} — {name}[/bold] ({prof['samples']} samples)")
            console.print("  by component (% of samples):")
            for fn, pct in prof["categories"]:
                console.print(f"    {pct:5.1f}%  {fn}", highlight=False)
            console.print("  cross-cutting (% of samples that include it):")
            for fn, pct in prof["lenses"]:
                console.print(f"    {pct:5.1f}%  {fn}", highlight=False)
            console.print("  top inclusive (% of samples):")
            for fn, pct in prof["top_inclusive"]:
                console.print(f"    {pct:5.1f}%  {fn}", highlight=False)
            console.print("  top self:")
            for fn, pct in prof["top_self"]:
                console.print(f"    {pct:5.1f}%  {fn}", highlight=False)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--workers", default="1,2,4", help="Comma-separated worker process counts.")
    parser.add_argument("--orders", type=int, default=2000, help="Orders in the end-to-end phase.")
    parser.add_argument("--warmup", type=int, default=100, help="Orders sent end to end before measuring.")
    parser.add_argument("--rate", type=float, default=0.0, help="Orders created per second (0: all at once).")
    parser.add_argument("--timeout", type=float, default=180.0, help="Most seconds to wait for the orders to settle.")
    parser.add_argument("--ack-rate", type=float, default=200.0, help="Webhooks/s of the acknowledgement phase.")
    parser.add_argument("--ack-seconds", type=float, default=10.0, help="Length of the ack phase (0: skip it).")
    parser.add_argument("--pg-url", default=os.environ.get("TRADEWIRE_TEST_DATABASE_URL", PG_DEFAULT))
    parser.add_argument("--cli", action="store_true", help="Run the real `tradewire serve|worker` (no SQL counts).")
    parser.add_argument("--profile", action="store_true", help="py-spy one worker, serve and this process.")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument(
        "--profile-idle", action="store_true", help="Sample every running thread, not only the GIL holder."
    )
    parser.add_argument("--py-spy", default=None, help="Path of the py-spy binary.")
    parser.add_argument("--json", action="store_true", help="Also print all figures as JSON (last line).")
    parser.add_argument("--keep", action="store_true", help="Keep the work folder (logs, profiles).")
    args = parser.parse_args(argv)
    args.worker_counts = [int(x) for x in args.workers.split(",") if x.strip()]
    if not args.worker_counts or min(args.worker_counts) < 1 or max(args.worker_counts) > 16:
        parser.error("--workers: 1 to 16 processes")
    if not 1 <= args.orders <= 100_000:
        parser.error("--orders: 1 to 100000")
    return args


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="e2e_orders.py _child")
    parser.add_argument("mode", choices=("serve", "worker", "ackload"))
    parser.add_argument("--stats", type=Path)
    parser.add_argument("--url")
    parser.add_argument("--secret")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.mode == "serve":
        child_serve(args.stats)
    elif args.mode == "worker":
        child_worker(args.stats)
    else:
        child_ackload(args.url, args.secret, args.rate, args.seconds, args.out)


def main(argv: list[str]) -> int:
    if argv[:1] == ["_child"]:
        child_main(argv[1:])
        return 0
    args = parse_args(argv)

    def terminate(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt  # run the clean-up in ``finally`` (children, sandboxes, databases)

    signal.signal(signal.SIGTERM, terminate)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results: list[Result] = []
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    for backend in backends:
        for workers in args.worker_counts:
            workdir = Path(tempfile.mkdtemp(prefix=f"tw-bench-{backend}-{workers}-"))
            bench = Bench(args, backend, workers, workdir)
            try:
                result = bench.run()
            except Exception as exc:
                result = bench.result
                result.note = f"failed: {exc.__class__.__name__}: {exc}"
            finally:
                if args.keep or args.profile:
                    print(f"work folder kept: {workdir}", file=sys.stderr)
                else:
                    shutil.rmtree(workdir, ignore_errors=True)
            results.append(result)
            print(
                f"{backend} ×{workers}: {result.orders_per_s} orders/s, e2e p99 {result.e2e_p99_ms} ms, "
                f"ack p99 {result.ack_p99_ms} ms, worker CPU {result.worker_cpu_ms_per_order} ms/order"
                + (f" [{result.note.strip()}]" if result.note else ""),
                file=sys.stderr,
                flush=True,
            )
    print_table(results)
    if args.json:
        meta = {"started": started, "nproc": os.cpu_count(), "python": sys.version.split()[0], "argv": argv}
        print(json.dumps({"meta": meta, "results": [asdict(r) for r in results]}))
    return 0 if all(r.settled and not r.note.startswith("failed") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
