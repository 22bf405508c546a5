"""Migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

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
