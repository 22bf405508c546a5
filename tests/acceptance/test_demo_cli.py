"""The real ``tradewire`` command line, as a user runs it: the demo, ``map``, bad input, ``--help``."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import typer.main
from procs import TRADEWIRE, cli_env, run_cli

from tradewire.cli.main import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
REPORT_KEYS = {
    "orders_sent",
    "orders_in_erp",
    "duplicates_in_erp",
    "dead_letters",
    "orders_per_second",
    "p50_ms",
    "p99_ms",
}


def _last_json_line(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, "the demo printed nothing on stdout"
    report = json.loads(lines[-1])
    assert isinstance(report, dict)
    return report


def _run_demo(tmp_path: Path, seed: int, *extra: str, orders: int = 40) -> dict[str, Any]:
    args = ["demo", "--orders", str(orders), "--exit", "--json", "--seed", str(seed), "--rate", "200", *extra]
    done = run_cli(args, cwd=tmp_path, timeout=240)
    assert done.returncode == 0, f"demo exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "Traceback" not in done.stderr
    report = _last_json_line(done.stdout)
    assert report.keys() >= REPORT_KEYS, f"missing {REPORT_KEYS - report.keys()}"
    assert report["orders_sent"] == orders
    # A cancellation that reaches us before the create was exported leaves nothing in the ERP (no orphan).
    assert report["orders_in_erp"] + report["cancelled_before_export"] == orders
    assert report["cancelled_before_export"] <= report["cancellations_sent"]
    assert report["duplicates_in_erp"] == 0
    assert report["dead_letters"] == 0
    assert report["orders_per_second"] > 0
    assert 0 < report["p50_ms"] <= report["p99_ms"]
    return report


@pytest.mark.slow
def test_demo_on_sqlite_exports_every_order_exactly_once(tmp_path: Path) -> None:
    report = _run_demo(tmp_path, 7)
    assert (tmp_path / "tradewire-demo.db").exists(), "the demo's default database lives in the working folder"
    print(
        f"\ndemo sqlite: {report['orders_per_second']} orders/s, p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms"
    )


@pytest.mark.slow
def test_demo_on_postgres_exports_every_order_exactly_once(tmp_path: Path, pg_url: str) -> None:
    report = _run_demo(tmp_path, 11, "--database-url", pg_url)
    assert report["database"] == pg_url
    assert not (tmp_path / "tradewire-demo.db").exists()
    print(
        f"\ndemo postgres: {report['orders_per_second']} orders/s, p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms"
    )


@pytest.mark.slow
def test_demo_with_every_channel_into_business_central_on_sqlite(tmp_path: Path) -> None:
    report = _run_demo(tmp_path, 5, "--channels", "shopify,amazon,walmart", "--erp", "businesscentral", orders=30)
    assert report["erp"] == "businesscentral"
    assert report["orders_by_channel"] == {"shopify": 10, "amazon": 10, "walmart": 10}


@pytest.mark.slow
def test_demo_with_every_channel_into_netsuite_on_postgres(tmp_path: Path, pg_url: str) -> None:
    report = _run_demo(tmp_path, 13, "--channels", "amazon,walmart,shopify", "--database-url", pg_url, orders=30)
    assert report["channels"] == ["amazon", "walmart", "shopify"]
    assert sum(report["orders_by_channel"].values()) == 30


@pytest.mark.parametrize(
    ("option", "word"),
    [(["--channels", "shopify,ebay"], "ebay"), (["--channels", ","], "empty"), (["--erp", "sap"], "sap")],
)
def test_demo_refuses_unknown_systems_in_one_line(tmp_path: Path, option: list[str], word: str) -> None:
    done = run_cli(["demo", "--orders", "1", "--exit", *option], cwd=tmp_path, timeout=60)
    line = _assert_one_line_error(done)
    assert word in line
    assert not (tmp_path / "tradewire-demo.db").exists(), "nothing is started for a wrong option"


# --- tradewire map ----------------------------------------------------------------------------------


def _fixture_order() -> dict[str, Any]:
    listing = json.loads((FIXTURES / "shopify_rest_orders_list.json").read_text())
    order = listing["response_body"]["orders"][0]
    assert isinstance(order, dict)
    return order


def _assert_one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip("\n").splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{done.stderr}"
    assert lines[0].startswith("error: ")
    assert done.stdout == ""
    return lines[0]


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each bad input file and a word its one-line error must contain."""
    garbage_price = _fixture_order() | {"total_price": "twelve dollars"}
    files = {
        "missing": (tmp_path / "missing.json", None, "cannot read"),
        "not-json": (tmp_path / "not-json.json", "{this is not json", "not JSON"),
        "array": (tmp_path / "array.json", json.dumps([_fixture_order()]), "list"),
        "envelope": (tmp_path / "envelope.json", json.dumps({"orders": [_fixture_order()]}), "envelope"),
        "garbage-price": (tmp_path / "garbage-price.json", json.dumps(garbage_price), "total_price"),
    }
    result = {}
    for name, (path, text, word) in files.items():
        if text is not None:
            path.write_text(text)
        result[name] = (path, word)
    return result


@pytest.mark.parametrize("case", ["missing", "not-json", "array", "envelope", "garbage-price"])
def test_map_rejects_bad_input_with_one_line(tmp_path: Path, case: str) -> None:
    path, word = _bad_inputs(tmp_path)[case]
    line = _assert_one_line_error(run_cli(["map", "shopify", "order", str(path)], cwd=tmp_path))
    assert word in line
    assert path.name in line


def test_map_turns_a_shopify_order_into_canonical_json(tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text(json.dumps(_fixture_order()))
    done = run_cli(["map", "shopify", "order", str(path)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    canonical = json.loads(done.stdout)
    # The docs example has two of its three lines removed after the sale (current_quantity 0):
    # the canonical order is what is still to ship, matching Shopify's current_total_price.
    assert canonical["total"] == "199.65"
    assert canonical["currency"] == "USD"
    assert canonical["number"] == "#1001"
    assert canonical["subtotal"] == "199.00"
    assert canonical["tax_total"] == "3.98"
    assert [line["quantity"] for line in canonical["lines"]] == [0, 1, 0]


def test_map_to_netsuite_builds_a_sales_order_with_external_id(tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text(json.dumps(_fixture_order()))
    canonical = json.loads(run_cli(["map", "shopify", "order", str(path)], cwd=tmp_path).stdout)
    done = run_cli(["map", "shopify", "order", str(path), "--to", "netsuite"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["externalId"] == canonical["id"]
    assert body["item"]["items"], "a sales order has lines"


SHIPSTATION_SHIPMENT = (
    FIXTURES.parents[1] / "unit" / "connectors" / "shipstation" / "data" / "shipment_v1_docs_example.json"
)


def test_map_crosses_systems_the_way_the_flows_will(tmp_path: Path) -> None:
    order = tmp_path / "order.json"
    order.write_text(json.dumps(_fixture_order()))
    canonical = json.loads(run_cli(["map", "shopify", "order", str(order)], cwd=tmp_path).stdout)

    to_bc = run_cli(["map", "shopify", "order", str(order), "--to", "businesscentral"], cwd=tmp_path)
    assert to_bc.returncode == 0, to_bc.stderr
    sales_order = json.loads(to_bc.stdout)
    assert sales_order["externalDocumentNumber"] == canonical["id"].replace("-", "").upper()
    assert [line["quantity"] for line in sales_order["salesOrderLines"]] == [
        line["quantity"]
        for line in canonical["lines"]
        if line["quantity"] > 0  # removed lines are not sent
    ]

    shipment = json.loads(run_cli(["map", "shipstation", "shipment", str(SHIPSTATION_SHIPMENT)], cwd=tmp_path).stdout)
    assert shipment["tracking_number"]
    confirm = run_cli(["map", "shipstation", "shipment", str(SHIPSTATION_SHIPMENT), "--to", "amazon"], cwd=tmp_path)
    assert confirm.returncode == 0, confirm.stderr
    package = json.loads(confirm.stdout)["packageDetail"]
    assert package["trackingNumber"] == shipment["tracking_number"]
    assert sum(item["quantity"] for item in package["orderItems"]) == sum(
        line["quantity"] for line in shipment["lines"]
    )

    refused = run_cli(["map", "shipstation", "shipment", str(SHIPSTATION_SHIPMENT), "--to", "loop"], cwd=tmp_path)
    assert "receives no shipment" in _assert_one_line_error(refused)


def test_runs_list_on_an_unopenable_database_says_so_in_one_line(tmp_path: Path) -> None:
    done = run_cli(["runs", "list", "--database-url", "sqlite:///nonexistent-dir/x.db"], cwd=tmp_path)
    line = _assert_one_line_error(done)
    assert "nonexistent-dir/x.db" in line
    assert not (tmp_path / "nonexistent-dir").exists()


# --- --help -----------------------------------------------------------------------------------------


def _command_paths() -> list[list[str]]:
    """Every command and subcommand of the CLI, e.g. ``["runs", "list"]``."""
    paths: list[list[str]] = [[]]

    def walk(command: Any, prefix: list[str]) -> None:
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_every_command_has_help(tmp_path: Path) -> None:
    paths = _command_paths()
    assert ["demo"] in paths
    assert ["runs", "list"] in paths

    def help_of(path: list[str]) -> str | None:
        done = subprocess.run(
            [str(TRADEWIRE), *path, "--help"], cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0 or "Usage" not in done.stdout or "Traceback" in done.stdout + done.stderr:
            return f"tradewire {' '.join(path)} --help: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return None

    # Four at a time: all at once overloads a 2-core machine and times out for no fault of the CLI.
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [failure for failure in pool.map(help_of, paths) if failure]
    assert not failures, "\n".join(failures)
