"""OAuth 1.0a request signing (RFC 5849) with HMAC-SHA256, client and server side.

NetSuite token-based authentication (TBA) is OAuth 1.0a with two-legged, pre-issued tokens:
the signature base string is ``METHOD & enc(scheme://host[:port]/path) & enc(params)`` where
``params`` are the ``oauth_*`` values (without ``oauth_signature`` and ``realm``) plus the URL
query parameters, each percent-encoded (RFC 3986), sorted and joined as ``k=v`` with ``&``.
JSON bodies are never signed. The key is ``enc(consumer_secret) & enc(token_secret)``.

:class:`OAuth1Auth` signs outgoing ``httpx`` requests; :class:`OAuth1Verifier` is the server side
used by sandboxes: it parses the ``Authorization`` header, rebuilds the base string from the
request it received, compares signatures in constant time, and refuses stale timestamps and
replayed nonces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx

SIGNATURE_METHOD = "HMAC-SHA256"
OAUTH_VERSION = "1.0"

# The order Oracle's published header example uses; the order carries no meaning to the server.
_HEADER_ORDER = (
    "oauth_token",
    "oauth_consumer_key",
    "oauth_nonce",
    "oauth_timestamp",
    "oauth_signature_method",
    "oauth_version",
    "oauth_signature",
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 text: only ``A-Z a-z 0-9 - . _ ~`` stay as they are."""
    return quote(value, safe="-._~")


def base_string_uri(url: str) -> str:
    """``scheme://host[:port]/path`` as RFC 5849 §3.4.1.2 wants it (no query, no fragment, default port dropped).

    The path is taken as sent (already percent-encoded), scheme and host are lower-cased.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def query_pairs(query: str) -> list[tuple[str, str]]:
    """The decoded ``(name, value)`` pairs of a raw query string, blanks and repeats kept."""
    return parse_qsl(query, keep_blank_values=True)


def normalized_parameters(params: Iterable[tuple[str, str]]) -> str:
    """Encode each pair, sort by name then value, and join as ``k=v&k=v`` (RFC 5849 §3.4.1.3.2)."""
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in encoded)


def signature_base_string(method: str, url: str, oauth_params: Mapping[str, str]) -> str:
    """The text that is signed: method, base URI and every oauth and query parameter.

    Args:
        method: HTTP method (upper-cased here).
        url: the full request URL; its query parameters are signed too.
        oauth_params: ``oauth_*`` values; ``oauth_signature`` and ``realm`` are left out if present.
    """
    params = [(k, v) for k, v in oauth_params.items() if k not in ("oauth_signature", "realm")]
    params.extend(query_pairs(urlsplit(url).query))
    return "&".join(
        (
            percent_encode(method.upper()),
            percent_encode(base_string_uri(url)),
            percent_encode(normalized_parameters(params)),
        )
    )


def sign(base_string: str, consumer_secret: str, token_secret: str) -> str:
    """Base64 HMAC-SHA256 of ``base_string`` keyed with ``enc(consumer_secret)&enc(token_secret)``."""
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}".encode()
    digest = hmac.new(key, base_string.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def authorization_header(realm: str | None, oauth_params: Mapping[str, str]) -> str:
    """``OAuth realm="…", oauth_token="…", …, oauth_signature="…"`` with every value percent-encoded."""
    fields: list[str] = []
    if realm is not None:
        fields.append(f'realm="{percent_encode(realm)}"')
    ordered = [k for k in _HEADER_ORDER if k in oauth_params]
    ordered += sorted(k for k in oauth_params if k not in _HEADER_ORDER)
    fields.extend(f'{k}="{percent_encode(oauth_params[k])}"' for k in ordered)
    return "OAuth " + ", ".join(fields)


def parse_authorization_header(value: str) -> dict[str, str]:
    """The decoded fields of an ``OAuth k="v", …`` header.

    Raises:
        OAuth1Rejected: the header is not an OAuth header or a field is malformed or repeated.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "oauth":
        raise OAuth1Rejected("the Authorization header is not an OAuth header")
    fields: dict[str, str] = {}
    for raw in rest.split(","):
        raw = raw.strip()
        if not raw:
            continue
        name, sep, quoted = raw.partition("=")
        quoted = quoted.strip()
        if not sep or len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
            raise OAuth1Rejected(f"malformed OAuth header field {raw[:40]!r}")
        name = name.strip()
        if name in fields:
            raise OAuth1Rejected(f"OAuth header field {name} appears twice")
        fields[name] = unquote(quoted[1:-1])
    return fields


def new_nonce() -> str:
    """A fresh random nonce (20 URL-safe characters)."""
    return secrets.token_urlsafe(15)


def unix_time() -> int:
    """Seconds since the epoch, as OAuth timestamps are."""
    return int(time.time())


@dataclass(frozen=True)
class SignedRequest:
    """What :meth:`OAuth1Auth.sign_request` produced (kept for tests and debugging)."""

    base_string: str
    signature: str
    header: str


class OAuth1Auth(httpx.Auth):
    """Signs every request with OAuth 1.0a HMAC-SHA256 (NetSuite TBA).

    Args:
        consumer_key: the integration record's consumer key.
        consumer_secret: the integration record's consumer secret.
        token: the access token id.
        token_secret: the access token secret.
        realm: sent as ``realm`` in the header (NetSuite: the account id, upper case), or None.
        nonce: returns a fresh nonce; injectable for tests.
        clock: returns the Unix time in seconds; injectable for tests.
    """

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str,
        token: str,
        token_secret: str,
        realm: str | None = None,
        nonce: Callable[[], str] = new_nonce,
        clock: Callable[[], int] = unix_time,
    ) -> None:
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self._token = token
        self._token_secret = token_secret
        self._realm = realm
        self._nonce = nonce
        self._clock = clock

    def sign_request(self, method: str, url: str) -> SignedRequest:
        """Sign ``method url`` with a fresh nonce and timestamp; return the base string, signature and header."""
        params = {
            "oauth_consumer_key": self._consumer_key,
            "oauth_nonce": self._nonce(),
            "oauth_signature_method": SIGNATURE_METHOD,
            "oauth_timestamp": str(self._clock()),
            "oauth_token": self._token,
            "oauth_version": OAUTH_VERSION,
        }
        base = signature_base_string(method, url, params)
        signature = sign(base, self._consumer_secret, self._token_secret)
        header = authorization_header(self._realm, {**params, "oauth_signature": signature})
        return SignedRequest(base_string=base, signature=signature, header=header)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the ``Authorization`` header (httpx calls this for each request, redirects included)."""
        request.headers["Authorization"] = self.sign_request(request.method, str(request.url)).header
        yield request


class OAuth1Rejected(Exception):
    """The server refuses a request's OAuth signature; ``reason`` says why (for logs, not for callers)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VerifiedRequest:
    """Who signed an accepted request."""

    consumer_key: str
    token: str
    realm: str | None


SecretLookup = Callable[[str, str], tuple[str, str] | None]


class NonceCache:
    """Nonces seen within the timestamp window, per consumer and token, so a replay is refused.

    Thread-safe: a sandbox served by uvicorn in a thread may be read by a test in another.
    """

    def __init__(self, window_seconds: float) -> None:
        self._window = window_seconds
        self._seen: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()
        self._next_purge = 0.0

    def remember(self, consumer_key: str, token: str, nonce: str, timestamp: float, *, now: float) -> bool:
        """Record the nonce; False when it was already used inside the window."""
        key = (consumer_key, token, nonce)
        with self._lock:
            if now >= self._next_purge:
                cutoff = now - 2 * self._window
                self._seen = {k: t for k, t in self._seen.items() if t >= cutoff}
                self._next_purge = now + self._window
            if key in self._seen:
                return False
            self._seen[key] = timestamp
            return True

    def clear(self) -> None:
        """Forget every nonce."""
        with self._lock:
            self._seen.clear()


class OAuth1Verifier:
    """The server side of OAuth 1.0a HMAC-SHA256, as a vendor (or its sandbox) checks requests.

    Args:
        secrets: ``(consumer_key, token) -> (consumer_secret, token_secret)`` or None when unknown.
        realm: the realm every request must carry, or None to accept any (or none).
        window_seconds: how far a timestamp may be from ``now`` either way.
    """

    def __init__(self, secrets: SecretLookup, *, realm: str | None = None, window_seconds: float = 300.0) -> None:
        self._secrets = secrets
        self._realm = realm
        self._window = window_seconds
        self.nonces = NonceCache(window_seconds)

    def verify(self, method: str, url: str, authorization: str | None, *, now: float | None = None) -> VerifiedRequest:
        """Check one request's signature, freshness and nonce.

        Args:
            method: the HTTP method received.
            url: the full URL received (scheme, host, port, raw path and raw query).
            authorization: the ``Authorization`` header, or None.
            now: Unix time; defaults to the clock.

        Raises:
            OAuth1Rejected: missing or malformed header, unknown key or token, wrong realm, unsupported
                method or version, timestamp outside the window, replayed nonce, or a wrong signature.
        """
        if not authorization:
            raise OAuth1Rejected("no Authorization header")
        fields = parse_authorization_header(authorization)
        required = ("oauth_consumer_key", "oauth_token", "oauth_nonce", "oauth_timestamp", "oauth_signature_method")
        missing = [name for name in (*required, "oauth_signature") if not fields.get(name)]
        if missing:
            raise OAuth1Rejected(f"OAuth header misses {', '.join(missing)}")
        if fields["oauth_signature_method"] != SIGNATURE_METHOD:
            raise OAuth1Rejected(f"signature method {fields['oauth_signature_method']} is not supported")
        if fields.get("oauth_version", OAUTH_VERSION) != OAUTH_VERSION:
            raise OAuth1Rejected(f"OAuth version {fields['oauth_version']} is not supported")
        realm = fields.get("realm")
        if self._realm is not None and realm != self._realm:
            raise OAuth1Rejected(f"realm {realm!r} is not this account")
        consumer_key, token = fields["oauth_consumer_key"], fields["oauth_token"]
        pair = self._secrets(consumer_key, token)
        if pair is None:
            raise OAuth1Rejected("unknown consumer key or token")
        try:
            timestamp = int(fields["oauth_timestamp"])
        except ValueError:
            raise OAuth1Rejected("oauth_timestamp is not an integer") from None
        current = time.time() if now is None else now
        if abs(current - timestamp) > self._window:
            raise OAuth1Rejected(f"timestamp {timestamp} is outside the {self._window:.0f} s window")
        oauth_params = {k: v for k, v in fields.items() if k.startswith("oauth_")}
        expected = sign(signature_base_string(method, url, oauth_params), *pair)
        if not hmac.compare_digest(expected.encode(), fields["oauth_signature"].encode()):
            raise OAuth1Rejected("signature does not match")
        # Only a correctly signed request may consume a nonce, so forgeries cannot burn real ones.
        if not self.nonces.remember(consumer_key, token, fields["oauth_nonce"], timestamp, now=current):
            raise OAuth1Rejected("nonce was already used")
        return VerifiedRequest(consumer_key=consumer_key, token=token, realm=realm)
