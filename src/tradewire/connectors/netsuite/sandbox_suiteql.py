"""SuiteQL for the NetSuite sandbox: the common Oracle-flavoured subset, run as real SQL on sqlite3.

Supported: ``SELECT`` (joins, sub-queries, ``WITH``, ``GROUP BY``, ``ORDER BY``), Oracle's
``FETCH FIRST n ROWS ONLY``, ``SYSDATE``, ``NVL``, ``NVL2``, ``DECODE``, ``TO_CHAR``, ``TO_DATE``,
``TO_NUMBER``, ``BUILTIN.DF``, and the usual SQL functions. Only the ``customer``, ``item``,
``transaction``, ``transactionline``, ``location`` and ``aggregateitemlocation`` tables exist. Anything else (``ROWNUM``, writes, several
statements, unknown tables or columns) is refused with :class:`SuiteQLError`, which the sandbox
answers as NetSuite does: 400 ``INVALID_PARAMETER``.

Safety: a sqlite authorizer allows only reads of those tables and function calls, and a
progress handler stops runaway queries; the query text is never trusted.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

TABLES = frozenset({"customer", "item", "transaction", "transactionline", "location", "aggregateitemlocation"})
MAX_ROWS = 100_000  # NetSuite's own cap per SuiteQL query
_MAX_VM_STEPS = 50_000_000

_LITERAL = re.compile(r"'(?:[^']|'')*'")
_FETCH_FIRST = re.compile(r"\bFETCH\s+(?:FIRST|NEXT)\s+(\d+)\s+ROWS?\s+ONLY\s*$", re.IGNORECASE)
_UNSUPPORTED = {
    "ROWNUM": "ROWNUM is not supported here; use FETCH FIRST n ROWS ONLY",
    "CONNECT": "CONNECT BY is not supported",
    "BUILTIN.CONSOLIDATE": "BUILTIN.CONSOLIDATE is not supported",
}
_FORMAT_TOKENS = (("YYYY", "%Y"), ("HH24", "%H"), ("MM", "%m"), ("DD", "%d"), ("MI", "%M"), ("SS", "%S"))


class SuiteQLError(Exception):
    """The sandbox cannot run this SuiteQL; ``detail`` is the reason shown to the caller."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _split_literals(query: str) -> list[tuple[bool, str]]:
    """``[(is_literal, text), …]`` so rewrites never touch the inside of a string literal."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _LITERAL.finditer(query):
        parts.append((False, query[position : match.start()]))
        parts.append((True, match.group(0)))
        position = match.end()
    tail = query[position:]
    if "'" in tail:
        raise SuiteQLError("unterminated string literal")
    parts.append((False, tail))
    return parts


def translate(query: str) -> str:
    """Rewrite SuiteQL into the SQLite dialect.

    Raises:
        SuiteQLError: not a single SELECT, or uses a construct the sandbox does not support.
    """
    text = query.strip().rstrip(";").strip()
    if not re.match(r"^(SELECT|WITH)\b", text, re.IGNORECASE):
        raise SuiteQLError("only SELECT statements are allowed in SuiteQL")
    pieces: list[str] = []
    for is_literal, part in _split_literals(text):
        if is_literal:
            pieces.append(part)
            continue
        if ";" in part:
            raise SuiteQLError("only one statement may be sent")
        if '"' in part:
            raise SuiteQLError("double-quoted identifiers are not supported; string literals use single quotes")
        upper = part.upper()
        for word, reason in _UNSUPPORTED.items():
            if re.search(rf"\b{re.escape(word)}\b", upper):
                raise SuiteQLError(reason)
        part = re.sub(r"\bBUILTIN\.DF\s*\(", "builtin_df(", part, flags=re.IGNORECASE)
        part = re.sub(r"\bSYSDATE\b", "sysdate()", part, flags=re.IGNORECASE)
        part = re.sub(r"\btransaction\b", '"transaction"', part, flags=re.IGNORECASE)
        pieces.append(part)
    translated = "".join(pieces)
    fetch = _FETCH_FIRST.search(translated)
    if fetch:
        translated = translated[: fetch.start()] + f"LIMIT {int(fetch.group(1))}"
    elif re.search(r"\bFETCH\b", translated, re.IGNORECASE):
        raise SuiteQLError("FETCH is only supported as a final FETCH FIRST n ROWS ONLY")
    return translated


# --- Oracle functions as sqlite user functions -----------------------------------------------------


def _nvl(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def _nvl2(value: Any, if_not_null: Any, if_null: Any) -> Any:
    return if_null if value is None else if_not_null


def _decode(*args: Any) -> Any:
    if not args:
        return None
    subject, rest = args[0], list(args[1:])
    while len(rest) >= 2:
        search, result = rest.pop(0), rest.pop(0)
        if subject == search:
            return result
    return rest[0] if rest else None


def _oracle_format(fmt: str) -> str:
    out = fmt.upper()
    for token, directive in _FORMAT_TOKENS:
        out = out.replace(token, directive)
    return out


def _parse_when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _to_char(value: Any, fmt: Any = None) -> str | None:
    if value is None:
        return None
    when = _parse_when(value)
    if when is not None and isinstance(fmt, str):
        return when.strftime(_oracle_format(fmt))
    return str(value)


def _to_date(value: Any, fmt: Any = None) -> str | None:
    if value is None:
        return None
    if isinstance(fmt, str):
        try:
            return datetime.strptime(str(value), _oracle_format(fmt)).date().isoformat()
        except ValueError as exc:
            raise ValueError(f"TO_DATE: {value!r} does not match {fmt!r}") from exc
    return str(value)


def _to_number(value: Any) -> float | int | None:
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def _sysdate() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _identity(value: Any) -> Any:
    return value


def install_functions(conn: sqlite3.Connection) -> None:
    """Register the Oracle functions SuiteQL users reach for."""
    conn.create_function("nvl", 2, _nvl, deterministic=True)
    conn.create_function("nvl2", 3, _nvl2, deterministic=True)
    conn.create_function("decode", -1, _decode, deterministic=True)
    conn.create_function("to_char", 1, _to_char, deterministic=True)
    conn.create_function("to_char", 2, _to_char, deterministic=True)
    conn.create_function("to_date", 1, _to_date, deterministic=True)
    conn.create_function("to_date", 2, _to_date, deterministic=True)
    conn.create_function("to_number", 1, _to_number, deterministic=True)
    conn.create_function("builtin_df", 1, _identity, deterministic=True)
    conn.create_function("sysdate", 0, _sysdate)


# --- execution -----------------------------------------------------------------------------------


def _authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
    if action == sqlite3.SQLITE_SELECT or action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_READ and arg1 is not None and arg1.lower() in TABLES:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_RECURSIVE:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _column_names(description: Any) -> list[str]:
    names: list[str] = []
    for position, column in enumerate(description, start=1):
        name = str(column[0]).lower()
        if not re.match(r"^[a-z_][a-z0-9_]*$", name):
            name = f"expr{position}"
        names.append(name)
    return names


def _wire_value(value: Any) -> str:
    # [unverified] NetSuite returns SuiteQL values as strings; null columns are left out of the row.
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def run(conn: sqlite3.Connection, query: str) -> list[dict[str, str]]:
    """Run ``query`` read-only and return every row (at most 100,000) as NetSuite shapes it.

    The caller holds the store's lock; the authorizer is removed again before returning.

    Raises:
        SuiteQLError: the query is not supported, not valid, or reads something other than the tables.
    """
    sql = translate(query)
    steps = 0

    def progress() -> int:
        nonlocal steps
        steps += 1
        return 1 if steps * 1000 > _MAX_VM_STEPS else 0

    conn.set_authorizer(_authorizer)
    conn.set_progress_handler(progress, 1000)
    try:
        cursor = conn.execute(sql)
        names = _column_names(cursor.description or [])
        rows = cursor.fetchmany(MAX_ROWS + 1)
    except sqlite3.Warning as exc:
        raise SuiteQLError(f"only one statement may be sent ({exc})") from None
    except sqlite3.DatabaseError as exc:
        message = str(exc)
        if "interrupted" in message:
            message = "the query ran too long"
        elif "not authorized" in message or "prohibited" in message:
            message = f"the query reads something other than {', '.join(sorted(TABLES))}"
        raise SuiteQLError(message) from None
    finally:
        conn.set_authorizer(None)
        conn.set_progress_handler(None, 0)
    if len(rows) > MAX_ROWS:
        raise SuiteQLError(f"the query returns more than {MAX_ROWS} rows; narrow it")
    return [
        {name: _wire_value(value) for name, value in zip(names, row, strict=True) if value is not None} for row in rows
    ]
