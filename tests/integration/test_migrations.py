"""Migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from tradewire.runtime.store.migrate import current_revision, head_revision, migrate
from tradewire.runtime.store.postgres import normalise_url
from tradewire.runtime.store.tables import metadata


def _diff(url: str) -> list[object]:
    engine = create_engine(normalise_url(url) if url.startswith("postgresql") else url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_sqlite_migrations_match_the_tables(sqlite_url: str) -> None:
    assert current_revision(sqlite_url) == head_revision()
    assert _diff(sqlite_url) == []


def test_postgres_migrations_match_the_tables(pg_url: str) -> None:
    assert current_revision(pg_url) == head_revision()
    assert _diff(pg_url) == []


def test_migrate_twice_is_a_no_op(sqlite_url: str) -> None:
    assert migrate(sqlite_url) == head_revision()


def test_migrations_form_one_chain() -> None:
    assert head_revision() >= "0002"


def test_audit_entries_from_before_chains_are_numbered_per_client_and_counted_unverifiable(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import text

    from tradewire.governance.audit_chain import AuditSigner
    from tradewire.runtime.store.factory import open_store
    from tradewire.services.audit import verify_audit
    from tradewire.tenancy.context import client_scope

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0002")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO partners (id, name, created_at) VALUES ('p', 'P', '2026-01-01 00:00:00')"))
        for client in ("a", "b"):
            conn.execute(
                text(
                    "INSERT INTO clients (id, partner_id, name, created_at) VALUES (:c, 'p', :c, '2026-01-01 00:00:00')"
                ),
                {"c": client},
            )
        for n, client in enumerate(["a", "b", "a", None]):
            conn.execute(
                text(
                    "INSERT INTO audit (client_id, actor, action, target, detail, at, prev_hash, hash) "
                    "VALUES (:c, 'cli', 'runs.replay', 'run:1', '{}', '2026-01-01 00:00:00', :p, :h)"
                ),
                {"c": client, "p": str(n) * 64, "h": str(n + 1) * 64},
            )
    engine.dispose()
    assert migrate(url) == head_revision()
    store = open_store(url, audit_signer=AuditSigner(["k" * 40]))
    before = verify_audit(store, AuditSigner(["k" * 40]))
    assert before.intact
    assert {c.chain: (c.entries, c.unverifiable) for c in before.chains} == {
        "a": (2, 2),
        "b": (1, 1),
        "system": (1, 1),
    }
    with client_scope("a"):
        store.append_audit("cli", "config.apply", "client:a", {}, datetime.now(UTC))
        assert [e.seq for e in store.list_audit()] == [3, 2, 1]
    assert verify_audit(store, AuditSigner(["k" * 40])).intact
    store.close()
