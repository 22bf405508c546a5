"""Settings and secrets of one declarative HTTP connection.

The settings carry the definition inline (``definition: {...}``) or name its file
(``definition_path``); the secrets hold every credential the definition names (``api_key``,
``client_id``/``client_secret``, ``webhook_secret``…), encrypted by the platform.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from tradewire.connectors.base.spec import Connection
from tradewire.connectors.http.definition import Definition
from tradewire.connectors.http.loader import DefinitionError, definition_from_data, load_definition
from tradewire.errors import ConfigError

_CACHE_LIMIT = 64
_cache: dict[tuple[str, int, int] | str, Definition] = {}
_cache_lock = threading.Lock()


class HttpSettings(BaseModel):
    """Non-secret settings of one connection to a declaratively described system."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    definition: dict[str, Any] | None = Field(default=None, description="The definition itself (as parsed YAML).")
    definition_path: str | None = Field(
        default=None, description="Path of the definition YAML on the server (read again when it changes)."
    )
    base_url: str | None = Field(
        default=None, description="Override of the definition's base_url (a client's own tenant URL, a sandbox)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> HttpSettings:
        if (self.definition is None) == (self.definition_path is None):
            raise ValueError("set exactly one of 'definition' (inline) or 'definition_path'")
        try:
            self.load()  # a broken definition is refused when the connection is configured, not at first use
        except DefinitionError as exc:
            raise ValueError(str(exc)) from None
        return self

    def load(self) -> Definition:
        """The validated definition (cached; a changed file is read again).

        Raises:
            DefinitionError: the definition is invalid or unreadable.
        """
        if self.definition_path is not None:
            path = Path(self.definition_path)
            try:
                stat = path.stat()
            except OSError:
                return load_definition(path)  # raises a DefinitionError naming the file
            key: tuple[str, int, int] | str = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
            loader: Callable[[], Definition] = partial(load_definition, path)
        else:
            data = self.definition or {}
            key = json.dumps(data, sort_keys=True, default=str)
            loader = partial(definition_from_data, data, source="settings.definition")
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None:
            return cached
        loaded = loader()
        with _cache_lock:
            if len(_cache) >= _CACHE_LIMIT:
                _cache.clear()
            _cache[key] = loaded
        return loaded

    def effective_base_url(self, definition: Definition) -> str:
        """``base_url`` when set, else the definition's."""
        return (self.base_url or definition.base_url).rstrip("/")


class HttpSecrets(BaseModel):
    """Every credential the definition names, by that name (all stored encrypted, never logged)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    __pydantic_extra__: dict[str, SecretStr] = Field(init=False)

    def get(self, name: str) -> str:
        """The value of the secret ``name``.

        Raises:
            ConfigError: the connection has no such secret (the message names it, never a value).
        """
        extra = self.__pydantic_extra__ or {}
        value = extra.get(name)
        if value is None or not value.get_secret_value():
            raise ConfigError(f"the connection has no secret named {name!r} (the definition uses it)")
        return value.get_secret_value()

    def names(self) -> set[str]:
        """Names of the secrets present."""
        return set(self.__pydantic_extra__ or {})


def connection_parts(connection: Connection) -> tuple[HttpSettings, HttpSecrets, Definition]:
    """Settings, secrets and definition of ``connection``.

    Raises:
        ConfigError: invalid settings or definition.
    """
    try:
        settings = HttpSettings.model_validate(dict(connection.settings))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"http connection {connection.id} has invalid settings: {first['msg']}") from None
    try:
        secrets = HttpSecrets.model_validate(dict(connection.secrets))
    except ValidationError:
        raise ConfigError(f"http connection {connection.id}: every secret must be a string") from None
    return settings, secrets, settings.load()


def require_secrets(connection: Connection, secrets: HttpSecrets, names: set[str]) -> None:
    """Fail early, naming (never showing) the secrets a use of the definition needs and the connection lacks.

    Raises:
        ConfigError: one or more secrets are missing.
    """
    missing = sorted(names - secrets.names())
    if missing:
        raise ConfigError(f"http connection {connection.id} lacks secret(s) {', '.join(missing)} the definition names")
