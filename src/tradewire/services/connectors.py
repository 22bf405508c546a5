"""Declarative connector definitions (``tradewire connectors``): validate a YAML file, map one record by it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tradewire.connectors.base.payload import load_json_object
from tradewire.connectors.base.ssrf import ALLOW_ENV, DEFAULT_PORTS, AllowList, parse_ip, why_forbidden
from tradewire.connectors.http.definition import Definition
from tradewire.connectors.http.loader import DefinitionError, Problem, load_definition
from tradewire.connectors.http.mapping import to_canonical
from tradewire.errors import MappingError

MAX_RECORD_BYTES = 20 * 1024 * 1024
PREVIEW_CLIENT = "preview-client"
PREVIEW_CONNECTION = "preview-connection"


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one definition file."""

    source: str
    problems: list[Problem] = field(default_factory=list)
    definition: Definition | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the definition loaded without problems."""
        return not self.problems

    def summary(self) -> dict[str, Any]:
        """What the definition declares (names only), for a human check after validation."""
        d = self.definition
        if d is None:
            return {}
        return {
            "name": d.name,
            "base_url": d.base_url,
            "auth": d.auth.type,
            "endpoints": sorted(d.endpoints),
            "objects": {name: spec.canonical for name, spec in sorted(d.objects.items())},
            "pollers": [p.name for p in d.pollers],
            "webhooks": d.webhooks is not None,
            "secrets": sorted(d.secret_names()),
        }

    def to_json(self) -> dict[str, Any]:
        """JSON for ``--json``."""
        return {
            "source": self.source,
            "ok": self.ok,
            "problems": [p.to_json() for p in self.problems],
            "notes": self.notes,
            "definition": self.summary(),
        }


def validate_definition(path: str | Path) -> Validation:
    """Load the definition at ``path`` and report every problem (with YAML path and line) instead of raising."""
    try:
        definition = load_definition(path)
    except DefinitionError as exc:
        return Validation(str(path), list(exc.problems))
    return Validation(str(path), [], definition, _egress_notes(definition))


def _egress_notes(definition: Definition) -> list[str]:
    """What the SSRF guard will say about the base URL, checked without DNS (literal addresses only)."""
    url = httpx.URL(definition.base_url)
    address = parse_ip(url.host)
    if address is None:
        return []
    reason = why_forbidden(address)
    port = url.port or DEFAULT_PORTS[url.scheme]
    allow = AllowList.from_environment()
    if reason is None or allow.permits_endpoint(url.host, port) or allow.permits_address(address, port):
        return []
    return [f"base_url {url.host} is {reason}: calls are refused unless {ALLOW_ENV} permits it"]


def map_with_definition(path: str | Path, object_name: str, raw: bytes) -> dict[str, Any]:
    """Canonical JSON of one record of ``object_name`` by the definition at ``path``.

    Raises:
        DefinitionError: the definition is invalid.
        MappingError: the record is not one JSON object the mapping accepts (the reason says why).
    """
    definition = load_definition(path)
    if len(raw) > MAX_RECORD_BYTES:
        raise MappingError(f"the record is larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB; give one record")
    record = load_json_object(raw)
    model = to_canonical(definition, object_name, record, client_id=PREVIEW_CLIENT, connection_id=PREVIEW_CONNECTION)
    return model.model_dump(mode="json")
