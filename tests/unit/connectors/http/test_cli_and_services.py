"""``tradewire connectors validate|map`` and the services behind them; ``tradewire map http`` points there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from http_support import EXAMPLE
from typer.testing import CliRunner

from tradewire.cli.main import app
from tradewire.errors import ConfigError, MappingError, NotFound
from tradewire.services.connectors import map_with_definition, validate_definition
from tradewire.services.mapping import map_record

MEMBER = {
    "id": "mbr_1",
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address": {"street": "1 Way", "city": "London", "zip": "N1", "country": "GB"},
    "tier": "gold",
    "tags": [],
    "updated_at": "2026-11-20T08:30:00Z",
}
BROKEN = """\
name: broken
base_url: https://api.example.com
auth: {type: bearer, secret: token}
endpoints:
  list:
    path: /things
    records: "items[?"
"""
runner = CliRunner()


def test_validate_service_reports_problems_with_lines(tmp_path: Path) -> None:
    ok = validate_definition(EXAMPLE)
    assert ok.ok
    assert ok.summary()["secrets"] == ["api_key", "webhook_secret"]
    bad_file = tmp_path / "broken.yaml"
    bad_file.write_text(BROKEN)
    bad = validate_definition(bad_file)
    assert not bad.ok
    assert [(p.path, p.line) for p in bad.problems] == [("endpoints.list.records", 7)]


def test_map_service_maps_one_record_by_the_definition() -> None:
    mapped = map_with_definition(EXAMPLE, "member", json.dumps(MEMBER).encode())
    assert mapped["email"] == "ada@example.com"
    assert mapped["tags"] == ["gold"]
    assert mapped["source"]["external_id"] == "mbr_1"
    with pytest.raises(MappingError, match="not JSON"):
        map_with_definition(EXAMPLE, "member", b"{oops")
    with pytest.raises(MappingError, match="no object 'ghost'"):
        map_with_definition(EXAMPLE, "ghost", b"{}")


def test_tradewire_map_http_points_to_the_connectors_command() -> None:
    with pytest.raises(NotFound, match="tradewire connectors map"):
        map_record("http", "member", json.dumps(MEMBER).encode())


def test_cli_validate_ok_and_json() -> None:
    result = runner.invoke(app, ["connectors", "validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "loyalty-crm" in result.output
    result = runner.invoke(app, ["connectors", "validate", str(EXAMPLE), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["ok"] is True


def test_cli_validate_prints_each_problem_and_exits_1(tmp_path: Path) -> None:
    bad_file = tmp_path / "broken.yaml"
    bad_file.write_text(BROKEN)
    result = runner.invoke(app, ["connectors", "validate", str(bad_file)])
    assert result.exit_code == 1
    assert f"{bad_file}:7: endpoints.list.records" in result.output.replace("\n", "")
    result = runner.invoke(app, ["connectors", "validate", str(bad_file), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["problems"][0]["line"] == 7


def test_cli_map_prints_canonical_json(tmp_path: Path) -> None:
    record = tmp_path / "member.json"
    record.write_text(json.dumps(MEMBER))
    result = runner.invoke(app, ["connectors", "map", str(EXAMPLE), "member", str(record)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["last_name"] == "Lovelace"
    record.write_text(json.dumps(MEMBER | {"email": "nope"}))
    failed = runner.invoke(app, ["connectors", "map", str(EXAMPLE), "member", str(record)])
    assert failed.exit_code == 2
    assert "email" in failed.output


def test_cli_help_everywhere() -> None:
    for args in (["connectors", "--help"], ["connectors", "validate", "--help"], ["connectors", "map", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
        assert "Usage" in result.output


TENANTS = f"""\
version: 1
partner: {{id: p1, name: Partner}}
clients:
  - id: c1
    name: Client
    connections:
      - id: c1-loyalty
        system: http
        name: Loyalty
        settings:
          definition_path: {EXAMPLE}
          budgets: {{api: {{rate: 8, burst: 20}}}}
        secrets:
          api_key: ${{LOYALTY_API_KEY}}
          webhook_secret: ${{LOYALTY_WEBHOOK_SECRET}}
"""


def test_a_tenants_file_accepts_http_connections_with_named_secrets() -> None:
    from tradewire.services.config import parse, resolve_secrets

    parsed = parse(TENANTS.encode())
    conn = parsed.clients[0].connections[0]
    env = {"LOYALTY_API_KEY": "k", "LOYALTY_WEBHOOK_SECRET": "w"}
    assert resolve_secrets(conn, env, "here") == {"api_key": "k", "webhook_secret": "w"}


def test_validate_notes_a_base_url_the_guard_will_refuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "local.yaml"
    local.write_text(BROKEN.replace("https://api.example.com", "http://10.1.2.3:8080").replace('"items[?"', "items"))
    monkeypatch.delenv("TRADEWIRE_EGRESS_ALLOW", raising=False)
    result = validate_definition(local)
    assert result.ok
    assert result.notes == [
        "base_url 10.1.2.3 is a private address: calls are refused unless TRADEWIRE_EGRESS_ALLOW permits it"
    ]
    cli = runner.invoke(app, ["connectors", "validate", str(local)])
    assert cli.exit_code == 0
    assert "TRADEWIRE_EGRESS_ALLOW" in cli.output
    monkeypatch.setenv("TRADEWIRE_EGRESS_ALLOW", "10.1.2.3:8080")
    assert validate_definition(local).notes == []
    assert validate_definition(EXAMPLE).notes == []


def test_a_broken_inline_definition_is_refused_when_the_connection_is_configured() -> None:
    from tradewire.connectors.http.settings import HttpSettings
    from tradewire.services.config import parse

    with pytest.raises(ValueError, match=r"endpoints\.list\.records"):
        HttpSettings.model_validate(
            {
                "definition": {
                    "name": "x",
                    "base_url": "https://a.test",
                    "auth": {"type": "none"},
                    "endpoints": {"list": {"path": "/x", "records": "a[?"}},
                }
            }
        )
    broken = TENANTS.replace(f"definition_path: {EXAMPLE}", "definition_path: /nonexistent.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        parse(broken.encode())


def test_cli_validate_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["connectors", "validate", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 1
    assert "cannot read" in result.output
