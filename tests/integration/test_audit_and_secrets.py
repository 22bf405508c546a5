"""Audit chains per client and master-key rotation, on SQLite and PostgreSQL, through the CLI."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tradewire.cli.main import app
from tradewire.errors import Conflict
from tradewire.governance.audit_chain import AuditSigner
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.port import Store
from tradewire.runtime.store.postgres import normalise_url
from tradewire.services.audit import verify_audit
from tradewire.services.secrets import key_status, rotate_key
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

OLD_KEY = "old-master-key-" + "o" * 32
NEW_KEY = "new-master-key-" + "n" * 32
CANARY = "canary-secret-7f3a9c1e"
T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
runner = CliRunner()


def open_with(url: str, *keys: str) -> Store:
    return open_store(url, audit_signer=AuditSigner(list(keys)))


def seed(store: Store) -> tuple[str, str, str]:
    """Two clients with a connection each (credentials sealed with the old key) and audit entries."""
    partner = store.create_partner("Agency")
    clients = [store.create_client(partner, f"Retailer {uuid.uuid4().hex[:6]}") for _ in range(2)]
    old_box = SecretBox(OLD_KEY)
    conn = ""
    for i, client in enumerate(clients):
        conn = store.create_connection(client, "shopify", "shop", {}, old_box.seal({"access_token": CANARY}))
        with client_scope(client):
            for n in range(3 + i):
                store.append_audit(
                    "alice@agency", "runs.replay", f"run:{n}", {"n": n}, T0 + timedelta(seconds=n), source="10.0.0.7"
                )
    return clients[0], clients[1], conn


def env(url: str, *, previous: str | None = OLD_KEY, current: str = NEW_KEY) -> dict[str, str]:
    values = {
        "TRADEWIRE_DATABASE__URL": url,
        "TRADEWIRE_SECRET_KEY": current,
        "TRADEWIRE_PREVIOUS_SECRET_KEYS": previous or "",
    }
    return values


def test_each_client_has_its_own_numbered_chain_and_reads_only_its_own(db_url: str) -> None:
    store = open_with(db_url, OLD_KEY)
    first, second, _ = seed(store)
    with client_scope(first):
        mine = store.list_audit()
    with client_scope(second):
        theirs = store.list_audit(limit=2)
    assert [e.seq for e in mine] == [3, 2, 1]
    assert {e.client_id for e in mine} == {first}
    assert [e.seq for e in theirs] == [4, 3]
    assert mine[0].source == "10.0.0.7"
    assert verify_audit(store, AuditSigner([OLD_KEY])).intact
    store.close()


def _sql(url: str, statements: str, **params: object) -> None:
    engine = create_engine(normalise_url(url) if url.startswith("postgresql") else url)
    try:
        with engine.begin() as conn:
            for statement in statements.split(";"):
                conn.execute(text(statement), params)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit SET target = 'run:999' WHERE chain = :chain AND seq = 2",
        "DELETE FROM audit WHERE chain = :chain AND seq = 2",
        "DELETE FROM audit WHERE chain = :chain AND seq = 3",
        "UPDATE audit SET seq = 100 WHERE chain = :chain AND seq = 1;"
        "UPDATE audit SET seq = 1 WHERE chain = :chain AND seq = 2;"
        "UPDATE audit SET seq = 2 WHERE chain = :chain AND seq = 100",
    ],
    ids=["modified", "deleted", "tail-deleted", "reordered"],
)
def test_audit_verify_exits_1_and_names_the_entry_when_rows_are_tampered_with(db_url: str, tamper: str) -> None:
    store = open_with(db_url, NEW_KEY)
    first, _, _ = seed(store)
    store.close()
    clean = runner.invoke(app, ["audit", "verify", "--json"], env=env(db_url, previous=None))
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["intact"] is True
    _sql(db_url, tamper, chain=first)
    result = runner.invoke(app, ["audit", "verify", "--json"], env=env(db_url, previous=None))
    assert result.exit_code == 1
    verdict = {c["chain"]: c for c in json.loads(result.stdout)["chains"]}
    assert verdict[first]["intact"] is False
    assert verdict[first]["problems"]
    assert all(c["intact"] for name, c in verdict.items() if name != first)


def test_rotating_the_key_re_encrypts_credentials_and_reseals_the_chains(db_url: str) -> None:
    store = open_with(db_url, OLD_KEY)
    _, _, conn = seed(store)
    store.close()
    before = runner.invoke(app, ["secrets", "status", "--json"], env=env(db_url))
    assert json.loads(before.stdout)["old_keys_can_be_removed"] is False
    rotated = runner.invoke(app, ["secrets", "rotate-key", "--json"], env=env(db_url))
    assert rotated.exit_code == 0, rotated.output
    report = json.loads(rotated.stdout)
    assert report["connections_rotated"] == 2
    assert report["audit_entries_resealed"] == 7
    assert report["old_keys_can_be_removed"] is True
    assert CANARY not in rotated.output
    # The old key is gone now: credentials open and every chain verifies with the new key alone.
    store = open_with(db_url, NEW_KEY)
    assert SecretBox(NEW_KEY).open(store.get_connection(conn).secrets) == {"access_token": CANARY}
    verdict = verify_audit(store, AuditSigner([NEW_KEY]))
    assert verdict.intact
    assert all(c.unverifiable == 0 for c in verdict.chains)
    assert "system" in store.audit_chains()  # the rotation itself is audited
    again = rotate_key(store, SecretBox(NEW_KEY), AuditSigner([NEW_KEY]), actor="ops")
    assert (again.connections_rotated, again.audit_entries_resealed) == (0, 0)
    store.close()


def test_rotation_refuses_unreadable_credentials_and_tampered_chains_and_changes_nothing(db_url: str) -> None:
    store = open_with(db_url, OLD_KEY)
    first, _, _ = seed(store)
    stranger = store.create_connection(
        first, "shopify", "x", {}, SecretBox("some-key-nobody-kept-" + "x" * 20).seal({})
    )
    box, signer = SecretBox(NEW_KEY, [OLD_KEY]), AuditSigner([NEW_KEY, OLD_KEY])
    with pytest.raises(Conflict, match=stranger):
        rotate_key(store, box, signer, actor="ops")
    assert len(key_status(store, box, signer).connections_on_old_key) == 2
    store.close()
    _sql(db_url, "DELETE FROM connections WHERE id = :id", id=stranger)
    _sql(db_url, "UPDATE audit SET actor = 'mallory' WHERE chain = :chain AND seq = 1", chain=first)
    result = runner.invoke(app, ["secrets", "rotate-key"], env=env(db_url))
    assert result.exit_code == 2
    assert "tampering" in result.output
    store = open_with(db_url, NEW_KEY)
    assert len(key_status(store, box, signer).connections_on_old_key) == 2
    store.close()


def test_export_writes_json_lines_a_reader_can_check(db_url: str, tmp_path: object) -> None:
    store = open_with(db_url, NEW_KEY)
    first, _, _ = seed(store)
    store.close()
    target = f"{tmp_path}/audit.jsonl"
    result = runner.invoke(app, ["audit", "export", "--client", first, "--out", target], env=env(db_url))
    assert result.exit_code == 0, result.output
    with open(target, encoding="utf-8") as exported:
        lines = [json.loads(line) for line in exported]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert lines[1]["prev_hash"] == lines[0]["hash"]
    assert {line["actor"] for line in lines} == {"alice@agency"}
    listed = runner.invoke(app, ["audit", "list", "--client", first, "--json"], env=env(db_url))
    assert [e["seq"] for e in json.loads(listed.stdout)] == [3, 2, 1]


def test_previous_keys_from_the_environment_are_comma_separated() -> None:
    from tradewire.settings import Settings

    settings = Settings(secret_key=NEW_KEY, previous_secret_keys=f"{OLD_KEY}, second-old-key")  # type: ignore[arg-type]
    assert settings.secret_keys() == [NEW_KEY, OLD_KEY, "second-old-key"]
