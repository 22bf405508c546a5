"""Pagination strategies as pure functions, and the RFC 8288 Link header parser in base/pagination.py."""

from __future__ import annotations

from tradewire.connectors.base.pagination import parse_link_header
from tradewire.connectors.http.definition import CursorToken, LinkHeader, NextUrl, OffsetLimit, PageNumber
from tradewire.connectors.http.paging import first_token, next_token, page_request


def test_link_header_relations() -> None:
    header = (
        '<https://api.example.com/items?page=3&per_page=2>; rel="next", '
        '<https://api.example.com/items?page=1>; rel="prev first", '
        "<https://api.example.com/items?page=9>; rel=last"
    )
    links = parse_link_header(header)
    assert links["next"] == "https://api.example.com/items?page=3&per_page=2"
    assert links["prev"] == links["first"] == "https://api.example.com/items?page=1"
    assert links["last"] == "https://api.example.com/items?page=9"


def test_link_header_tolerates_commas_in_urls_and_junk() -> None:
    assert parse_link_header('<https://x.test/a?ids=1,2,3>; rel="next"') == {"next": "https://x.test/a?ids=1,2,3"}
    assert parse_link_header('<https://x.test/a>; title="x"; REL="Next"') == {"next": "https://x.test/a"}
    assert parse_link_header("garbage") == {}
    assert parse_link_header("<unterminated; rel=next") == {}
    assert parse_link_header(None) == {}
    assert parse_link_header('<a>; rel="next", <b>; rel="next"') == {"next": "a"}  # the first wins


def test_page_number() -> None:
    strategy = PageNumber(type="page", size=2, total_pages="meta.pages")
    assert first_token(strategy) == 1
    assert page_request(strategy, 1) == ({"page": "1", "per_page": "2"}, None)
    assert next_token(strategy, 1, {"meta": {"pages": 2}}, None, 2) == 2
    assert next_token(strategy, 2, {"meta": {"pages": 2}}, None, 2) is None
    assert next_token(strategy, 1, {}, None, 2) is None  # total unreadable: stop rather than guess
    short = PageNumber(type="page", size=2, size_param=None)
    assert page_request(short, 1) == ({"page": "1"}, None)
    assert next_token(short, 1, {}, None, 2) == 2
    assert next_token(short, 2, {}, None, 1) is None
    zero_based = PageNumber(type="page", start=0, size=2, total_pages="n")
    assert next_token(zero_based, 0, {"n": 2}, None, 2) == 1
    assert next_token(zero_based, 1, {"n": 2}, None, 2) is None


def test_offset_limit() -> None:
    strategy = OffsetLimit(type="offset", size=10, total="total")
    assert page_request(strategy, 20) == ({"offset": "20", "limit": "10"}, None)
    assert next_token(strategy, 0, {"total": 25}, None, 10) == 10
    assert next_token(strategy, 20, {"total": 25}, None, 5) is None
    assert next_token(OffsetLimit(type="offset", size=10), 0, {}, None, 0) is None


def test_cursor_and_links() -> None:
    cursor = CursorToken(type="cursor", next="meta.next", has_more="meta.more", size_param="limit", size=5)
    assert page_request(cursor, "") == ({"limit": "5"}, None)
    assert page_request(cursor, "abc") == ({"cursor": "abc", "limit": "5"}, None)
    assert next_token(cursor, "", {"meta": {"next": "abc", "more": True}}, None, 5) == "abc"
    assert next_token(cursor, "", {"meta": {"next": "abc", "more": False}}, None, 5) is None
    assert next_token(cursor, "", {"meta": {"next": "", "more": True}}, None, 5) is None
    url = NextUrl(type="next_url", next="links.next")
    assert page_request(url, "/v1/items?page=2") == ({}, "/v1/items?page=2")
    assert next_token(url, "", {"links": {"next": 5}}, None, 1) is None
    link = LinkHeader(type="link_header", size_param="per_page", size=3)
    assert page_request(link, "") == ({"per_page": "3"}, None)
    assert next_token(link, "", None, '<https://x.test/p2>; rel="next"', 3) == "https://x.test/p2"
