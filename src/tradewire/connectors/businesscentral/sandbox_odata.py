"""The OData ``$filter`` subset the Business Central sandbox understands (what the connector and BC docs use)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradewire.connectors.businesscentral.sandbox_store import SandboxError

_FILTER_TERM = re.compile(
    r"\s*([A-Za-z]+)\s+(eq|ne|gt|ge|lt|le|in)\s+(\([^)]*\)|'(?:[^']|'')*'|[0-9TZ:.+-]+|true|false)\s*", re.IGNORECASE
)


def _literal(text: str) -> Any:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        return Decimal(text)
    return text  # a date-time literal, compared as a normalised string


def _comparable(value: Any, literal: Any) -> tuple[Any, Any]:
    if isinstance(literal, Decimal) and isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value)), literal
    if isinstance(literal, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[0-9:.]+Z?", literal) and isinstance(value, str):
        return _norm_time(value), _norm_time(literal)
    return value, literal


def _norm_time(text: str) -> str:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def odata_filter(expression: str) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate for ``$filter`` terms joined by ``and`` (eq, ne, gt, ge, lt, le, in).

    Raises:
        SandboxError: 400 for syntax this sandbox (and usually BC) does not accept.
    """
    terms = []
    for part in re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE):
        match = _FILTER_TERM.fullmatch(part)
        if match is None:
            raise SandboxError(400, "BadRequest", f"Syntax error in $filter near '{part[:60]}'.")
        field, op, raw = match.group(1), match.group(2).lower(), match.group(3)
        if op == "in":
            inner = raw.strip("()")
            values = [_literal(v.strip()) for v in re.findall(r"'(?:[^']|'')*'|[^,\s]+", inner)]
            terms.append((field, op, values))
        else:
            terms.append((field, op, _literal(raw)))

    def test(row: Mapping[str, Any]) -> bool:
        for field, op, literal in terms:
            value = row.get(field)
            if op == "in":
                if value not in literal:
                    return False
                continue
            left, right = _comparable(value, literal)
            try:
                ok = {"eq": left == right, "ne": left != right}.get(op)
                if ok is None:
                    ok = {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
            except TypeError:
                return False
            if not ok:
                return False
        return True

    return test
