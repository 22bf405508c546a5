"""Pagination strategies: one driver, with loop protection, for every paged vendor API.

A connector describes how to fetch one page and where the next one starts; the driver
follows pages to the end, refuses to loop on a vendor that repeats a page token, and stops
at a page limit instead of running forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tradewire.errors import VendorRetryable

T = TypeVar("T")
Token = TypeVar("Token")

DEFAULT_MAX_PAGES = 100_000


@dataclass(frozen=True)
class Page(Generic[T, Token]):
    """One page of items and the token of the next page (None at the end)."""

    items: list[T]
    next: Token | None


async def paginate(
    fetch: Callable[[Token], Awaitable[Page[T, Token]]],
    first: Token,
    *,
    system: str,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Page[T, Token]]:
    """Yield pages from ``first`` until a page has no next token.

    Raises:
        VendorRetryable: the vendor handed back a token it already gave (it would loop forever),
            or more than ``max_pages`` pages came back.
    """
    token: Token | None = first
    seen: set[str] = set()
    pages = 0
    while token is not None:
        key = repr(token)
        if key in seen:
            raise VendorRetryable(
                f"{system} returned the page token {key} twice; stopping instead of looping", system=system
            )
        seen.add(key)
        page = await fetch(token)
        pages += 1
        yield page
        if pages >= max_pages and page.next is not None:
            raise VendorRetryable(f"{system} returned more than {max_pages} pages; stopping", system=system)
        token = page.next


@dataclass(frozen=True)
class Offset:
    """Where an offset page starts (NetSuite collections and SuiteQL, REST lists)."""

    offset: int
    limit: int


def next_offset(current: Offset, *, has_more: bool, count: int, link_offset: int | None = None) -> Offset | None:
    """The next offset page: the vendor's ``next`` link when it moves forward, else offset + count.

    Returns None at the end. An empty page that claims more is treated as the end of a
    misbehaving vendor's list only through :func:`paginate`'s loop guard.
    """
    if not has_more:
        return None
    if link_offset is not None and link_offset > current.offset:
        return Offset(link_offset, current.limit)
    return Offset(current.offset + max(count, 0), current.limit)


@dataclass(frozen=True)
class Cursor:
    """Where a cursor page starts (GraphQL connections: ``first``/``after``)."""

    after: str | None
    first: int


def next_cursor(current: Cursor, *, has_next_page: bool, end_cursor: str | None) -> Cursor | None:
    """The next cursor page, or None at the end (or when the vendor gave no cursor)."""
    if not has_next_page or not end_cursor:
        return None
    return Cursor(end_cursor, current.first)


def parse_link_header(value: str | None) -> dict[str, str]:
    """The targets of an RFC 8288 ``Link`` header by relation (``{"next": url, "prev": url}``).

    Tolerates several headers joined with commas, quoted or bare ``rel`` values, several
    relations in one ``rel`` (``rel="next last"``) and commas inside ``<…>``. The first link of a
    relation wins; malformed parts are skipped.
    """
    links: dict[str, str] = {}
    if not value:
        return links
    position = 0
    length = len(value)
    while position < length:
        start = value.find("<", position)
        if start < 0:
            break
        end = value.find(">", start + 1)
        if end < 0:
            break
        target = value[start + 1 : end].strip()
        following = value.find("<", end + 1)
        params = value[end + 1 : following if following >= 0 else length]
        position = following if following >= 0 else length
        for param in params.split(";"):
            name, sep, raw = param.strip().partition("=")
            if not sep or name.strip().lower() != "rel":
                continue
            for rel in raw.strip().strip(",").strip().strip('"').lower().split():
                links.setdefault(rel, target)
    return links
