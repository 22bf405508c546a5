"""The YAML definition of a declarative HTTP system: models, loading, and errors with YAML paths and lines.

A partner describes a REST API once (auth, endpoints, pagination, field mappings, webhook
signatures); Tradewire talks to it. Secrets are named here and stored in the connection's
encrypted secrets, never in the YAML. Every expression is JMESPath (https://jmespath.org),
compiled when the definition loads so a typo is found by ``tradewire connectors validate``, not
at 3 a.m. by a poll.
"""

from __future__ import annotations

import re
import string
import warnings
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from tradewire.connectors.base.ssrf import DestinationRefused, check_url_syntax

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> Any:
    """The compiled JMESPath expression (cached).

    Raises:
        ValueError: the expression does not parse.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PendingDeprecationWarning)
            return jmespath.compile(expression)
    except PendingDeprecationWarning:
        raise ValueError(
            "deprecated JMESPath literal: write text as 'text' or JSON as `\"text\"` (with the quotes)"
        ) from None
    except JMESPathError as exc:
        detail = getattr(exc, "msg", None) or str(exc).splitlines()[0]
        position = getattr(exc, "lex_position", None)
        where = f" at character {position}" if isinstance(position, int) else ""
        raise ValueError(f"not a JMESPath expression{where}: {detail}") from None


def _expression(value: str) -> str:
    compile_expression(value)
    return value


def _header(value: str) -> str:
    if not _HEADER.match(value):
        raise ValueError(f"not an HTTP header name: {value!r}")
    return value


Expr = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_expression)]
HeaderName = Annotated[str, AfterValidator(_header)]
SecretName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- auth --------------------------------------------------------------------------------------


class ApiKeyAuth(_Model):
    """An API key sent in a header or a query parameter."""

    type: Literal["api_key"]
    in_: Literal["header", "query"] = Field(default="header", alias="in")
    name: str = Field(min_length=1, max_length=100, description="Header or query parameter name.")
    prefix: str = Field(default="", max_length=40, description="Put before the key, e.g. 'Token '.")
    secret: SecretName = Field(description="Name of the connection secret holding the key.")


class BearerAuth(_Model):
    """A static bearer token (``Authorization: Bearer …``)."""

    type: Literal["bearer"]
    secret: SecretName


class BasicAuth(_Model):
    """HTTP Basic with a user name and password from the secrets."""

    type: Literal["basic"]
    username_secret: SecretName
    password_secret: SecretName


class OAuth2ClientCredentials(_Model):
    """OAuth 2.0 client credentials (RFC 6749 §4.4); the token is cached and refreshed before expiry."""

    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(
        min_length=1, description="Absolute URL, or a path from the API host's root ('/oauth/token')."
    )
    client_id_secret: SecretName = "client_id"  # noqa: S105 (a secret's name)
    client_secret_secret: SecretName = "client_secret"  # noqa: S105 (a secret's name)
    scope: str | None = None
    audience: str | None = None
    client_auth: Literal["basic", "body"] = Field(
        default="basic", description="Send client id/secret as HTTP Basic (RFC default) or in the form body."
    )
    refresh_margin_seconds: float = Field(default=60.0, ge=0, le=3600)


class NoAuth(_Model):
    """No credentials (public APIs)."""

    type: Literal["none"]


Auth = Annotated[ApiKeyAuth | BearerAuth | BasicAuth | OAuth2ClientCredentials | NoAuth, Field(discriminator="type")]


# --- transport ---------------------------------------------------------------------------------


class Timeouts(_Model):
    """Seconds per phase of one request."""

    connect: float = Field(default=10.0, gt=0, le=120)
    read: float = Field(default=30.0, gt=0, le=600)


class RateLimitSpec(_Model):
    """The vendor's limit as a token bucket, and the headers where it reports what is left."""

    rate: float = Field(gt=0, le=10_000, description="Requests per second, sustained.")
    burst: float = Field(gt=0, le=100_000, description="Requests allowed at once.")
    remaining_header: str | None = Field(default=None, description="e.g. X-RateLimit-Remaining")
    limit_header: str | None = Field(default=None, description="e.g. X-RateLimit-Limit")


# --- endpoints and pagination ------------------------------------------------------------------


class NoPagination(_Model):
    type: Literal["none"]


class PageNumber(_Model):
    """``?page=1&per_page=50``; stops at a short page, an empty page, or ``total_pages``."""

    type: Literal["page"]
    page_param: str = "page"
    size_param: str | None = "per_page"
    size: int = Field(default=50, ge=1, le=10_000)
    start: int = Field(default=1, ge=0)
    total_pages: Expr | None = None


class OffsetLimit(_Model):
    """``?offset=0&limit=50``; stops at a short page or when ``total`` is reached."""

    type: Literal["offset"]
    offset_param: str = "offset"
    limit_param: str = "limit"
    size: int = Field(default=50, ge=1, le=10_000)
    total: Expr | None = None


class CursorToken(_Model):
    """An opaque token from the body (``next`` expression) sent back as ``cursor_param``."""

    type: Literal["cursor"]
    cursor_param: str = "cursor"
    next: Expr
    has_more: Expr | None = None
    size_param: str | None = None
    size: int = Field(default=50, ge=1, le=10_000)


class NextUrl(_Model):
    """The body names the next page's full URL (``next`` expression); same origin only."""

    type: Literal["next_url"]
    next: Expr
    size_param: str | None = None
    size: int = Field(default=50, ge=1, le=10_000)


class LinkHeader(_Model):
    """RFC 8288 ``Link: <…>; rel="next"`` (GitHub, Shopify REST…); same origin only."""

    type: Literal["link_header"]
    size_param: str | None = None
    size: int = Field(default=50, ge=1, le=10_000)


Pagination = Annotated[
    NoPagination | PageNumber | OffsetLimit | CursorToken | NextUrl | LinkHeader, Field(discriminator="type")
]


def template_fields(template: str) -> set[str]:
    """Names of the ``{placeholders}`` in ``template``.

    Raises:
        ValueError: unbalanced braces or a format spec.
    """
    names: set[str] = set()
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must be a plain name like {{id}}")
        names.add(name)
    return names


class Endpoint(_Model):
    """One call: method, path template, query, JSON body template, where its records are."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str = Field(min_length=1, max_length=2000, description="Under base_url, with {params}.")
    query: dict[str, str] = Field(
        default_factory=dict, description="Values may hold {params}; empty ones are left out."
    )
    headers: dict[HeaderName, str] = Field(default_factory=dict)
    body: Any = Field(default=None, description="JSON body; string leaves may hold {params}.")
    records: Expr = Field(default="@", description="JMESPath to the record list (or one record) in the answer.")
    pagination: Pagination = Field(default_factory=lambda: NoPagination(type="none"))
    error: Expr | None = Field(default=None, description="JMESPath that is non-empty when a 2xx body is an error.")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        template_fields(value)
        if "://" in value or not value.startswith("/") or value.startswith("//"):
            raise ValueError("path must start with '/' and stay under base_url (no scheme or host)")
        if any(segment in {".", ".."} for segment in value.split("?")[0].split("/")):
            raise ValueError("path may not contain '.' or '..' segments")
        return value

    @model_validator(mode="after")
    def _templates(self) -> Endpoint:
        for value in self.query.values():
            template_fields(value)
        return self

    def parameters(self) -> set[str]:
        """Every placeholder the call needs."""
        names = template_fields(self.path)
        for value in self.query.values():
            names |= template_fields(value)
        return names | _body_fields(self.body)


def _body_fields(body: Any) -> set[str]:
    if isinstance(body, str):
        return template_fields(body)
    if isinstance(body, Mapping):
        return set().union(*(_body_fields(v) for v in body.values())) if body else set()
    if isinstance(body, list):
        return set().union(*(_body_fields(v) for v in body)) if body else set()
    return set()


# --- mapping -----------------------------------------------------------------------------------


class FieldExpr(_Model):
    """An expression with an optional value translation (``{expr: state, map: {void: cancelled}}``)."""

    expr: Expr
    map: dict[str, str | None] = Field(default_factory=dict)
    default: str | None = None


FieldValue = Expr | FieldExpr

ADDRESS_FIELDS = ("name", "company", "line1", "line2", "city", "region", "postal_code", "country_code", "phone")
BUYER_FIELDS = ("email", "first_name", "last_name", "phone", "source_customer_id")
CUSTOMER_FIELDS = ("email", "first_name", "last_name", "company", "phone", "tags", "updated_at")
ORDER_FIELDS = (
    "number", "placed_at", "updated_at", "cancelled_at", "cancel_reason", "status", "financial_status",
    "fulfillment_status", "currency", "shipping_total", "discount_total", "tax_total", "taxes_included",
    "subtotal", "total", "tags", "note",
)  # fmt: skip
LINE_FIELDS = ("line_id", "sku", "title", "quantity", "unit_price", "discount", "tax", "total")
NESTED = {"default_address": ADDRESS_FIELDS, "billing_address": ADDRESS_FIELDS, "shipping_address": ADDRESS_FIELDS}


class Lines(_Model):
    """Order lines: ``each`` selects the list, ``fields`` map one element."""

    each: Expr
    fields: dict[str, FieldValue]

    @field_validator("fields")
    @classmethod
    def _known(cls, value: dict[str, FieldValue]) -> dict[str, FieldValue]:
        _only(value, LINE_FIELDS, "order line")
        return value


def _only(fields: Mapping[str, Any], known: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise ValueError(f"{what} has no field {', '.join(unknown)}; known: {', '.join(known)}")


class ObjectSpec(_Model):
    """A vendor record type and how it becomes a canonical object."""

    canonical: Literal["customer", "order"]
    id: Expr = Field(description="JMESPath to the record's id (the external id).")
    updated_at: Expr | None = Field(default=None, description="JMESPath to its last-change time (ordering, cursors).")
    list: str | None = Field(default=None, description="Endpoint that lists these records.")
    get: str | None = Field(default=None, description="Endpoint that reads one; its path takes {id}.")
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    default_address: dict[str, FieldValue] | None = None
    billing_address: dict[str, FieldValue] | None = None
    shipping_address: dict[str, FieldValue] | None = None
    customer: dict[str, FieldValue] | None = None
    lines: Lines | None = None

    @model_validator(mode="after")
    def _shape(self) -> ObjectSpec:
        if self.canonical == "customer":
            _only(self.fields, CUSTOMER_FIELDS, "a customer")
            for name in ("billing_address", "shipping_address", "customer", "lines"):
                if getattr(self, name) is not None:
                    raise ValueError(f"a customer mapping has no {name} (orders do)")
        else:
            _only(self.fields, ORDER_FIELDS, "an order")
            if self.default_address is not None:
                raise ValueError("an order mapping has no default_address (use billing_address/shipping_address)")
            if self.lines is None:
                raise ValueError("an order mapping needs lines: {each: …, fields: {…}}")
            for required in ("placed_at", "currency"):
                if required not in self.fields:
                    raise ValueError(f"an order mapping needs fields.{required}")
            if self.customer is not None:
                _only(self.customer, BUYER_FIELDS, "an order's customer")
        for name in NESTED:
            value = getattr(self, name)
            if value is not None:
                _only(value, ADDRESS_FIELDS, name)
        return self


# --- polling and webhooks ----------------------------------------------------------------------


class PollCursor(_Model):
    """The incremental cursor: the records' change-time field and the query parameter that filters on it."""

    field: Expr = Field(description="JMESPath to each record's change time (ISO 8601 or epoch seconds).")
    param: str = Field(description="Query parameter the endpoint filters on (updated since).")
    format: Literal["iso8601", "epoch_seconds"] = "iso8601"
    overlap_seconds: float = Field(default=300.0, ge=0, le=7 * 86400, description="Re-read window for late writes.")
    lookback_seconds: float = Field(
        default=86400.0, ge=0, le=366 * 86400, description="First poll starts this far back."
    )


class PollerSpec(_Model):
    """A stream the scheduler polls: an object's list endpoint with a cursor."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    object: str
    every_seconds: float = Field(default=60.0, ge=5, le=86400)
    cursor: PollCursor


class Signature(_Model):
    """How the system signs a delivery: HMAC of the raw body (optionally with a timestamp)."""

    header: HeaderName
    secret: SecretName = "webhook_secret"  # noqa: S105 (a secret's name)
    algorithm: Literal["sha256", "sha1", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = Field(default="", max_length=40, description="e.g. 'sha256=' (GitHub) — stripped before comparing.")
    timestamp_header: HeaderName | None = None
    tolerance_seconds: float = Field(default=300.0, gt=0, le=7 * 86400)
    signed_payload: str = Field(default="{body}", description="What is signed: '{body}' or e.g. '{timestamp}.{body}'.")

    @model_validator(mode="after")
    def _payload(self) -> Signature:
        names = template_fields(self.signed_payload)
        if "body" not in names or not names <= {"body", "timestamp"}:
            raise ValueError("signed_payload must contain {body} and may contain {timestamp}")
        if "timestamp" in names and self.timestamp_header is None:
            raise ValueError("signed_payload uses {timestamp}: set timestamp_header")
        return self


class EventRoute(_Model):
    """What one vendor event type means."""

    object: str
    event: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$", description="Canonical event name, e.g. customer.updated.")


class WebhookSpec(_Model):
    """Inbound webhooks: signature, and expressions that read the event from the body."""

    signature: Signature
    event_id: Expr | None = Field(default=None, description="JMESPath to the vendor's event id in the body.")
    event_id_header: HeaderName | None = None
    event_type: Expr
    object_id: Expr
    ordering_key: Expr | None = Field(default=None, description="Defaults to the object id.")
    occurred_at: Expr | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=20 * 1024 * 1024)
    events: dict[str, EventRoute] = Field(min_length=1)

    @model_validator(mode="after")
    def _id(self) -> WebhookSpec:
        if (self.event_id is None) == (self.event_id_header is None):
            raise ValueError("set exactly one of event_id (body expression) or event_id_header")
        return self


# --- the definition ----------------------------------------------------------------------------


class Definition(_Model):
    """A declarative HTTP system."""

    name: str = Field(description="Short name: lowercase letters, digits, '-' or '_'.")
    display_name: str | None = None
    base_url: str
    auth: Auth
    headers: dict[HeaderName, str] = Field(default_factory=dict)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    rate_limit: RateLimitSpec | None = None
    max_redirects: int = Field(default=3, ge=0, le=10)
    endpoints: dict[str, Endpoint] = Field(min_length=1)
    objects: dict[str, ObjectSpec] = Field(default_factory=dict)
    pollers: list[PollerSpec] = Field(default_factory=list)
    webhooks: WebhookSpec | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("name must be 1-40 lowercase letters, digits, '-' or '_'")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        try:
            url = check_url_syntax(value)
        except DestinationRefused as exc:
            raise ValueError(str(exc)) from None
        if url.query or url.fragment:
            raise ValueError("base_url takes no query or fragment (put them in endpoints)")
        return value.rstrip("/")

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name.lower() in {"authorization", "cookie", "proxy-authorization"}:
                raise ValueError(f"{name} would put a credential in the YAML; use the auth section")
        return value

    @model_validator(mode="after")
    def _references(self) -> Definition:
        problems: list[str] = []
        for key, obj in self.objects.items():
            for role in ("list", "get"):
                endpoint = getattr(obj, role)
                if endpoint is not None and endpoint not in self.endpoints:
                    problems.append(f"objects.{key}.{role}: no endpoint named {endpoint!r}")
            if obj.get is not None and obj.get in self.endpoints and "id" not in self.endpoints[obj.get].parameters():
                problems.append(f"objects.{key}.get: endpoint {obj.get!r} must take {{id}}")
        names: set[str] = set()
        for index, poller in enumerate(self.pollers):
            if poller.name in names:
                problems.append(f"pollers.{index}.name: {poller.name!r} is used twice")
            names.add(poller.name)
            polled = self.objects.get(poller.object)
            if polled is None:
                problems.append(f"pollers.{index}.object: no object named {poller.object!r}")
            elif polled.list is None:
                problems.append(f"pollers.{index}.object: object {poller.object!r} has no list endpoint")
        if self.webhooks is not None:
            for event_type, route in self.webhooks.events.items():
                if route.object not in self.objects:
                    problems.append(f"webhooks.events.{event_type}.object: no object named {route.object!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def title(self) -> str:
        """``display_name`` or ``name``."""
        return self.display_name or self.name

    def secret_names(self) -> set[str]:
        """Names of every connection secret the definition uses."""
        names = self.auth_secret_names()
        if self.webhooks is not None:
            names.add(self.webhooks.signature.secret)
        return names

    def auth_secret_names(self) -> set[str]:
        """Names of the secrets the API calls need."""
        auth = self.auth
        names: set[str] = set()
        if isinstance(auth, ApiKeyAuth | BearerAuth):
            names.add(auth.secret)
        elif isinstance(auth, BasicAuth):
            names |= {auth.username_secret, auth.password_secret}
        elif isinstance(auth, OAuth2ClientCredentials):
            names |= {auth.client_id_secret, auth.client_secret_secret}
        return names
