"""A connection's settings and secrets, parsed by the connector's models, with errors a person can act on."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from tradewire.connectors.base.spec import Connection
from tradewire.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _fields(exc: ValidationError) -> str:
    """Each field in error with pydantic's message (which never quotes the input), e.g. ``token (… 24 characters)``."""
    problems = {
        f"{'.'.join(str(part) for part in error['loc']) or '(the whole mapping)'} ({error['msg']})"
        for error in exc.errors(include_input=False, include_url=False)
    }
    return ", ".join(sorted(problems))


def parse_settings(model: type[M], connection: Connection, vendor: str) -> M:
    """``connection.settings`` as ``model``.

    Raises:
        ConfigError: naming the connection and each field in error (values are never quoted).
    """
    try:
        return model.model_validate(dict(connection.settings))
    except ValidationError as exc:
        raise ConfigError(f"{vendor} connection {connection.id} has invalid settings: {_fields(exc)}") from None


def parse_secrets(model: type[M], connection: Connection, vendor: str) -> M:
    """``connection.secrets`` as ``model``.

    Raises:
        ConfigError: naming the connection and each missing or invalid secret (never its value).
    """
    try:
        return model.model_validate(dict(connection.secrets))
    except ValidationError as exc:
        raise ConfigError(f"{vendor} connection {connection.id} lacks or has invalid secrets: {_fields(exc)}") from None
