"""One settings tree for every process, read from ``TRADEWIRE_…`` environment variables.

Nested fields use ``__``: ``TRADEWIRE_WORKER__CONCURRENCY=64``. Secrets are ``SecretStr`` and
never printed. ``Settings.check_for_production`` refuses placeholder secrets outside dev mode.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tradewire.errors import ConfigError

DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 - the placeholder start-up refuses


class DatabaseSettings(BaseModel):
    """Where the store lives."""

    url: str = Field(
        default="sqlite:///tradewire.db",
        description="SQLAlchemy URL: sqlite:///path.db (embedded, one host) or postgresql://… (many hosts).",
    )
    pool_size: int = Field(default=10, ge=1, le=200, description="PostgreSQL connection pool size per process.")
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, ge=100, description="How long a SQLite writer waits for the write lock before failing."
    )


class ApiSettings(BaseModel):
    """The HTTP server (`tradewire serve`)."""

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8080, ge=0, le=65535, description="TCP port; 0 picks a free one.")
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="Largest webhook or API body accepted; larger gets 413."
    )
    ingest_batch_window_ms: float = Field(
        default=2.0, ge=0.0, le=50.0, description="Group-commit window: concurrent webhooks share one transaction."
    )
    ingest_batch_max: int = Field(
        default=256, ge=1, description="Largest number of messages in one ingest transaction."
    )
    token: SecretStr | None = Field(
        default=None,
        description="Optional break-glass installation token for /v1; callers normally use API keys (tradewire keys create).",
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="Where vendors reach this deployment (https://tradewire.example.com): the base of the "
        "webhook URLs Tradewire registers itself (Business Central subscriptions). Unset: none are registered.",
    )


class WorkerSettings(BaseModel):
    """How a worker process claims and runs work (`tradewire worker`)."""

    concurrency: int = Field(default=32, ge=1, le=1024, description="Runs kept in flight by one worker process.")
    claim_batch: int = Field(default=32, ge=1, le=1000, description="Largest number of runs claimed in one statement.")
    lease_seconds: float = Field(default=30.0, ge=1.0, description="A run whose lease is older than this is rescued.")
    heartbeat_seconds: float = Field(default=10.0, ge=0.1, description="How often a worker renews its leases.")
    idle_poll_seconds: float = Field(
        default=0.2, ge=0.005, description="How often an idle worker looks for work when no wake-up arrives."
    )
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="Serve this worker's Prometheus metrics on 127.0.0.1:<port>."
    )
    max_rescues: int = Field(
        default=10, ge=1, description="A run whose worker died this many times goes to the dead letters (poison run)."
    )
    budget_wait_inline_seconds: float = Field(
        default=2.0, ge=0.0, description="A run short of rate tokens sleeps this long at most before it is parked."
    )


class RetrySettings(BaseModel):
    """Defaults of the retry policy (flows may override)."""

    base_seconds: float = Field(default=1.0, gt=0, description="First backoff step.")
    cap_seconds: float = Field(default=900.0, gt=0, description="Largest single backoff.")
    window_seconds: float = Field(
        default=72 * 3600.0, gt=0, description="After this long since the first attempt, give up."
    )
    max_attempts: int = Field(default=50, ge=1, description="Give up after this many failed attempts.")


class SchedulerSettings(BaseModel):
    """The scheduler (`tradewire scheduler`)."""

    tick_seconds: float = Field(default=1.0, gt=0, description="How often the leader runs its sweeps.")
    retention_days: int = Field(
        default=30, ge=1, description="Succeeded runs and their messages older than this are purged."
    )
    poll_max_pages: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="Most pages one connection's stream is read per poll (the rest next time).",
    )
    reconcile_seconds: float = Field(
        default=900.0, ge=0, description="How often reconciliation checks run for every client (0: never)."
    )
    reconcile_grace_seconds: float = Field(
        default=1800.0, ge=0, description="How old an order must be before a missing ERP twin is a finding."
    )


class LogSettings(BaseModel):
    """Structured logs."""

    level: str = Field(default="INFO", description="Minimum level: DEBUG, INFO, WARNING, ERROR.")
    json_output: bool = Field(default=True, description="One JSON object per line (false: coloured console lines).")


class Settings(BaseSettings):
    """Everything a Tradewire process needs to know, in one tree."""

    model_config = SettingsConfigDict(env_prefix="TRADEWIRE_", env_nested_delimiter="__", extra="ignore")

    dev_mode: bool = Field(default=False, description="Allows placeholder secrets; never in production.")
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET_KEY),
        description="Master key that encrypts connection credentials at rest (any long random string).",
    )
    previous_secret_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description=(
            "Master keys being retired (comma-separated): they still decrypt credentials and verify the audit "
            "chain, never encrypt. Set the old key here and a new secret_key, run `tradewire secrets rotate-key`, "
            "then remove it."
        ),
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @field_validator("previous_secret_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def secret_keys(self) -> list[str]:
        """The master keys, current first: the current one encrypts and seals, all of them open."""
        return [self.secret_key.get_secret_value(), *(k.get_secret_value() for k in self.previous_secret_keys)]

    def check_for_production(self) -> None:
        """Refuse to start with placeholder secrets unless dev mode is on.

        Raises:
            ConfigError: when the secret key is the shipped placeholder or too short.
        """
        key = self.secret_key.get_secret_value()
        if self.dev_mode:
            return
        if key == DEV_SECRET_KEY or len(key) < 32:
            raise ConfigError(
                "TRADEWIRE_SECRET_KEY is the placeholder or shorter than 32 characters; "
                "set a long random value (or TRADEWIRE_DEV_MODE=true on a laptop)"
            )
