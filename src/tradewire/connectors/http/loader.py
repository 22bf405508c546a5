"""Loading a definition from YAML, with every problem reported by YAML path and line.

PyYAML's node tree gives the line of every key; Pydantic's error locations give the path.
All problems are collected at once, so a partner fixes the file in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tradewire.connectors.http.definition import Definition
from tradewire.errors import ConfigError

MAX_DEFINITION_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: where (YAML path, line) and what."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path or '(top)'}" + (f" (line {self.line})" if self.line else "")
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """JSON for ``--json``."""
        return {"path": self.path, "line": self.line, "message": self.message}


class DefinitionError(ConfigError):
    """A definition that does not load; ``problems`` lists each with its YAML path and line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the definition:\n{lines}")
        self.problems = problems


def _lines(node: yaml.Node, path: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            out[(*path, name)] = key.start_mark.line + 1
            _lines(value, (*path, name), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, str(index)), out)


def _line_of(path: tuple[str, ...], lines: Mapping[tuple[str, ...], int]) -> int | None:
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path[:-1]


_UNION_TAGS = {"api_key", "bearer", "basic", "oauth2_client_credentials", "none", "page", "offset", "cursor"}
_UNION_TAGS |= {"next_url", "link_header", "str", "FieldExpr", "function-after[_expression(), str]"}


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[str, ...]:
    """The YAML path of a Pydantic error location (discriminator tags and union branches dropped)."""
    return tuple(str(part) for part in loc if str(part) not in _UNION_TAGS and not str(part).startswith("function-"))


def parse_definition(text: str, *, source: str = "<definition>") -> Definition:
    """Load and validate a definition from YAML text.

    Raises:
        DefinitionError: YAML syntax errors (with line) or every schema problem (with path and line).
    """
    if len(text.encode("utf-8")) > MAX_DEFINITION_BYTES:
        raise DefinitionError(source, [Problem("", f"larger than {MAX_DEFINITION_BYTES // 1024} KiB")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise DefinitionError(source, [Problem("", f"not valid YAML: {exc.problem}", line)]) from None
    except yaml.YAMLError as exc:
        raise DefinitionError(source, [Problem("", f"not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise DefinitionError(source, [Problem("", "the definition must be a YAML mapping (name:, base_url:, …)", 1)])
    return definition_from_data(data, source=source, node=node)


def definition_from_data(data: Mapping[str, Any], *, source: str, node: yaml.Node | None = None) -> Definition:
    """Validate an already parsed definition (e.g. inline in a connection's settings).

    Raises:
        DefinitionError: every schema problem, with its path (and line when ``node`` is given).
    """
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    try:
        return Definition.model_validate(dict(data))
    except ValidationError as exc:
        problems: list[Problem] = []
        seen: set[tuple[str, str]] = set()
        for error in exc.errors(include_url=False):
            path = _clean_loc(tuple(error["loc"]))
            message = str(error["msg"]).removeprefix("Value error, ")
            key = (".".join(path), message)
            if key in seen:
                continue
            seen.add(key)
            problems.append(Problem(".".join(path), message, _line_of(path, lines)))
        raise DefinitionError(source, problems) from None


def load_definition(path: str | Path) -> Definition:
    """Read and validate the definition file at ``path``.

    Raises:
        DefinitionError: the file cannot be read, or the definition is invalid.
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise DefinitionError(str(file), [Problem("", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DefinitionError(str(file), [Problem("", "not UTF-8 text")]) from None
    return parse_definition(text, source=str(file))
