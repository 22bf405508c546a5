"""Settings come from TRADEWIRE_ env vars; production refuses placeholder secrets; secrets are sealed."""

from __future__ import annotations

import pytest

from tradewire.errors import ConfigError
from tradewire.settings import Settings
from tradewire.tenancy.secrets import SecretBox


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWIRE_DATABASE__URL", "postgresql://db/x")
    monkeypatch.setenv("TRADEWIRE_WORKER__CONCURRENCY", "64")
    settings = Settings()
    assert settings.database.url == "postgresql://db/x"
    assert settings.worker.concurrency == 64


def test_garbage_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWIRE_WORKER__CONCURRENCY", "lots")
    with pytest.raises(ValueError, match="concurrency"):
        Settings()


def test_production_refuses_the_placeholder_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADEWIRE_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="TRADEWIRE_SECRET_KEY"):
        Settings().check_for_production()
    monkeypatch.setenv("TRADEWIRE_SECRET_KEY", "short")
    with pytest.raises(ConfigError):
        Settings().check_for_production()
    monkeypatch.setenv("TRADEWIRE_SECRET_KEY", "x" * 40)
    Settings().check_for_production()
    monkeypatch.setenv("TRADEWIRE_SECRET_KEY", "short")
    monkeypatch.setenv("TRADEWIRE_DEV_MODE", "true")
    Settings().check_for_production()


def test_secrets_round_trip_and_never_appear_in_the_sealed_bytes() -> None:
    box = SecretBox("k" * 40)
    sealed = box.seal({"token_secret": "hunter2-very-secret"})
    assert b"hunter2" not in sealed
    assert box.open(sealed) == {"token_secret": "hunter2-very-secret"}


def test_a_different_master_key_cannot_open_them() -> None:
    sealed = SecretBox("k" * 40).seal({"a": "b"})
    with pytest.raises(ConfigError, match="TRADEWIRE_SECRET_KEY"):
        SecretBox("j" * 40).open(sealed)
    with pytest.raises(ConfigError):
        SecretBox("k" * 40).open(sealed[:-3] + b"AAA")
