"""Partners, clients, sub-accounts and API keys through the services and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from tradewire.cli.main import app
from tradewire.errors import Conflict, Forbidden, NotFound, Unauthenticated
from tradewire.governance.permissions import Role
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.port import Store
from tradewire.services.access import AccessKeys, authenticate, principal_of
from tradewire.services.tenants import Tenants
from tradewire.tenancy.context import client_scope

runner = CliRunner()


@pytest.fixture
def store(db_url: str) -> Store:  # type: ignore[misc]
    opened = open_store(db_url)
    yield opened
    opened.close()


def tree(store: Store) -> None:
    tenants = Tenants(store, actor="ops")
    tenants.create_partner("Agency", partner_id="agency")
    tenants.create_partner("Other agency", partner_id="other")
    tenants.create_client("Acme", partner_id="agency", client_id="acme")
    tenants.create_client("Acme EU store", parent_id="acme", client_id="acme-eu")
    tenants.create_client("Globex", partner_id="agency", client_id="globex")
    tenants.create_client("Initech", partner_id="other", client_id="initech")


def test_the_tree_is_built_audited_and_guarded(store: Store) -> None:
    tree(store)
    tenants = Tenants(store, actor="ops")
    assert [(c.id, c.parent_id) for c in tenants.tree("agency").clients] == [
        ("acme", None), ("acme-eu", "acme"), ("globex", None),
    ]  # fmt: skip
    with client_scope("acme-eu"):
        [entry] = store.list_audit()
    assert (entry.action, entry.detail["parent"]) == ("client.create", "acme")
    with pytest.raises(Conflict, match="taken"):
        tenants.create_client("Again", partner_id="agency", client_id="acme")
    with pytest.raises(Conflict, match="lower-case"):
        tenants.create_client("Bad", partner_id="agency", client_id="Robert'); DROP TABLE clients;--")
    with pytest.raises(Conflict, match="printable"):
        tenants.create_client("x" * 201, partner_id="agency")
    with pytest.raises(Conflict, match="one of them"):
        tenants.create_client("Both", partner_id="agency", parent_id="acme")
    with pytest.raises(NotFound):
        tenants.create_client("Orphan", parent_id="nope")


def test_a_key_is_shown_once_authenticates_and_dies_when_revoked_or_expired(store: Store) -> None:
    tree(store)
    keys = AccessKeys(store, actor="ops")
    issued = keys.issue(partner_id="agency", role=Role.CLIENT_OPERATOR, name="warehouse bot", client_id="acme")
    now = datetime.now(UTC)
    caller = authenticate(store, issued.secret, now)
    assert (caller.role, caller.client_id, caller.partner_id) == (Role.CLIENT_OPERATOR, "acme", "agency")
    stored = store.get_api_key(issued.record.id)
    assert issued.secret not in repr(stored)
    assert stored.last_used_at is not None
    with pytest.raises(Unauthenticated, match="not valid"):
        authenticate(store, issued.secret[:-2] + "zz", now)
    keys.revoke(issued.record.id)
    with pytest.raises(Unauthenticated, match="not valid"):
        authenticate(store, issued.secret, now)
    with pytest.raises(Conflict, match="already revoked"):
        keys.revoke(issued.record.id)
    short = keys.issue(
        partner_id="agency", role=Role.CLIENT_VIEWER, name="temp", client_id="acme", expires_in=timedelta(minutes=5)
    )
    assert authenticate(store, short.secret, now).role is Role.CLIENT_VIEWER
    with pytest.raises(Unauthenticated):
        authenticate(store, short.secret, now + timedelta(minutes=6))
    with pytest.raises(Unauthenticated, match="required"):
        authenticate(store, None, now)


def test_rotation_keeps_role_and_scope_and_revokes_the_old_key(store: Store) -> None:
    tree(store)
    keys = AccessKeys(store, actor="ops")
    old = keys.issue(partner_id="agency", role=Role.PARTNER_OPERATOR, name="noc")
    new = keys.rotate(old.record.id, expires_in=timedelta(days=90))
    assert (new.record.role, new.record.client_id, new.record.replaces) == ("partner_operator", None, old.record.id)
    now = datetime.now(UTC)
    assert authenticate(store, new.secret, now).id == new.record.id
    with pytest.raises(Unauthenticated):
        authenticate(store, old.secret, now)


def test_a_principal_grants_only_within_its_role_and_scope(store: Store) -> None:
    tree(store)
    root = AccessKeys(store, actor="ops")
    acme_admin = principal_of(
        root.issue(partner_id="agency", role=Role.CLIENT_ADMIN, name="acme it", client_id="acme").record
    )
    as_acme = AccessKeys(store, actor="acme it", caller=acme_admin)
    store_key = as_acme.issue(partner_id="agency", role=Role.CLIENT_VIEWER, name="eu dashboard", client_id="acme-eu")
    assert store_key.record.client_id == "acme-eu"
    with pytest.raises(Forbidden):
        as_acme.issue(partner_id="agency", role=Role.PARTNER_ADMIN, name="escalate")
    with pytest.raises(NotFound):
        as_acme.issue(partner_id="agency", role=Role.CLIENT_VIEWER, name="peek", client_id="globex")
    with pytest.raises(NotFound):
        as_acme.issue(partner_id="other", role=Role.CLIENT_VIEWER, name="peek", client_id="initech")
    globex_key = root.issue(partner_id="agency", role=Role.CLIENT_VIEWER, name="globex", client_id="globex")
    with pytest.raises(NotFound):
        as_acme.revoke(globex_key.record.id)
    assert {k.client_id for k in as_acme.list("agency")} == {"acme", "acme-eu"}
    with pytest.raises(Forbidden):
        Tenants(store, actor="acme it", caller=acme_admin).create_partner("Mine")
    with pytest.raises(NotFound):
        Tenants(store, actor="acme it", caller=acme_admin).tree("other")
    assert [c.id for c in Tenants(store, actor="x", caller=acme_admin).tree("agency").clients] == ["acme", "acme-eu"]


def test_the_cli_prints_the_key_once_and_lists_prefixes_only(db_url: str) -> None:
    env = {"TRADEWIRE_DATABASE__URL": db_url}
    assert runner.invoke(app, ["partners", "create", "Agency", "--id", "agency"], env=env).exit_code == 0
    made = runner.invoke(app, ["clients", "create", "Acme", "--partner", "agency", "--id", "acme", "--json"], env=env)
    assert json.loads(made.stdout)["id"] == "acme"
    sub = runner.invoke(app, ["clients", "create", "Acme EU", "--parent", "acme", "--id", "acme-eu"], env=env)
    assert sub.exit_code == 0, sub.output
    issued = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--partner",
            "agency",
            "--client",
            "acme",
            "--role",
            "client_viewer",
            "--name",
            "bi",
            "--expires-in",
            "90d",
            "--json",
        ],
        env=env,
    )
    key = json.loads(issued.stdout)
    assert key["key"].startswith(key["prefix"] + "_")
    listed = runner.invoke(app, ["keys", "list", "--partner", "agency", "--json"], env=env)
    assert key["key"] not in listed.stdout
    assert "digest" not in listed.stdout
    assert [k["prefix"] for k in json.loads(listed.stdout)] == [key["prefix"]]
    tree_out = runner.invoke(app, ["clients", "list", "--partner", "agency"], env=env)
    assert "Acme EU (acme-eu)" in tree_out.stdout
    bad_role = runner.invoke(app, ["keys", "create", "--partner", "agency", "--role", "root", "--name", "x"], env=env)
    assert bad_role.exit_code == 2
    assert "unknown role" in bad_role.output
    bad_life = runner.invoke(
        app,
        ["keys", "create", "--partner", "agency", "--role", "partner_admin", "--name", "x", "--expires-in", "forever"],
        env=env,
    )
    assert bad_life.exit_code == 2
    assert "--expires-in" in bad_life.output
    revoked = runner.invoke(app, ["keys", "revoke", key["id"], "--json"], env=env)
    assert json.loads(revoked.stdout)["revoked_at"] is not None
