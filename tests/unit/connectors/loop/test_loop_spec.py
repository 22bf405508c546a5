"""What the platform sees of Loop: the SPEC, the error hierarchy, and the documented config example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tradewire.connectors import KNOWN_SYSTEMS, get_spec
from tradewire.connectors.loop import SPEC
from tradewire.connectors.loop.client_errors import (
    LoopAuthError,
    LoopError,
    LoopNotFound,
    LoopRateLimited,
    LoopRejected,
    LoopUnavailable,
    LoopUnprocessable,
)
from tradewire.connectors.loop.settings import LoopSecrets, LoopSettings
from tradewire.errors import (
    AuthError,
    ConfigError,
    PermanentError,
    RetryableError,
    VendorAuthError,
    VendorRateLimited,
    VendorRejected,
    VendorRetryable,
)
from tradewire.services import config

DOC = Path(__file__).resolve().parents[4] / "docs" / "connectors" / "loop.md"


def test_loop_is_a_known_system_with_its_capabilities() -> None:
    assert "loop" in KNOWN_SYSTEMS
    assert get_spec("loop") is SPEC
    assert SPEC.webhooks is not None
    assert SPEC.sandbox is not None
    assert set(SPEC.reads) == {"return"}
    assert SPEC.reads["return"].canonical == "return"
    assert [(r.scope, r.rate, r.burst) for r in SPEC.rate_limits] == [("api", 2.0, 10.0)]
    assert [p.name for p in SPEC.pollers] == ["returns"]


@pytest.mark.parametrize(
    ("error", "markers", "not_markers"),
    [
        (LoopAuthError, (LoopError, VendorAuthError, AuthError, PermanentError), (RetryableError,)),
        (LoopRateLimited, (LoopError, VendorRateLimited, VendorRetryable, RetryableError), (PermanentError,)),
        (LoopUnavailable, (LoopError, VendorRetryable, RetryableError), (PermanentError,)),
        (LoopRejected, (LoopError, VendorRejected, PermanentError), (RetryableError, AuthError)),
        (LoopUnprocessable, (LoopRejected, PermanentError), (RetryableError,)),
        (LoopNotFound, (LoopRejected, PermanentError), (RetryableError,)),
    ],
)
def test_error_hierarchy(error: type, markers: tuple[type, ...], not_markers: tuple[type, ...]) -> None:
    assert all(issubclass(error, m) for m in markers)
    assert not any(issubclass(error, m) for m in not_markers)


def test_settings_validate_what_a_person_types() -> None:
    assert LoopSettings().base_url == "https://api.loopreturns.com/api/v1"
    assert LoopSettings(base_url="https://api.loopreturns.com/api/v1/").base_url.endswith("/v1")
    for bad in ({"base_url": "ftp://x"}, {"page_size": 0}, {"max_range_days": 121}, {"poll_states": ["lost"]}):
        with pytest.raises(ValueError):  # pydantic.ValidationError is a ValueError
            LoopSettings.model_validate(bad)
    assert LoopSettings.model_validate({"routes": {"x": "y"}, "budgets": {}}).page_size == 100
    with pytest.raises(ValueError):
        LoopSecrets.model_validate({"api_key": "", "webhook_secret": "s"})


def test_the_documented_yaml_example_passes_config_check() -> None:
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert block is not None
    text = "version: 1\npartner: {id: northwind, name: Northwind}\nclients:\n  - id: evergreen\n    name: Evergreen\n"
    parsed = config.parse((text + block.group(1)).encode())
    (conn,) = parsed.clients[0].connections
    assert conn.system == "loop"
    with pytest.raises(ConfigError, match="page_size"):
        config.parse((text + block.group(1).replace("settings:", "settings:\n          page_size: 9999")).encode())
