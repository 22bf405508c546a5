"""Prometheus metrics, served at ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

WEBHOOKS = Counter(
    "tradewire_webhooks_total", "Inbound webhook deliveries by system and outcome", ["system", "outcome"]
)
INGEST_BATCH = Histogram(
    "tradewire_ingest_batch_size",
    "Messages per ingest transaction (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
RUNS_CLAIMED = Counter("tradewire_runs_claimed_total", "Runs claimed by this process")
RUNS_FINISHED = Counter(
    "tradewire_runs_finished_total", "Run executions by flow and resulting state", ["flow", "state"]
)
RUN_SECONDS = Histogram("tradewire_run_seconds", "Wall time of one run execution", ["flow"])
RUNS_RESCUED = Counter("tradewire_runs_rescued_total", "Runs re-queued after their lease expired")
LEASES_LOST = Counter("tradewire_leases_lost_total", "Finished runs discarded because another worker rescued them")
COMMIT_BATCH = Histogram(
    "tradewire_commit_batch_size",
    "Run transitions per worker commit (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
POLLS = Counter(
    "tradewire_polls_total", "Polls of a connection's stream by system and outcome (ok, retryable, failed, paused)",
    ["system", "outcome"],
)  # fmt: skip
CONNECTIONS_PAUSED = Counter(
    "tradewire_connections_paused_total", "Connections paused because the vendor refused their credentials", ["system"]
)
