"""The connection example of docs/connectors/amazon.md is a valid tenants-file entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tradewire.errors import ConfigError
from tradewire.services.config import parse, resolve_secrets

DOC = Path(__file__).resolve().parents[4] / "docs" / "connectors" / "amazon.md"
ENV = {
    "EVERGREEN_AMZ_LWA_CLIENT_ID": "amzn1.application-oa2-client.x",
    "EVERGREEN_AMZ_LWA_CLIENT_SECRET": "s",
    "EVERGREEN_AMZ_REFRESH_TOKEN": "Atzr|r",
    "EVERGREEN_AMZ_RELAY_SECRET": "relay",
}
NETSUITE = """      - id: evergreen-netsuite
        system: netsuite
        name: Evergreen NetSuite
        settings: {account_id: "1", subsidiary_id: "1"}
        secrets: {consumer_key: "${A}", consumer_secret: "${B}", token_id: "${C}", token_secret: "${D}"}
"""


def tenants_file() -> bytes:
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    head = "version: 1\npartner: {id: p1, name: Partner}\nclients:\n  - id: evergreen\n    name: Evergreen\n    connections:\n"
    return (head + block.group(1) + NETSUITE).encode()


def test_doc_example_parses_and_its_secrets_resolve() -> None:
    parsed = parse(tenants_file())
    [conn] = [c for c in parsed.clients[0].connections if c.system == "amazon"]
    assert set(resolve_secrets(conn, ENV, "here")) == {"client_id", "client_secret", "refresh_token", "relay_secret"}
    with pytest.raises(ConfigError, match="EVERGREEN_AMZ_REFRESH_TOKEN"):
        resolve_secrets(conn, {k: v for k, v in ENV.items() if "REFRESH" not in k}, "here")
