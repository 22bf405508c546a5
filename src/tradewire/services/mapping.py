"""Map one vendor record by hand (``tradewire map``): canonical JSON, or a target's request payload."""

from __future__ import annotations

from typing import Any

from tradewire.connectors import get_spec
from tradewire.connectors.base.payload import load_json_object
from tradewire.errors import MappingError, NotFound

MAX_RECORD_BYTES = 20 * 1024 * 1024
PREVIEW_CLIENT = "preview-client"
PREVIEW_CONNECTION = "preview-connection"


def map_record(system: str, object_type: str, raw: bytes, *, to: str | None = None) -> dict[str, Any]:
    """Canonical JSON of one record, or with ``to`` that system's request body.

    Raises:
        NotFound: unknown system, or the system cannot map that object.
        MappingError: the file is not one JSON record the mapping accepts (the reason says why).
    """
    if len(raw) > MAX_RECORD_BYTES:
        raise MappingError(f"the file is larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB; give one record")
    if object_type != "order":
        raise NotFound(f"no mapping for {system} {object_type!r}; supported objects: order")
    spec = get_spec(system)
    if spec.order_source is None:
        raise NotFound(f"{spec.display_name} is not a source of orders")
    payload = load_json_object(raw)
    if len(payload) == 1 and isinstance(next(iter(payload.values())), (dict, list)) and "id" not in payload:
        key = next(iter(payload))
        raise MappingError(f"this looks like an envelope {{{key!r}: …}}; give the record inside it")
    order = spec.order_source.to_order(payload, client_id=PREVIEW_CLIENT, connection_id=PREVIEW_CONNECTION)
    if to is None:
        result: dict[str, Any] = order.model_dump(mode="json")
        return result
    target = get_spec(to)
    if target.order_payload is None:
        raise NotFound(f"{target.display_name} does not receive orders")
    return target.order_payload(order)
