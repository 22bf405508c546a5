"""Connectors: one folder per external system, each exporting one ``SPEC``."""

from __future__ import annotations

import importlib

from tradewire.connectors.base.spec import ConnectorSpec
from tradewire.errors import NotFound

KNOWN_SYSTEMS = ("shopify", "netsuite", "shipstation", "loop", "http", "amazon", "walmart", "businesscentral")


def get_spec(system: str) -> ConnectorSpec:
    """The ``SPEC`` of ``system``, imported on first use.

    Raises:
        NotFound: when no connector of that name exists.
    """
    if system not in KNOWN_SYSTEMS:
        raise NotFound(f"unknown system {system!r}; known: {', '.join(KNOWN_SYSTEMS)}")
    module = importlib.import_module(f"tradewire.connectors.{system}")
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, ConnectorSpec):
        raise NotFound(f"connector {system!r} exports no SPEC")
    return spec
