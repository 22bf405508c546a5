"""Schema migrations with Alembic, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from tradewire.runtime.store.postgres import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at Tradewire's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _engine_url(url: str) -> str:
    return normalise_url(url) if url.startswith(("postgresql", "postgres")) else url


def migrate(url: str, revision: str = "head") -> str | None:
    """Upgrade the database at ``url`` to ``revision``; returns the revision now applied."""
    engine = create_engine(_engine_url(url))
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(text("PRAGMA journal_mode=WAL"))
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
        return current_revision(url)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is on (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(_engine_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest revision the code ships (there is exactly one head).

    Raises:
        RuntimeError: the migrations have branched (two heads), which a merge must never leave.
    """
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads ({', '.join(sorted(heads))}); chain them")
    return str(heads[0])
