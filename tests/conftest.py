"""Shared fixtures: a fresh store per test on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.migrate import migrate
from tradewire.runtime.store.port import Store

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    """The server PostgreSQL tests use (``TRADEWIRE_TEST_DATABASE_URL``)."""
    return os.environ.get("TRADEWIRE_TEST_DATABASE_URL", DEFAULT_PG)


def _postgres_answers() -> str | None:
    try:
        with psycopg.connect(postgres_url(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return None


_PG_PROBLEM: list[str | None] = []


def require_postgres() -> None:
    """Skip (or fail, when ``TRADEWIRE_REQUIRE_POSTGRES=1``) if no PostgreSQL server answers."""
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(_postgres_answers())
    problem = _PG_PROBLEM[0]
    if problem is None:
        return
    message = f"no PostgreSQL server at {postgres_url()} ({problem})"
    if os.environ.get("TRADEWIRE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{message}; TRADEWIRE_REQUIRE_POSTGRES=1 forbids skipping")
    pytest.skip(message)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, migrated schema (dropped afterwards)."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    base = postgres_url()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    migrate(url)
    try:
        yield url
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite file in the test's own folder."""
    url = f"sqlite:///{tmp_path / 'tradewire.db'}"
    migrate(url)
    return url


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store on each backend."""
    if request.param == "memory":
        opened = open_store("memory://")
    elif request.param == "sqlite":
        opened = open_store(request.getfixturevalue("sqlite_url"))
    else:
        opened = open_store(request.getfixturevalue("pg_url"))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database: a SQLite file, or a PostgreSQL schema."""
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url
