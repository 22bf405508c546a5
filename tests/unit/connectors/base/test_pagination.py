"""The pagination driver follows pages to the end and refuses to loop."""

from __future__ import annotations

import asyncio

import pytest

from tradewire.connectors.base.pagination import Cursor, Offset, Page, next_cursor, next_offset, paginate
from tradewire.errors import VendorRetryable


def collect(fetch, first, **kw):  # type: ignore[no-untyped-def]
    async def run() -> list[object]:
        return [item async for page in paginate(fetch, first, system="test", **kw) for item in page.items]

    return asyncio.run(run())


def test_offset_pages_to_the_end() -> None:
    rows = list(range(23))

    async def fetch(at: Offset) -> Page[int, Offset]:
        chunk = rows[at.offset : at.offset + at.limit]
        more = at.offset + len(chunk) < len(rows)
        return Page(chunk, next_offset(at, has_more=more, count=len(chunk)))

    assert collect(fetch, Offset(0, 5)) == rows


def test_cursor_pages_to_the_end() -> None:
    pages = {None: ([1, 2], "a"), "a": ([3], "b"), "b": ([4, 5], None)}

    async def fetch(at: Cursor) -> Page[int, Cursor]:
        items, end = pages[at.after]
        return Page(items, next_cursor(at, has_next_page=end is not None, end_cursor=end))

    assert collect(fetch, Cursor(None, 2)) == [1, 2, 3, 4, 5]


def test_a_vendor_repeating_a_token_is_stopped() -> None:
    async def fetch(at: Cursor) -> Page[int, Cursor]:
        return Page([1], Cursor("same", 1))

    with pytest.raises(VendorRetryable, match="twice"):
        collect(fetch, Cursor(None, 1))


def test_page_limit() -> None:
    async def fetch(at: Offset) -> Page[int, Offset]:
        return Page([at.offset], Offset(at.offset + 1, 1))

    with pytest.raises(VendorRetryable, match="more than 3 pages"):
        collect(fetch, Offset(0, 1), max_pages=3)


def test_next_link_offset_wins_only_when_it_moves_forward() -> None:
    at = Offset(10, 5)
    assert next_offset(at, has_more=True, count=5, link_offset=15) == Offset(15, 5)
    assert next_offset(at, has_more=True, count=5, link_offset=3) == Offset(15, 5)
    assert next_offset(at, has_more=False, count=5, link_offset=15) is None
