"""Pagination strategies of a definition as pure functions: the query of a page, and the token of the next.

The client drives them with :func:`tradewire.connectors.base.pagination.paginate` (loop
protection, page limit). Tokens: a page number, an offset, a cursor string, or a URL
(``next_url`` / ``link_header``; the client checks it stays on the definition's origin).
"""

from __future__ import annotations

from typing import Any

from tradewire.connectors.base.pagination import parse_link_header
from tradewire.connectors.http.definition import CursorToken, LinkHeader, NextUrl, OffsetLimit, PageNumber
from tradewire.connectors.http.mapping import search


def number(value: Any) -> float | None:
    """A float from a header or body value, or None."""
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def first_token(strategy: Any) -> Any:
    """Where the first page starts (never None: None ends the driver)."""
    if isinstance(strategy, PageNumber):
        return strategy.start
    if isinstance(strategy, OffsetLimit):
        return 0
    return ""


def page_request(strategy: Any, token: Any) -> tuple[dict[str, str], str | None]:
    """The query parameters of the page at ``token``, or the link to follow instead."""
    query: dict[str, str] = {}
    if isinstance(strategy, NextUrl | LinkHeader) and token:
        return query, str(token)  # the link carries its own query
    if isinstance(strategy, PageNumber):
        query[strategy.page_param] = str(token)
    elif isinstance(strategy, OffsetLimit):
        query[strategy.offset_param] = str(token)
        query[strategy.limit_param] = str(strategy.size)
    elif isinstance(strategy, CursorToken) and token:
        query[strategy.cursor_param] = str(token)
    size_param = getattr(strategy, "size_param", None)
    if size_param:
        query[size_param] = str(strategy.size)
    return query, None


def next_token(strategy: Any, token: Any, body: Any, link_header: str | None, count: int) -> Any:
    """The token of the page after the one at ``token`` that held ``count`` records, or None at the end."""
    if isinstance(strategy, PageNumber):
        if strategy.total_pages is not None:
            total = number(search(strategy.total_pages, body))
            return token + 1 if total is not None and token + (1 - strategy.start) < total else None
        return token + 1 if count >= strategy.size else None
    if isinstance(strategy, OffsetLimit):
        if count == 0:
            return None
        if strategy.total is not None:
            total = number(search(strategy.total, body))
            return token + count if total is not None and token + count < total else None
        return token + count if count >= strategy.size else None
    if isinstance(strategy, CursorToken):
        if strategy.has_more is not None and not search(strategy.has_more, body):
            return None
        cursor = search(strategy.next, body)
        return str(cursor) if cursor not in (None, "") else None
    if isinstance(strategy, NextUrl):
        link = search(strategy.next, body)
        return str(link) if isinstance(link, str) and link else None
    if isinstance(strategy, LinkHeader):
        return parse_link_header(link_header).get("next")
    return None
