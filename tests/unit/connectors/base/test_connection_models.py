"""A connection's settings and secrets parsed by a connector's models: errors name fields, never values."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, SecretStr

from tradewire.connectors.base.connection import parse_secrets, parse_settings
from tradewire.connectors.base.spec import Connection
from tradewire.errors import ConfigError


class Settings(BaseModel):
    shop_domain: str
    page_size: int = 50


class Secrets(BaseModel):
    api_key: SecretStr
    webhook_secret: SecretStr


def connection(settings: dict[str, object], secrets: dict[str, str]) -> Connection:
    return Connection(id="conn-1", client_id="c", system="x", settings=settings, secrets=secrets)


def test_valid_settings_and_secrets_parse() -> None:
    conn = connection({"shop_domain": "a.example"}, {"api_key": "k", "webhook_secret": "s"})
    assert parse_settings(Settings, conn, "Vendor").page_size == 50
    assert parse_secrets(Secrets, conn, "Vendor").api_key.get_secret_value() == "k"


def test_errors_name_the_connection_and_fields_but_never_a_secret_value() -> None:
    conn = connection({"page_size": "lots"}, {"api_key": "sk_live_SUPERSECRET"})
    with pytest.raises(ConfigError) as settings_error:
        parse_settings(Settings, conn, "Vendor")
    message = str(settings_error.value)
    assert message.startswith("Vendor connection conn-1 has invalid settings: page_size (")
    assert "shop_domain (Field required)" in message
    with pytest.raises(ConfigError) as secrets_error:
        parse_secrets(Secrets, conn, "Vendor")
    assert "webhook_secret" in str(secrets_error.value)
    assert "SUPERSECRET" not in str(secrets_error.value)
