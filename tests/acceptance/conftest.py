"""Fixtures of the acceptance tests (helpers live in ``procs.py`` beside this file)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from procs import Children


@pytest.fixture
def children() -> Iterator[Children]:
    """Subprocesses started by the test, always stopped afterwards."""
    group = Children()
    try:
        yield group
    finally:
        group.stop_all()
