"""Tenants from YAML: bad files are refused with where and why; applying is idempotent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tradewire.errors import ConfigError, Conflict
from tradewire.runtime.store.port import Store
from tradewire.services import config
from tradewire.tenancy.connections import resolve
from tradewire.tenancy.secrets import SecretBox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tenants.yaml"
BOX = SecretBox("m" * 40)
ENV = {
    "EVERGREEN_SHOPIFY_CLIENT_SECRET": "shh",
    "EVERGREEN_SHOPIFY_ACCESS_TOKEN": "shpat_x",
    "EVERGREEN_NS_CONSUMER_KEY": "ck",
    "EVERGREEN_NS_CONSUMER_SECRET": "cs",
    "EVERGREEN_NS_TOKEN_ID": "ti",
    "EVERGREEN_NS_TOKEN_SECRET": "ts",
}


def example() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(EXAMPLE.read_bytes())


def dump(data: object) -> bytes:
    return yaml.safe_dump(data).encode()


def test_the_example_applies_and_reapplying_changes_nothing(store: Store) -> None:
    parsed = config.parse(EXAMPLE.read_bytes())
    first = config.apply(store, BOX, parsed, env=ENV)
    assert sorted(first.created) == ["evergreen-netsuite", "evergreen-shopify"]
    again = config.apply(store, BOX, parsed, env=ENV)
    assert again.created == []
    assert sorted(again.updated) == ["evergreen-netsuite", "evergreen-shopify"]
    assert store.list_clients() == [("evergreen", "Evergreen Outfitters")]
    shop = resolve(store.get_connection("evergreen-shopify"), BOX)
    assert shop.route("erp") == "evergreen-netsuite"
    assert shop.connection.secrets == {"client_secret": "shh", "access_token": "shpat_x"}
    assert b"shh" not in store.get_connection("evergreen-shopify").secrets


def test_an_edit_updates_settings_and_secrets_in_place(store: Store) -> None:
    config.apply(store, BOX, config.parse(EXAMPLE.read_bytes()), env=ENV)
    data = example()
    data["clients"][0]["connections"][1]["settings"]["max_concurrency"] = 9
    plan = config.apply(store, BOX, config.parse(dump(data)), env=ENV | {"EVERGREEN_NS_TOKEN_SECRET": "rotated"})
    assert "evergreen-netsuite" in plan.updated
    ns = resolve(store.get_connection("evergreen-netsuite"), BOX)
    assert ns.connection.settings["max_concurrency"] == 9
    assert ns.connection.secrets["token_secret"] == "rotated"


def test_a_missing_secret_writes_nothing(store: Store) -> None:
    env = {k: v for k, v in ENV.items() if k != "EVERGREEN_NS_TOKEN_ID"}
    with pytest.raises(ConfigError, match="EVERGREEN_NS_TOKEN_ID"):
        config.apply(store, BOX, config.parse(EXAMPLE.read_bytes()), env=env)
    assert store.list_clients() == []


def test_dry_run_writes_nothing(store: Store) -> None:
    plan = config.apply(store, BOX, config.parse(EXAMPLE.read_bytes()), env=ENV, dry_run=True)
    assert sorted(plan.created) == ["evergreen-netsuite", "evergreen-shopify"]
    assert store.list_clients() == []


def test_ids_cannot_move_between_clients(store: Store) -> None:
    config.apply(store, BOX, config.parse(EXAMPLE.read_bytes()), env=ENV)
    data = example()
    data["clients"][0]["id"] = "other-client"
    with pytest.raises(Conflict, match="cannot move"):
        config.apply(store, BOX, config.parse(dump(data)), env=ENV)


def _broken(path: list[object], value: object) -> bytes:
    data = example()
    target = data
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    if value is KeyError:
        del target[path[-1]]  # type: ignore[arg-type]
    else:
        target[path[-1]] = value  # type: ignore[index]
    return dump(data)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"partner: [unclosed", "not valid YAML"),
        (b"- a\n- b\n", "YAML mapping"),
        (b"x" * (1024 * 1024 + 1), "larger than"),
        (_broken(["partner", "id"], "Bad Id!"), "partner.id"),
        (_broken(["surprise"], 1), "surprise"),
        (_broken(["clients", 0, "connections", 0, "system"], "magento"), "unknown system 'magento'"),
        (_broken(["clients", 0, "connections", 1, "settings", "account_id"], "has spaces"), "account_id"),
        (_broken(["clients", 0, "connections", 1, "settings", "account_id"], KeyError), "account_id"),
        (
            _broken(["clients", 0, "connections", 0, "settings", "routes", "erp"], "nowhere"),
            "'nowhere' is not a connection",
        ),
        (
            _broken(["clients", 0, "connections", 0, "secrets", "client_secret"], "literal-secret"),
            "not the secret itself",
        ),
        (_broken(["clients", 0, "connections", 0, "secrets", "password"], "${X}"), "password"),
        (_broken(["clients", 0, "connections", 1, "id"], "evergreen-shopify"), "twice"),
    ],
)
def test_bad_files_say_where_and_why(raw: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.parse(raw)


def test_cli_refuses_a_bad_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "tenants.yaml"
    bad.write_bytes(_broken(["clients", 0, "connections", 0, "system"], "magento"))
    result = subprocess.run(
        [sys.executable, "-m", "tradewire", "config", "check", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "magento" in result.stderr
    assert "Traceback" not in result.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "tradewire", "config", "check", str(EXAMPLE), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0
    assert '"connections": 2' in ok.stdout


def test_applying_is_audited_per_client_without_any_secret_value(store: Store) -> None:
    from tradewire.tenancy.context import client_scope

    parsed = config.parse(EXAMPLE.read_bytes())
    config.apply(store, BOX, parsed, env=ENV, actor="ops@agency")
    config.apply(store, BOX, parsed, env=ENV, actor="ops@agency")
    for client in parsed.clients:
        with client_scope(client.id):
            entries = store.list_audit()
        assert [(e.action, e.actor) for e in entries] == [("config.apply", "ops@agency")] * 2
        assert entries[1].detail["created"] == [c.id for c in client.connections]
        assert entries[0].detail["updated"] == [c.id for c in client.connections]
        flat = repr([e.detail for e in entries])
        assert not any(value in flat for value in ENV.values() if len(value) > 2)
