"""SQLAlchemy Core tables. Every tenant row carries its ``client_id``.

Alembic migrations (``migrations/versions``) create exactly this; a test compares them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import DateTime, TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps with microseconds on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text, which sorts correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # pragma: no cover - SQLAlchemy parses SQLite text for us
            value = datetime.fromisoformat(value)
        result: datetime = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return result


ID = String(64)
ACTIVE = "state IN ('queued', 'running', 'waiting', 'retry_scheduled')"
CLAIMABLE = "state IN ('queued', 'retry_scheduled', 'waiting')"

partners = Table(
    "partners",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

clients = Table(
    "clients",
    metadata,
    Column("id", ID, primary_key=True),
    Column("partner_id", ID, ForeignKey("partners.id"), nullable=False, index=True),
    Column("parent_id", ID, ForeignKey("clients.id"), index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

connections = Table(
    "connections",
    metadata,
    Column("id", ID, primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False, index=True),
    Column("system", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("secrets", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("paused_reason", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("connection_id", ID),
    Column("source", String(120), nullable=False),
    Column("topic", String(120), nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("client_id", "source", "idempotency_key"),
    Index("ix_messages_client_id_received_at", "client_id", "received_at"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("connection_id", ID),
    Column("flow", String(80), nullable=False),
    Column("flow_version", Integer, nullable=False),
    Column("dedupe_key", String(255), nullable=False),
    Column("message_id", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("messages.id")),
    Column("input", JSON),
    Column("state", String(20), nullable=False),
    Column("ordering_key", String(255)),
    Column("ordering_seq", BigInteger, nullable=False, server_default="0"),
    Column("priority", SmallInteger, nullable=False, server_default="0"),
    Column("attempt", Integer, nullable=False, server_default="0"),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("rescues", Integer, nullable=False, server_default="0"),
    Column("next_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(80)),
    Column("lease_until", UtcDateTime),
    Column("wait_for", BigInteger().with_variant(Integer, "sqlite")),
    Column("start_step", String(80)),
    Column("last_error", Text),
    Column("error_type", String(120)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("retry_since", UtcDateTime),
    UniqueConstraint("client_id", "flow", "dedupe_key"),
    Index("ix_runs_due", "next_at", postgresql_where=text(CLAIMABLE), sqlite_where=text(CLAIMABLE)),
    Index(
        "ix_runs_ordering",
        "ordering_key",
        "ordering_seq",
        "id",
        postgresql_where=text(ACTIVE),
        sqlite_where=text(ACTIVE),
    ),
    Index(
        "ix_runs_lease",
        "lease_until",
        postgresql_where=text("state = 'running'"),
        sqlite_where=text("state = 'running'"),
    ),
    Index(
        "ix_runs_wait_for",
        "wait_for",
        postgresql_where=text("wait_for IS NOT NULL"),
        sqlite_where=text("wait_for IS NOT NULL"),
    ),
    Index("ix_runs_client_id_state_id", "client_id", "state", "id"),
    Index("ix_runs_message_id", "message_id"),
)

steps = Table(
    "steps",
    metadata,
    Column(
        "run_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("runs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(80), nullable=False),
    Column("client_id", ID, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("output", JSON),
    Column("error", Text),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Column("calls", JSON),  # operations: vendor HTTP calls of the step (migration 0006)
    PrimaryKeyConstraint("run_id", "name"),
)

bindings = Table(
    "bindings",
    metadata,
    Column("client_id", ID, nullable=False),
    Column("connection_id", ID, ForeignKey("connections.id"), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("canonical_id", String(64), nullable=False),
    Column("run_id", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("connection_id", "object_type", "external_id"),
    UniqueConstraint("connection_id", "object_type", "canonical_id"),
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("client_id", ID, nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("canonical_id", String(64), nullable=False),
    Column("event", String(80), nullable=False),
    Column("system", String(40)),
    Column("connection_id", ID),
    Column("external_id", String(255)),
    Column("run_id", BigInteger),
    Column("detail", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_timeline_object", "client_id", "object_type", "canonical_id", "id"),
)

rate_budgets = Table(
    "rate_budgets",
    metadata,
    Column("connection_id", ID, nullable=False),
    Column("scope", String(80), nullable=False),
    Column("client_id", ID, nullable=False),
    Column("tokens", Float, nullable=False),
    Column("capacity", Float, nullable=False),
    Column("refill_per_second", Float, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("connection_id", "scope"),
)

cursors = Table(
    "cursors",
    metadata,
    Column("connection_id", ID, nullable=False),
    Column("name", String(80), nullable=False),
    Column("client_id", ID, nullable=False),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("connection_id", "name"),
)

audit = Table(
    "audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("client_id", ID),
    Column("chain", String(64), nullable=False, server_default="system"),
    Column("seq", BigInteger, nullable=False, server_default="0"),
    Column("actor", String(200), nullable=False),
    Column("action", String(80), nullable=False),
    Column("target", String(255), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("source", String(200)),
    Column("key_id", String(16), nullable=False, server_default="legacy"),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    UniqueConstraint("chain", "seq"),
)

audit_heads = Table(
    "audit_heads",
    metadata,
    Column("chain", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

leader_leases = Table(
    "leader_leases",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("owner", String(120), nullable=False),
    Column("until", UtcDateTime, nullable=False),
)

exceptions = Table(
    "exceptions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("kind", String(80), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("canonical_id", String(255), nullable=False),
    Column("state", String(20), nullable=False),
    Column("message", Text, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("occurrences", Integer, nullable=False, server_default="1"),
    Column("run_id", BigInteger),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", String(200)),
    Column("resolution", Text),
    UniqueConstraint("client_id", "key"),
    Index("ix_exceptions_client_id_state_id", "client_id", "state", "id"),
    Index("ix_exceptions_client_id_object_type_canonical_id", "client_id", "object_type", "canonical_id"),
)

stock_movements = Table(
    "stock_movements",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("sku", String(120), nullable=False),
    Column("location", String(120)),
    Column("quantity", Integer, nullable=False),
    Column("reference", String(255)),
    Column("run_id", BigInteger),
    Column("at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("client_id", "key"),
    Index("ix_stock_movements_client_id_sku_id", "client_id", "sku", "id"),
)

objects = Table(
    "objects",
    metadata,
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("canonical_id", String(255), nullable=False),
    Column("label", String(255)),
    Column("version", String(64), nullable=False),
    Column("body", JSON, nullable=False),
    Column("run_id", BigInteger),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "object_type", "canonical_id"),
    Index("ix_objects_client_id_object_type_label", "client_id", "object_type", "label"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("prefix", String(24), nullable=False, unique=True),
    Column("digest", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("partner_id", ID, ForeignKey("partners.id"), nullable=False, index=True),
    Column("client_id", ID, ForeignKey("clients.id"), index=True),
    Column("role", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
    Column("replaces", ID),
)

# --- returns ---

rmas = Table(
    "rmas",
    metadata,
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("id", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("state", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("run_id", BigInteger),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "id"),
    Index("ix_rmas_client_id_order_id", "client_id", "order_id"),
    Index("ix_rmas_client_id_state_updated_at", "client_id", "state", "updated_at"),
)

# --- operations ---

order_holds = Table(
    "order_holds",
    metadata,
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("order_number", String(64), nullable=False),
    Column("connection_id", ID),
    Column("state", String(16), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("run_id", BigInteger),
    Column("held_by", String(200), nullable=False),
    Column("held_at", UtcDateTime, nullable=False),
    Column("release_at", UtcDateTime),
    Column("released_at", UtcDateTime),
    Column("released_by", String(200)),
    Column("release_reason", Text),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "order_id"),
    Index("ix_order_holds_client_id_state_held_at", "client_id", "state", "held_at"),
)

# --- inventory ---

stock_positions = Table(
    "stock_positions",
    metadata,
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("sku", String(120), nullable=False),
    Column("location", String(120), nullable=False),  # "" is the default location
    Column("on_hand", Integer, nullable=False, server_default="0"),
    Column("on_hand_as_of", UtcDateTime),
    Column("adjust", Integer, nullable=False, server_default="0"),
    Column("committed", Integer, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "sku", "location"),
)

inventory_orders = Table(
    "inventory_orders",
    metadata,
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("order_id", String(255), nullable=False),
    Column("connection_id", ID),
    Column("version", String(64), nullable=False),
    Column("lines", JSON, nullable=False),  # SKU → units ordered (as of ``version``)
    Column("shipped", JSON, nullable=False),  # SKU → units shipped (from SHIP movements)
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "order_id"),
)

inventory_dirty = Table(
    "inventory_dirty",
    metadata,
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("sku", String(120), nullable=False),
    Column("seq", Integer, nullable=False, server_default="1"),
    Column("changed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "sku"),
)

inventory_listings = Table(
    "inventory_listings",
    metadata,
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("sku", String(120), nullable=False),
    Column("connection_id", ID, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("sold_at_publish", Integer, nullable=False, server_default="0"),
    Column("policy_version", Integer, nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "sku", "connection_id"),
)

stock_channel_positions = Table(
    "stock_channel_positions",
    metadata,
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("sku", String(120), nullable=False),
    Column("connection_id", ID, nullable=False),
    Column("open", Integer, nullable=False, server_default="0"),  # units of its orders not yet shipped
    Column("sold", Integer, nullable=False, server_default="0"),  # units ever committed by its orders
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "sku", "connection_id"),
)

inventory_publications = Table(
    "inventory_publications",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("sku", String(120), nullable=False),
    Column("connection_id", ID, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("error", Text),
    Column("changed_at", UtcDateTime),
    Column("published_at", UtcDateTime, nullable=False),
    Index("ix_inventory_publications_client_id_sku_id", "client_id", "sku", "id"),
)

inventory_policies = Table(
    "inventory_policies",
    metadata,
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "version"),
)
