"""The client of a declaratively described REST API: endpoints, auth, pagination, redirects, SSRF guard.

Every request goes through :class:`VendorHttp` (rate budget first, errors classified in one
place) over a :class:`GuardedTransport` (the SSRF guard checks and pins each request, redirect
hops and next-page URLs included). Credentials are added only to requests for the definition's
own origin, so a redirect or a ``next`` link to another host never carries them.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from string import Formatter
from typing import Any

import httpx
from pydantic import ValidationError

from tradewire.connectors.base.budget import RateBudget, RateLimit
from tradewire.connectors.base.http import VendorHttp, json_body
from tradewire.connectors.base.pagination import Page, paginate
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.base.ssrf import AllowList, GuardedTransport, Resolver, system_resolver
from tradewire.connectors.base.tokens import AccessToken, TokenCache
from tradewire.connectors.http.definition import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    Definition,
    Endpoint,
    OAuth2ClientCredentials,
)
from tradewire.connectors.http.mapping import external_id, search
from tradewire.connectors.http.paging import first_token, next_token, number, page_request
from tradewire.connectors.http.schemas import TokenResponse
from tradewire.connectors.http.settings import HttpSecrets, connection_parts, require_secrets
from tradewire.errors import ConfigError, VendorAuthError, VendorRejected, VendorRetryable

SCOPE = "api"
DEFAULT_LIMIT = RateLimit(scope=SCOPE, rate=5.0, burst=10.0)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
Params = Mapping[str, Any]


class TokenRefused(VendorAuthError):
    """The token endpoint refused the client credentials (no point asking again in this run)."""


def rate_limit_of(definition: Definition) -> RateLimit:
    """The budget of the connection's ``api`` scope the definition asks for (the default when it says nothing)."""
    if definition.rate_limit is None:
        return DEFAULT_LIMIT
    return RateLimit(scope=SCOPE, rate=definition.rate_limit.rate, burst=definition.rate_limit.burst)


def _describe(response: httpx.Response) -> str | None:
    """A readable reason from the usual error bodies (``{"error": {"message"}}``, ``{"message"}``…)."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    for candidate in (
        error.get("message") if isinstance(error, dict) else error,
        body.get("message"),
        body.get("error_description"),
        body.get("detail"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()[:500]
    return None


def _format(template: str, params: Params, *, quote: bool) -> str:
    def value(name: str) -> str:
        if name not in params or params[name] is None:
            raise ConfigError(f"the call needs parameter {{{name}}}")
        text = str(params[name])
        if quote:
            if text in {".", ".."}:
                raise VendorRejected(f"parameter {{{name}}} may not be {text!r} in a path", system="http")
            return urllib.parse.quote(text, safe="")
        return text

    out: list[str] = []
    for literal, name, _, _ in Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(value(name))
    return "".join(out)


def _body(template: Any, params: Params) -> Any:
    if isinstance(template, str):
        stripped = template.strip()
        if stripped.startswith("{") and stripped.endswith("}") and stripped[1:-1].isidentifier():
            name = stripped[1:-1]
            if name not in params:
                raise ConfigError(f"the call needs parameter {{{name}}}")
            return params[name]  # a lone placeholder keeps the value's JSON type
        return _format(template, params, quote=False)
    if isinstance(template, Mapping):
        return {key: _body(value, params) for key, value in template.items()}
    if isinstance(template, list):
        return [_body(value, params) for value in template]
    return template


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


class HttpClient:
    """Executes the endpoints of one definition for one connection.

    Args:
        definition: the validated definition.
        secrets: the connection's secrets (credentials by the names the definition uses).
        base_url: the root (the definition's, or the connection's override).
        budget: the connection's shared rate budget (scope ``api``).
        transport: inner transport (``ASGITransport`` in tests); the SSRF guard wraps it.
        allow: the operator's egress allow-list (default: ``TRADEWIRE_EGRESS_ALLOW``).
        resolver: name → addresses (default: the system resolver).
    """

    def __init__(
        self,
        definition: Definition,
        secrets: HttpSecrets,
        *,
        base_url: str | None = None,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        allow: AllowList | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.definition = definition
        self.system = definition.name
        self._secrets = secrets
        self.base_url = httpx.URL((base_url or definition.base_url).rstrip("/") + "/")
        self.guard = GuardedTransport(
            transport,
            allow=allow if allow is not None else AllowList.from_environment(),
            resolver=resolver or system_resolver,
            connect_timeout=definition.timeouts.connect,
        )
        self.http = VendorHttp(
            system=self.system,
            base_url=str(self.base_url),
            budget=budget,
            headers={"Accept": "application/json", **definition.headers},
            timeout=definition.timeouts.read,
            transport=self.guard,
            describe_error=_describe,
        )
        self.tokens: TokenCache | None = None
        if isinstance(definition.auth, OAuth2ClientCredentials):
            self.tokens = TokenCache(self._fetch_token, margin_seconds=definition.auth.refresh_margin_seconds)

    @classmethod
    def from_connection(
        cls,
        connection: Connection,
        *,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        allow: AllowList | None = None,
        resolver: Resolver | None = None,
    ) -> HttpClient:
        """A client for ``connection`` (definition from its settings, credentials from its secrets).

        Raises:
            ConfigError: invalid settings or definition, or a missing secret.
        """
        settings, secrets, definition = connection_parts(connection)
        require_secrets(connection, secrets, definition.auth_secret_names())
        return cls(
            definition,
            secrets,
            base_url=settings.effective_base_url(definition),
            budget=budget,
            transport=transport,
            allow=allow,
            resolver=resolver,
        )

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self.http.aclose()

    # --- auth ----------------------------------------------------------------------------------

    async def _fetch_token(self) -> AccessToken:
        auth = self.definition.auth
        assert isinstance(auth, OAuth2ClientCredentials)
        client_id = self._secrets.get(auth.client_id_secret)
        client_secret = self._secrets.get(auth.client_secret_secret)
        form = {"grant_type": "client_credentials"}
        if auth.scope:
            form["scope"] = auth.scope
        if auth.audience:
            form["audience"] = auth.audience
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if auth.client_auth == "basic":
            basic = httpx.BasicAuth(
                urllib.parse.quote(client_id, safe=""), urllib.parse.quote(client_secret, safe="")
            )  # RFC 6749 §2.3.1: form-urlencode before Basic
            headers["Authorization"] = next(basic.auth_flow(httpx.Request("POST", "http://x"))).headers["Authorization"]
        else:
            form |= {"client_id": client_id, "client_secret": client_secret}
        url = self.base_url.join(auth.token_url)  # "/oauth/token" is from the host root; absolute URLs stay
        try:
            response = await self.http.request(
                "POST", str(url), scope=SCOPE, content=urllib.parse.urlencode(form).encode(), headers=headers
            )
        except TokenRefused:
            raise
        except VendorAuthError as exc:
            raise TokenRefused(str(exc), status=exc.status, system=self.system, detail=exc.detail) from None
        except VendorRejected as exc:
            # RFC 6749 §5.2: invalid_client / unauthorized_client come back as 400.
            raise TokenRefused(
                f"{self.system} refused the client credentials at the token endpoint: {exc.detail.get('reason', exc)}",
                status=exc.status,
                system=self.system,
            ) from None
        body = json_body(response, system=self.system, what="the token request")
        try:
            answer = TokenResponse.model_validate(body)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "body"
            raise VendorRetryable(
                f"{self.system} token endpoint answered an unusable token ({where}: {exc.errors()[0]['msg']})",
                system=self.system,
            ) from None
        return AccessToken(answer.access_token, answer.lifetime_seconds)

    async def _credentials(self, headers: dict[str, str], query: dict[str, str]) -> None:
        auth = self.definition.auth
        if isinstance(auth, ApiKeyAuth):
            value = auth.prefix + self._secrets.get(auth.secret)
            (headers if auth.in_ == "header" else query)[auth.name] = value
        elif isinstance(auth, BearerAuth):
            headers["Authorization"] = f"Bearer {self._secrets.get(auth.secret)}"
        elif isinstance(auth, BasicAuth):
            basic = httpx.BasicAuth(self._secrets.get(auth.username_secret), self._secrets.get(auth.password_secret))
            headers["Authorization"] = next(basic.auth_flow(httpx.Request("GET", "http://x"))).headers["Authorization"]
        elif isinstance(auth, OAuth2ClientCredentials):
            assert self.tokens is not None
            headers["Authorization"] = f"Bearer {await self.tokens.get()}"

    # --- requests ------------------------------------------------------------------------------

    async def _send(
        self, method: str, url: httpx.URL, *, query: Mapping[str, str], headers: Mapping[str, str], json_payload: Any
    ) -> httpx.Response:
        """One logical request: credentials for our origin only, redirects followed one checked hop at a time."""
        hops = 0
        while True:
            send_headers = dict(headers)
            send_query = dict(query)
            if _origin(url) == _origin(self.base_url):
                await self._credentials(send_headers, send_query)
            # Credentials in the query go as params, so error messages (which quote the URL) never show them.
            response = await self.http.request(
                method, str(url), scope=SCOPE, json=json_payload, headers=send_headers, params=send_query or None
            )
            target = response.request.url
            self._observe(response)
            if response.status_code not in REDIRECTS:
                return response
            location = response.headers.get("location")
            hops += 1
            if not location or hops > self.definition.max_redirects:
                raise VendorRejected(
                    f"{self.system} redirected {method} {url.path} "
                    f"{'without a Location' if not location else f'more than {self.definition.max_redirects} time(s)'}",
                    status=response.status_code,
                    system=self.system,
                )
            next_url = target.join(location)
            if url.scheme == "https" and next_url.scheme != "https":
                raise VendorRejected(
                    f"{self.system} redirected from https to {next_url.scheme}; refused", system=self.system
                )
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, json_payload = "GET", None
            url, query = next_url, {}

    async def _authorised(
        self, method: str, url: httpx.URL, *, query: Mapping[str, str], headers: Mapping[str, str], json_payload: Any
    ) -> httpx.Response:
        try:
            return await self._send(method, url, query=query, headers=headers, json_payload=json_payload)
        except TokenRefused:
            raise
        except VendorAuthError:
            if self.tokens is None:
                raise
            self.tokens.invalidate()  # the token may have been revoked early: one fresh try
            return await self._send(method, url, query=query, headers=headers, json_payload=json_payload)

    def _observe(self, response: httpx.Response) -> None:
        spec = self.definition.rate_limit
        if spec is None or spec.remaining_header is None:
            return
        remaining = number(response.headers.get(spec.remaining_header))
        capacity = number(response.headers.get(spec.limit_header)) if spec.limit_header else None
        if remaining is not None:
            self.http.budget.observe(SCOPE, remaining=remaining, capacity=capacity, refill=None)

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self.definition.endpoints.get(name)
        if endpoint is None:
            raise ConfigError(f"{self.system} defines no endpoint {name!r}")
        return endpoint

    async def call(
        self, endpoint_name: str, params: Params | None = None, *, extra_query: Mapping[str, str] | None = None
    ) -> Any:
        """Call one endpoint and return its JSON answer (no pagination).

        Raises:
            ConfigError: a parameter the endpoint needs is missing.
            VendorRetryable / VendorAuthError / VendorRejected: as classified.
        """
        response = await self._request(endpoint_name, params or {}, extra_query=extra_query)
        return self._json(self._endpoint(endpoint_name), response)

    async def _request(
        self,
        endpoint_name: str,
        params: Params,
        *,
        extra_query: Mapping[str, str] | None = None,
        url: httpx.URL | None = None,
    ) -> httpx.Response:
        endpoint = self._endpoint(endpoint_name)
        headers = {key: _format(value, params, quote=False) for key, value in endpoint.headers.items()}
        if url is not None:
            return await self._authorised(endpoint.method, url, query={}, headers=headers, json_payload=None)
        path = _format(endpoint.path, params, quote=True).lstrip("/")
        query: dict[str, str] = {}
        for key, template in endpoint.query.items():
            names = {n for _, n, _, _ in Formatter().parse(template) if n}
            if any(params.get(n) in (None, "") for n in names):
                continue  # an optional filter nobody set
            query[key] = _format(template, params, quote=False)
        query.update(extra_query or {})
        payload = _body(endpoint.body, params) if endpoint.body is not None else None
        return await self._authorised(
            endpoint.method, self.base_url.join(path), query=query, headers=headers, json_payload=payload
        )

    def _json(self, endpoint: Endpoint, response: httpx.Response) -> Any:
        body = json_body(response, system=self.system, what=f"{response.request.method} {response.request.url.path}")
        if endpoint.error is not None:
            problem = search(endpoint.error, body)
            if problem not in (None, "", [], {}, False):
                raise VendorRejected(
                    f"{self.system} answered {response.status_code} with an error: {str(problem)[:300]}",
                    status=response.status_code,
                    system=self.system,
                    detail={"error": problem},
                )
        return body

    def _records(self, endpoint: Endpoint, body: Any) -> list[dict[str, Any]]:
        found = search(endpoint.records, body)
        if found is None:
            return []
        items = found if isinstance(found, list) else [found]
        if not all(isinstance(item, dict) for item in items):
            raise VendorRejected(
                f"{self.system}: records expression {endpoint.records!r} selected something other than objects",
                system=self.system,
            )
        return items

    async def fetch(self, object_name: str, external_id_value: str) -> dict[str, Any]:
        """One record by id through the object's ``get`` endpoint.

        Raises:
            ConfigError: the object has no ``get`` endpoint.
            NotFound-like VendorRejected (404) and the other classified errors.
        """
        spec = self.definition.objects.get(object_name)
        if spec is None or spec.get is None:
            raise ConfigError(f"{self.system}: object {object_name!r} has no get endpoint")
        body = await self.call(spec.get, {"id": external_id_value})
        records = self._records(self._endpoint(spec.get), body)
        if len(records) != 1:
            raise VendorRejected(
                f"{self.system}: get {object_name} {external_id_value} returned {len(records)} records"
            )
        return records[0]

    async def pages(
        self, endpoint_name: str, params: Params | None = None, *, extra_query: Mapping[str, str] | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The records of a list endpoint, page by page, following its pagination to the end.

        Raises:
            VendorRejected: a next link to another origin, or records that are not objects.
            VendorRetryable: a vendor repeating a page token (loop), and the classified errors.
        """
        endpoint = self._endpoint(endpoint_name)
        params = dict(params or {})
        strategy = endpoint.pagination
        base_query = dict(extra_query or {})

        async def fetch(token: Any) -> Page[dict[str, Any], Any]:
            query, link = page_request(strategy, token)
            url = self._same_origin(link) if link else None
            response = await self._request(endpoint_name, params, extra_query=base_query | query, url=url)
            body = self._json(endpoint, response)
            records = self._records(endpoint, body)
            return Page(records, next_token(strategy, token, body, response.headers.get("link"), len(records)))

        first = first_token(strategy)
        async for page in paginate(fetch, first, system=self.system):
            yield page.items

    def _same_origin(self, link: str) -> httpx.URL:
        url = self.base_url.join(link)
        if _origin(url) != _origin(self.base_url):
            raise VendorRejected(
                f"{self.system} pointed the next page at {url.scheme}://{url.host}, not its own origin; refused",
                system=self.system,
            )
        return url

    async def list_all(self, object_name: str, *, limit: int = 10_000) -> list[dict[str, Any]]:
        """Every record of an object's list endpoint (for tools and tests; pollers stream instead)."""
        spec = self.definition.objects.get(object_name)
        if spec is None or spec.list is None:
            raise ConfigError(f"{self.system}: object {object_name!r} has no list endpoint")
        out: list[dict[str, Any]] = []
        async for records in self.pages(spec.list):
            out.extend(records)
            if len(out) >= limit:
                break
        for record in out:
            external_id(spec, object_name, record)
        return out[:limit]


def record_bytes(value: Any) -> bytes:
    """Compact JSON bytes of a record (how polled records are stored as message bodies)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode("utf-8")


__all__ = ["SCOPE", "HttpClient", "rate_limit_of", "record_bytes"]
