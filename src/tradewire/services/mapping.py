"""Map one record by hand (``tradewire map``): canonical JSON, or a target's request payload."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from tradewire.canonical import CANONICAL_MODELS
from tradewire.connectors import KNOWN_SYSTEMS, get_spec
from tradewire.connectors.base.payload import load_json_object
from tradewire.errors import MappingError, NotFound

MAX_RECORD_BYTES = 20 * 1024 * 1024
PREVIEW_CLIENT = "preview-client"
PREVIEW_CONNECTION = "preview-connection"
CANONICAL = "canonical"


def map_record(system: str, object_type: str, raw: bytes, *, to: str | None = None) -> dict[str, Any]:
    """Canonical JSON of one record, or with ``to`` that system's request body.

    ``system`` may be ``canonical`` to start from canonical JSON (e.g. to preview an outbound body).

    Raises:
        NotFound: unknown system, or the system cannot map that object.
        MappingError: the file is not one JSON record the mapping accepts (the reason says why).
    """
    if len(raw) > MAX_RECORD_BYTES:
        raise MappingError(f"the file is larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB; give one record")
    payload = load_json_object(raw)
    canonical_name, model = _read(system, object_type, payload)
    if to is None:
        return model.model_dump(mode="json")
    target = get_spec(to)
    writes = target.writes.get(canonical_name)
    if writes is None:
        offered = ", ".join(sorted(target.writes)) or "nothing"
        raise NotFound(f"{target.display_name} receives no {canonical_name}; it receives: {offered}")
    return writes.to_vendor(model)


def mappable() -> dict[str, dict[str, list[str]]]:
    """For each system: the records it reads (``map SYSTEM OBJECT``) and the objects it writes (``--to``)."""
    table: dict[str, dict[str, list[str]]] = {}
    for system in KNOWN_SYSTEMS:
        spec = get_spec(system)
        table[system] = {"reads": sorted(spec.reads), "writes": sorted(spec.writes)}
    return table


def _read(system: str, object_type: str, payload: dict[str, Any]) -> tuple[str, BaseModel]:
    if system == CANONICAL:
        model_type = CANONICAL_MODELS.get(object_type)
        if model_type is None:
            raise NotFound(f"no canonical {object_type!r}; known: {', '.join(sorted(CANONICAL_MODELS))}")
        try:
            return object_type, model_type.model_validate(payload)
        except ValidationError as exc:
            raise MappingError(f"not a canonical {object_type}: {_first_error(exc)}") from None
    spec = get_spec(system)
    reads = spec.reads.get(object_type)
    if reads is None and not spec.reads and "declarative" in spec.capabilities:
        raise NotFound(
            f"{spec.display_name} maps records by a definition: "
            f"use 'tradewire connectors map DEFINITION.yaml {object_type} FILE'"
        )
    if reads is None:
        offered = ", ".join(sorted(spec.reads)) or "nothing"
        raise NotFound(f"no mapping for {system} {object_type!r}; {spec.display_name} records: {offered}")
    if len(payload) == 1 and isinstance(next(iter(payload.values())), (dict, list)) and "id" not in payload:
        key = next(iter(payload))
        raise MappingError(f"this looks like an envelope {{{key!r}: …}}; give the record inside it")
    model = reads.to_canonical(payload, client_id=PREVIEW_CLIENT, connection_id=PREVIEW_CONNECTION)
    return reads.canonical, model


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "record"
    return f"{where}: {error['msg']} ({exc.error_count()} problem(s) in all)"
