"""Loop Returns REST client: speaks HTTP, returns vendor models, classifies errors in one place.

Auth is a scoped API key in ``X-Authorization`` (no token exchange, so nothing to refresh: a 401
means the key is wrong, revoked or lacks the ``Returns`` scope, and pauses the connection).
Every call takes a token from the connection's rate budget (scope ``api``) first. Loop's limit
is per API key and its number is not documented; a 429 carries ``Retry-After`` when Loop sends
one, else the runtime backs off exponentially.

Paths. ``details``, ``list``, ``process`` and ``remove`` are documented. Loop documents the
close, cancel and flag actions without their exact paths; the constants below follow the
documented ``/warehouse/return/{id}/…`` pattern and are **[unverified]**.

Errors and how Loop's bodies are read live in ``client_errors``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import ValidationError

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.http import VendorHttp, json_body
from tradewire.connectors.base.pagination import Page, paginate
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.loop.client_errors import (
    LoopError,
    LoopUnavailable,
    classify_body,
    describe_error,
    translate,
)
from tradewire.connectors.loop.schemas import LoopReturn, ReturnListPage
from tradewire.connectors.loop.settings import LoopSecrets, LoopSettings
from tradewire.errors import ConfigError, PermanentError, VendorError

SYSTEM = "loop"
SCOPE = "api"
LIST_PATH = "/warehouse/return/list"
DETAILS_PATH = "/warehouse/return/details"
PROCESS_PATH = "/warehouse/return/{return_id}/process"
REMOVE_PATH = "/warehouse/return/{return_id}/remove"
CLOSE_PATH = "/warehouse/return/{return_id}/close"  # [unverified] path
CANCEL_PATH = "/warehouse/return/{return_id}/cancel"  # [unverified] path
FLAG_PATH = "/warehouse/return/{return_id}/flag"  # [unverified] path
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
"""How Loop's list takes ``from``/``to`` (its docs' example: ``2023-01-01 00:00:00``, UTC)."""


# --- helpers ---------------------------------------------------------------------------------


def loop_time(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC, as Loop's list takes it."""
    if moment.tzinfo is None:
        raise ValueError("times sent to Loop must be timezone-aware")
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def check_return_id(return_id: str | int) -> str:
    """The return id as a path segment (digits or a plain token).

    Raises:
        PermanentError: empty, or characters that do not belong in an id.
    """
    if isinstance(return_id, bool):
        raise PermanentError(f"{return_id!r} is not a Loop return id")
    text = str(return_id).strip()
    if not text or len(text) > 64 or not all(c.isalnum() or c in "-_" for c in text):
        raise PermanentError(f"{str(return_id)[:70]!r} is not a Loop return id")
    return text


def _next_params(next_url: str | None) -> tuple[tuple[str, str], ...] | None:
    """The query of Loop's ``nextPageUrl``; sent to our own base URL so the key never leaves it."""
    if not next_url:
        return None
    parts = urlsplit(next_url)
    if not parts.path.rstrip("/").endswith(LIST_PATH):
        raise LoopUnavailable(f"Loop's nextPageUrl points elsewhere ({parts.path[:80]!r})", system=SYSTEM)
    return tuple(parse_qsl(parts.query, keep_blank_values=True))


def _float_header(response: httpx.Response, name: str) -> float | None:
    value = response.headers.get(name)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# --- the client ------------------------------------------------------------------------------


class LoopClient:
    """Loop's REST API for one merchant.

    Args:
        settings: the connection's settings.
        secrets: its secrets (the API key is sent as ``X-Authorization``).
        budget: the connection's shared rate budget (scope ``api``).
        transport: an httpx transport (``httpx.ASGITransport(sandbox)`` in unit tests).
    """

    def __init__(
        self,
        settings: LoopSettings,
        secrets: LoopSecrets,
        *,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._http = VendorHttp(
            system=SYSTEM,
            base_url=settings.base_url,
            budget=budget,
            headers={"X-Authorization": secrets.api_key.get_secret_value(), "Accept": "application/json"},
            timeout=settings.timeout_seconds,
            classify_body=classify_body,
            describe_error=describe_error,
            transport=transport,
        )

    @classmethod
    def from_connection(
        cls,
        connection: Connection,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> LoopClient:
        """A client for ``connection``.

        Raises:
            ConfigError: the settings are invalid or the secrets lack ``api_key``/``webhook_secret``.
        """
        try:
            settings = LoopSettings.model_validate(dict(connection.settings))
        except ValidationError as exc:
            raise ConfigError(
                f"Loop connection {connection.id} has invalid settings: {exc.error_count()} problem(s)"
            ) from None
        try:
            secrets = LoopSecrets.model_validate(dict(connection.secrets))
        except ValidationError:
            raise ConfigError(f"Loop connection {connection.id} lacks api_key/webhook_secret in its secrets") from None
        return cls(settings, secrets, budget=budget, transport=transport)

    def __repr__(self) -> str:
        return f"LoopClient(base_url={self.settings.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    # --- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except LoopError:
            raise
        except VendorError as exc:
            raise translate(exc, what) from exc

    async def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str | int] | Sequence[tuple[str, str]] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        with self._errors(what):
            response = await self._http.request(
                method,
                path,
                scope=SCOPE,
                params=params,  # type: ignore[arg-type]  # httpx also takes a sequence of pairs
                json=json,
            )
        self._observe(response)
        return response

    def _observe(self, response: httpx.Response) -> None:
        # Loop documents no rate headers; when its edge sends the common X-RateLimit-* pair, use it.
        remaining = _float_header(response, "X-RateLimit-Remaining")
        capacity = _float_header(response, "X-RateLimit-Limit")
        if remaining is not None or capacity is not None:
            self._http.budget.observe(SCOPE, remaining=remaining, capacity=capacity, refill=None)

    def _json(self, response: httpx.Response, what: str) -> Any:
        with self._errors(what):
            return json_body(response, system=SYSTEM, what=what)

    # --- reads ---------------------------------------------------------------------------------

    async def get_return_payload(self, return_id: str | int) -> dict[str, Any]:
        """The return as Loop's details endpoint answers it (a JSON object).

        Raises:
            PermanentError: ``return_id`` is not an id.
            LoopNotFound: no such return.
            LoopAuthError, LoopRateLimited, LoopUnavailable, LoopRejected: see the module docstring.
        """
        rid = check_return_id(return_id)
        what = f"return details {rid}"
        response = await self._send("GET", DETAILS_PATH, what=what, params={"return_id": rid})
        data = self._json(response, what)
        if isinstance(data, dict) and "id" not in data and isinstance(data.get("return"), dict):
            data = data["return"]
        if not isinstance(data, dict):
            raise LoopUnavailable(f"Loop answered {what} with a {type(data).__name__}, not an object", system=SYSTEM)
        return data

    async def get_return(self, return_id: str | int) -> LoopReturn:
        """The return, read as :class:`LoopReturn`. Raises as :meth:`get_return_payload`."""
        data = await self.get_return_payload(return_id)
        try:
            return LoopReturn.model_validate(data)
        except ValidationError as exc:
            raise LoopUnavailable(
                f"Loop answered return details {return_id} with an unreadable return: {exc.error_count()} problem(s)",
                system=SYSTEM,
            ) from None

    async def list_return_pages(
        self,
        start: datetime,
        end: datetime,
        *,
        filter_on: str = "created_at",
        states: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of returns whose ``filter_on`` date lies in [start, end], each a list of raw returns.

        The range may be at most ``max_range_days`` (120) long; split longer ones (the poller does).

        Raises:
            PermanentError: the range is empty, too long, or times are naive.
            LoopRejected: Loop refused the query (its validation message is in the error).
            LoopAuthError, LoopRateLimited, LoopUnavailable: see the module docstring.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise PermanentError("list ranges need timezone-aware times")
        if end < start:
            raise PermanentError(f"list range ends before it starts ({start.isoformat()} > {end.isoformat()})")
        if end - start > timedelta(days=self.settings.max_range_days):
            raise PermanentError(
                f"Loop lists at most {self.settings.max_range_days} days at once; asked for {(end - start).days} days"
            )
        if filter_on not in ("created_at", "updated_at"):
            raise PermanentError(f"filter must be created_at or updated_at, got {filter_on!r}")
        size = page_size or self.settings.page_size
        first: tuple[tuple[str, str], ...] = (
            ("paginate", "true"),
            ("pageSize", str(size)),
            ("from", loop_time(start)),
            ("to", loop_time(end)),
            ("filter", filter_on),
        )
        if states:
            first += (("state", ",".join(states)),)

        async def fetch(params: tuple[tuple[str, str], ...]) -> Page[dict[str, Any], tuple[tuple[str, str], ...]]:
            response = await self._send("GET", LIST_PATH, what="return list", params=params)
            data = self._json(response, "return list")
            if isinstance(data, list):  # paginate=false answers a bare array
                return Page([r for r in data if isinstance(r, dict)], None)
            try:
                page = ReturnListPage.model_validate(data)
            except ValidationError:
                raise LoopUnavailable("Loop answered the return list with an unreadable page", system=SYSTEM) from None
            return Page(page.returns, _next_params(page.next_page_url))

        async for page in paginate(fetch, first, system=SYSTEM):
            yield page.items

    async def list_returns(
        self, start: datetime, end: datetime, *, filter_on: str = "created_at", states: Sequence[str] | None = None
    ) -> AsyncIterator[LoopReturn]:
        """Every return in the range, page after page, as :class:`LoopReturn`. Raises as :meth:`list_return_pages`."""
        async for page in self.list_return_pages(start, end, filter_on=filter_on, states=states):
            for raw in page:
                try:
                    yield LoopReturn.model_validate(raw)
                except ValidationError as exc:
                    raise LoopUnavailable(
                        f"Loop listed a return it cannot describe: {exc.error_count()} problem(s)", system=SYSTEM
                    ) from None

    # --- actions -------------------------------------------------------------------------------

    async def _action(
        self,
        path: str,
        return_id: str | int,
        verb: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        rid = check_return_id(return_id)
        what = f"{verb} return {rid}"
        response = await self._send("POST", path.format(return_id=rid), what=what, params=params, json=json)
        if not response.content.strip():
            return {}
        data = self._json(response, what)
        return data if isinstance(data, dict) else {"result": data}

    async def process_return(self, return_id: str | int, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Queue the return for processing (Loop runs it asynchronously; failures arrive as the
        ``return.processing.failed`` webhook). ``details`` is copied to the resulting Shopify orders
        as "Additional Details".

        Raises:
            LoopUnprocessable: Loop will not process it (``UNPROCESSABLE_FLAGGED_RETURN``): permanent.
            LoopNotFound, LoopRejected, LoopAuthError, LoopRateLimited, LoopUnavailable: see the module docstring.
        """
        return await self._action(PROCESS_PATH, return_id, "process", json=dict(details) if details else None)

    async def close_return(self, return_id: str | int) -> dict[str, Any]:
        """Close the return ([unverified] path). Raises as :meth:`process_return`."""
        return await self._action(CLOSE_PATH, return_id, "close")

    async def cancel_return(self, return_id: str | int) -> dict[str, Any]:
        """Cancel the return ([unverified] path). Raises as :meth:`process_return`."""
        return await self._action(CANCEL_PATH, return_id, "cancel")

    async def flag_return(self, return_id: str | int) -> dict[str, Any]:
        """Flag the return for review ([unverified] path). Raises as :meth:`process_return`."""
        return await self._action(FLAG_PATH, return_id, "flag")

    async def remove_line_item(self, return_id: str | int, line_item_id: str | int) -> dict[str, Any]:
        """Remove one line item from an open return. Raises as :meth:`process_return`."""
        item = check_return_id(line_item_id)
        return await self._action(REMOVE_PATH, return_id, "remove a line item from", params={"line_item_id": item})
