"""HTTP client for NetSuite SuiteTalk REST web services (record v1 and SuiteQL), signed with TBA.

Only speaks HTTP and returns vendor shapes; mapping and orchestration live elsewhere.
Every request goes through the connection's rate budget (``VendorHttp``) and a per-process
semaphore, because NetSuite limits *concurrent* requests per account, not their rate.
"""

from __future__ import annotations

import asyncio
import json
import re
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import ValidationError

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.http import VendorHttp
from tradewire.connectors.base.oauth1 import OAuth1Auth, new_nonce, unix_time
from tradewire.connectors.base.pagination import Offset, Page, next_offset, paginate
from tradewire.connectors.netsuite.schemas import NsCollection, NsCustomer, NsErrorBody, NsSalesOrder, NsSuiteQLPage
from tradewire.connectors.netsuite.settings import NetSuiteSecrets, NetSuiteSettings
from tradewire.errors import (
    PermanentError,
    VendorAuthError,
    VendorError,
    VendorRateLimited,
    VendorRejected,
    VendorRetryable,
)

SYSTEM = "netsuite"
RECORD_PATH = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
RATE_SCOPE = "rest"
MAX_PAGE = 1000

_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_INTERNAL_ID = re.compile(r"^[0-9]{1,20}$")
_RECORD_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# Error codes NetSuite uses for "too many concurrent requests" outside a plain 429.
_CONCURRENCY_CODES = ("SSS_REQUEST_LIMIT_EXCEEDED", "WS_REQUEST_BLOCKED", "CONCURRENCY_LIMIT_EXCEEDED")


# --- errors ----------------------------------------------------------------------------------


class NetSuiteError(VendorError):
    """Base of errors NetSuite returned."""


class NetSuiteRejected(NetSuiteError, VendorRejected):
    """NetSuite refused the request itself (400/404/…); retrying cannot help."""


class NetSuiteAuthError(NetSuiteError, VendorAuthError):
    """NetSuite refused the credentials (``INVALID_LOGIN``); the connection should be paused."""


class NetSuiteRateLimited(NetSuiteError, VendorRateLimited):
    """Too many concurrent requests for the account (429)."""


class NetSuiteUnavailable(NetSuiteError, VendorRetryable):
    """5xx, timeouts, unreachable: NetSuite may answer later."""


def describe_error(response: httpx.Response) -> str | None:
    """Readable reason of a NetSuite error body, or None when it is not NetSuite's JSON shape."""
    try:
        body = NsErrorBody.model_validate(response.json())
    except (ValueError, ValidationError, UnicodeDecodeError):
        return None
    return body.describe()


def _translate(exc: VendorError, what: str) -> NetSuiteError:
    reason = str(exc.detail.get("reason") or exc.detail.get("body") or exc.message)
    detail = {**exc.detail, "what": what}
    if isinstance(exc, VendorRateLimited) or any(code in reason for code in _CONCURRENCY_CODES):
        retry_after = getattr(exc, "retry_after", None)
        return NetSuiteRateLimited(
            f"NetSuite throttled {what} (too many concurrent requests): {reason}",
            status=exc.status,
            system=SYSTEM,
            retry_after=retry_after,
            detail=detail,
        )
    if isinstance(exc, VendorRetryable):
        status = f" ({exc.status})" if exc.status else ""
        return NetSuiteUnavailable(
            f"NetSuite failed {what}{status}: {reason}",
            status=exc.status,
            system=SYSTEM,
            retry_after=exc.retry_after,
            detail=detail,
        )
    if isinstance(exc, VendorAuthError) or "INVALID_LOGIN" in reason:
        return NetSuiteAuthError(
            f"NetSuite refused the credentials for {what}: {reason}", status=exc.status, system=SYSTEM, detail=detail
        )
    return NetSuiteRejected(f"NetSuite rejected {what}: {reason}", status=exc.status, system=SYSTEM, detail=detail)


# --- identifiers and SuiteQL literals ----------------------------------------------------------


def check_external_id(value: str) -> str:
    """Return ``value`` if NetSuite accepts it as an ``externalId`` (letters, digits, ``_``, ``-``).

    Raises:
        PermanentError: the value has other characters, is empty or longer than 255.
    """
    if not _EXTERNAL_ID.match(value):
        raise PermanentError(
            f"{value!r} cannot be a NetSuite externalId: only letters, digits, '_' and '-' are allowed (1-255)"
        )
    return value


def record_ref(id_or_eid: str) -> str:
    """The path segment for a record: an internal id (``647``) or ``eid:<externalId>``.

    Raises:
        PermanentError: neither a numeric internal id nor a valid ``eid:`` reference.
    """
    if id_or_eid.startswith("eid:"):
        return "eid:" + check_external_id(id_or_eid[4:])
    if not _INTERNAL_ID.match(id_or_eid):
        raise PermanentError(f"{id_or_eid!r} is not a NetSuite internal id or an eid: reference")
    return id_or_eid


def _record_type(value: str) -> str:
    if not _RECORD_TYPE.match(value):
        raise PermanentError(f"{value!r} is not a NetSuite record type")
    return value


def suiteql_literal(value: str) -> str:
    """A SuiteQL (Oracle SQL) string literal: single quotes doubled, wrapped in single quotes.

    ``x' OR '1'='1`` becomes ``'x'' OR ''1''=''1'``: one literal, never code.

    Raises:
        PermanentError: the value holds a NUL character, which no SuiteQL literal can carry.
    """
    if "\x00" in value:
        raise PermanentError("a SuiteQL literal cannot contain a NUL character")
    return "'" + value.replace("'", "''") + "'"


def suiteql_in_list(values: list[str]) -> str:
    """``('a', 'b''c')`` for ``IN`` clauses, every value escaped with :func:`suiteql_literal`.

    Raises:
        PermanentError: ``values`` is empty (``IN ()`` is not valid SQL).
    """
    if not values:
        raise PermanentError("an IN list needs at least one value")
    return "(" + ", ".join(suiteql_literal(v) for v in values) + ")"


def id_from_location(location: str | None) -> str | None:
    """The trailing internal id of a ``Location`` header (``…/customer/647`` → ``647``)."""
    if not location:
        return None
    tail = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
    return tail if _INTERNAL_ID.match(tail) else None


# --- concurrency -------------------------------------------------------------------------------

_SEMAPHORES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _semaphore(account_id: str, limit: int) -> asyncio.Semaphore:
    """One semaphore per (event loop, account, limit): every client of the account in this process shares it."""
    per_loop = _SEMAPHORES.setdefault(asyncio.get_running_loop(), {})
    key = (account_id.upper(), limit)
    if key not in per_loop:
        per_loop[key] = asyncio.Semaphore(limit)
    return per_loop[key]


# --- the client --------------------------------------------------------------------------------


class NetSuiteClient:
    """Talks to one NetSuite account over REST web services.

    Args:
        settings: the connection's settings.
        secrets: its TBA credentials.
        budget: the connection's shared rate budget (scope ``rest``).
        transport: an httpx transport (``ASGITransport`` for the in-process sandbox).
        nonce: nonce factory for the OAuth signature (tests).
        clock: Unix-time clock for the OAuth signature (tests).
    """

    def __init__(
        self,
        settings: NetSuiteSettings,
        secrets: NetSuiteSecrets,
        *,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        nonce: Callable[[], str] = new_nonce,
        clock: Callable[[], int] = unix_time,
    ) -> None:
        self.settings = settings
        auth = OAuth1Auth(
            consumer_key=secrets.consumer_key.get_secret_value(),
            consumer_secret=secrets.consumer_secret.get_secret_value(),
            token=secrets.token_id.get_secret_value(),
            token_secret=secrets.token_secret.get_secret_value(),
            realm=settings.realm,
            nonce=nonce,
            clock=clock,
        )
        self._http = VendorHttp(
            system=SYSTEM,
            base_url=settings.root_url,
            budget=budget,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=settings.request_timeout_seconds,
            transport=transport,
            max_connections=settings.max_concurrency,
            describe_error=describe_error,
        )

    # --- plumbing ------------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        json_body: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        with self._errors(what):
            async with _semaphore(self.settings.account_id, self.settings.max_concurrency):
                return await self._http.request(
                    method, url, scope=RATE_SCOPE, json=json_body, params=params, headers=headers
                )

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except NetSuiteError:
            raise
        except VendorError as exc:
            raise _translate(exc, what) from exc

    @staticmethod
    def _json(response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise NetSuiteUnavailable(
                f"NetSuite answered {what} with a body that is not JSON", status=response.status_code, system=SYSTEM
            ) from exc

    async def _upsert(self, record_type: str, external_id: str, body: Mapping[str, Any], *, replace: str | None) -> str:
        check_external_id(external_id)
        what = f"{record_type} eid:{external_id}"
        params = {"replace": replace} if replace else None
        response = await self._send(
            "PUT",
            f"{RECORD_PATH}/{_record_type(record_type)}/eid:{external_id}",
            what=what,
            json_body=dict(body),
            params=params,
        )
        internal_id = id_from_location(response.headers.get("Location"))
        if internal_id is not None:
            return internal_id
        # No usable Location: the write happened, so ask for the id rather than failing the run.
        record = await self.get_record(record_type, f"eid:{external_id}")
        found = record.get("id")
        if not isinstance(found, str) or not found:
            raise NetSuiteUnavailable(f"NetSuite stored {what} but returned no internal id", system=SYSTEM)
        return found

    # --- records -------------------------------------------------------------------------------

    async def upsert_customer(self, external_id: str, body: Mapping[str, Any]) -> str:
        """Create or update the customer ``eid:external_id`` (``PUT`` upsert); return its internal id.

        Sends ``replace=addressBook`` so a second upsert replaces the address book instead of adding to it.

        Raises:
            PermanentError: ``external_id`` is not a valid externalId.
            NetSuiteRejected: NetSuite refused the body (message carries its error details).
            NetSuiteAuthError: credentials refused.
            NetSuiteRateLimited: too many concurrent requests (``retry_after`` when sent).
            NetSuiteUnavailable: 5xx, timeout or connection failure.
        """
        return await self._upsert("customer", external_id, body, replace="addressBook")

    async def upsert_sales_order(self, external_id: str, body: Mapping[str, Any]) -> str:
        """Create or update the sales order ``eid:external_id``; return its internal id.

        Sends ``replace=item`` so a second upsert replaces the lines instead of appending to them.

        Raises:
            PermanentError, NetSuiteRejected, NetSuiteAuthError, NetSuiteRateLimited, NetSuiteUnavailable:
                as :meth:`upsert_customer`.
        """
        return await self._upsert("salesOrder", external_id, body, replace="item")

    async def patch_sales_order(self, id_or_eid: str, body: Mapping[str, Any]) -> None:
        """Update fields of one sales order (internal id or ``eid:…``).

        Raises:
            PermanentError, NetSuiteRejected, NetSuiteAuthError, NetSuiteRateLimited, NetSuiteUnavailable:
                as :meth:`upsert_customer`.
        """
        ref = record_ref(id_or_eid)
        await self._send("PATCH", f"{RECORD_PATH}/salesOrder/{ref}", what=f"salesOrder {ref}", json_body=dict(body))

    async def transform(self, record_type: str, id_or_eid: str, target: str, body: Mapping[str, Any]) -> str:
        """``POST /{record_type}/{id}/!transform/{target}`` (204 + Location); the new record's internal id.

        Raises:
            PermanentError: bad record type or reference.
            NetSuiteRejected: NetSuite refused (e.g. a duplicate externalId, nothing to bill).
            NetSuiteAuthError, NetSuiteRateLimited, NetSuiteUnavailable: as :meth:`upsert_customer`.
        """
        ref = record_ref(id_or_eid)
        what = f"{record_type} {ref} → {target}"
        path = f"{RECORD_PATH}/{_record_type(record_type)}/{ref}/!transform/{_record_type(target)}"
        response = await self._send("POST", path, what=what, json_body=dict(body))
        internal_id = id_from_location(response.headers.get("Location"))
        if internal_id is None:
            raise NetSuiteUnavailable(f"NetSuite answered {what} without the new record's Location", system=SYSTEM)
        return internal_id

    async def get_record(self, record_type: str, id_or_eid: str, *, expand: bool = False) -> dict[str, Any]:
        """Read one record as NetSuite returns it (``expand`` inlines sublists and sub-records).

        Raises:
            PermanentError: bad record type or reference.
            NetSuiteRejected: the record does not exist (404) or the request is invalid.
            NetSuiteAuthError, NetSuiteRateLimited, NetSuiteUnavailable: as :meth:`upsert_customer`.
        """
        ref = record_ref(id_or_eid)
        params = {"expandSubResources": "true"} if expand else None
        what = f"{record_type} {ref}"
        response = await self._send("GET", f"{RECORD_PATH}/{_record_type(record_type)}/{ref}", what=what, params=params)
        data = self._json(response, what)
        if not isinstance(data, dict):
            raise NetSuiteUnavailable(f"NetSuite answered {what} with a non-object body", system=SYSTEM)
        return data

    async def get_customer(self, id_or_eid: str) -> NsCustomer:
        """Read one customer. Raises as :meth:`get_record`."""
        return NsCustomer.model_validate(await self.get_record("customer", id_or_eid))

    async def get_sales_order(self, id_or_eid: str) -> NsSalesOrder:
        """Read one sales order with its lines. Raises as :meth:`get_record`."""
        return NsSalesOrder.model_validate(await self.get_record("salesOrder", id_or_eid, expand=True))

    async def list_records(
        self, record_type: str, *, q: str | None = None, limit: int = MAX_PAGE
    ) -> AsyncIterator[str]:
        """Internal ids of every record of ``record_type`` (optionally filtered by ``q``), page by page.

        Raises:
            NetSuiteRejected: bad type or query; others as :meth:`upsert_customer`.
        """
        path = f"{RECORD_PATH}/{_record_type(record_type)}"
        extra: dict[str, str | int] = {"q": q} if q else {}

        async def fetch(at: Offset) -> Page[str, Offset]:
            params: dict[str, str | int] = {"limit": at.limit, "offset": at.offset, **extra}
            response = await self._send("GET", path, what=f"{record_type} list", params=params)
            page = NsCollection.model_validate(self._json(response, f"{record_type} list"))
            return Page([item.id for item in page.items], _following(at, page.has_more, page.link("next"), page.count))

        async for page in paginate(fetch, Offset(0, _page_size(limit)), system=SYSTEM):
            for item_id in page.items:
                yield item_id

    async def suiteql(self, query: str, *, limit: int = MAX_PAGE) -> AsyncIterator[dict[str, Any]]:
        """Run a SuiteQL query and yield every row (a dict of lower-case columns; null columns absent).

        Follows ``hasMore`` / the ``next`` link to the end. NetSuite serves at most 100,000 rows per
        query; order by a unique key so pages do not shift.

        Raises:
            NetSuiteRejected: the query is invalid (message carries NetSuite's reason); others as
                :meth:`upsert_customer`.
        """

        async def fetch(at: Offset) -> Page[dict[str, Any], Offset]:
            response = await self._send(
                "POST", SUITEQL_PATH, what="SuiteQL query", json_body={"q": query},
                params={"limit": at.limit, "offset": at.offset}, headers={"Prefer": "transient"},
            )  # fmt: skip
            data = self._json(response, "SuiteQL query")
            page = NsSuiteQLPage.model_validate(data)
            rows = [
                {k: v for k, v in row.items() if k != "links"} for row in data.get("items", []) if isinstance(row, dict)
            ]
            return Page(rows, _following(at, page.has_more, page.link("next"), page.count))

        async for page in paginate(fetch, Offset(0, _page_size(limit)), system=SYSTEM):
            for row in page.items:
                yield row

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()


def _page_size(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise PermanentError(f"page size must be 1-{MAX_PAGE}, got {limit}")
    return limit


def _following(at: Offset, has_more: bool, next_href: str | None, count: int) -> Offset | None:
    """The next page: the ``next`` link's offset (used on our own base URL, so a link pointing
    elsewhere never receives a signed request), else offset + count.

    Raises:
        NetSuiteUnavailable: NetSuite said ``hasMore`` but sent an empty page (it would loop).
    """
    link_offset = None
    if next_href:
        offset = dict(parse_qsl(urlsplit(next_href).query)).get("offset", "")
        link_offset = int(offset) if offset.isdigit() else None
    following = next_offset(at, has_more=has_more, count=count, link_offset=link_offset)
    if following is not None and following.offset <= at.offset:
        raise NetSuiteUnavailable(
            "NetSuite said hasMore but sent an empty page; stopping instead of looping",
            system=SYSTEM,
            detail={"page": json.dumps({"offset": at.offset, "limit": at.limit})},
        )
    return following
