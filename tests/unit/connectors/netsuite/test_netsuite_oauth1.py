"""OAuth 1.0a HMAC-SHA256: Oracle's published vectors byte for byte, and the server-side checks."""

from __future__ import annotations

import pytest

from tradewire.connectors.base.oauth1 import (
    OAuth1Auth,
    OAuth1Rejected,
    OAuth1Verifier,
    parse_authorization_header,
    percent_encode,
)

CONSUMER_KEY = "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4"
CONSUMER_SECRET = "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5"
TOKEN = "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc"
TOKEN_SECRET = "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295"
NONCE = "fjaLirsIcCGVZWzBX0pg"
TIMESTAMP = 1508242306

A2_URL = "https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/employee/40"
A2_BASE = (
    "GET&https%3A%2F%2F123456.suitetalk.api.netsuite.com%2Fservices%2Frest%2Frecord%2Fv1%2Femployee%2F40&"
    "oauth_consumer_key%3Def40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4%26"
    "oauth_nonce%3DfjaLirsIcCGVZWzBX0pg%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1508242306%26"
    "oauth_token%3D2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc%26oauth_version%3D1.0"
)
A2_SIGNATURE = "B5OIWznZ2YP0OB7VrJrGkYsTh+8H+5T9Hag+o92q0zY="
A2_HEADER = (
    'OAuth realm="123456", oauth_token="2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc", '
    'oauth_consumer_key="ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4", '
    'oauth_nonce="fjaLirsIcCGVZWzBX0pg", oauth_timestamp="1508242306", oauth_signature_method="HMAC-SHA256", '
    'oauth_version="1.0", oauth_signature="B5OIWznZ2YP0OB7VrJrGkYsTh%2B8H%2B5T9Hag%2Bo92q0zY%3D"'
)
A3_URL = (
    "https://123456.restlets.api.netsuite.com/app/site/hosting/restlet.nl"
    "?script=6&deploy=1&customParam=someValue&testParam=someOtherValue"
)
A3_BASE = (
    "POST&https%3A%2F%2F123456.restlets.api.netsuite.com%2Fapp%2Fsite%2Fhosting%2Frestlet.nl&"
    "customParam%3DsomeValue%26deploy%3D1%26"
    "oauth_consumer_key%3Def40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4%26"
    "oauth_nonce%3DfjaLirsIcCGVZWzBX0pg%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1508242306%26"
    "oauth_token%3D2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc%26oauth_version%3D1.0%26"
    "script%3D6%26testParam%3DsomeOtherValue"
)
A3_SIGNATURE = "+KK4SKNgz4ZiILGLwOMtfYlgcXSy1eis8ldE9X90azQ="


def oracle_auth(nonce: str = NONCE, timestamp: int = TIMESTAMP) -> OAuth1Auth:
    return OAuth1Auth(
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        token=TOKEN,
        token_secret=TOKEN_SECRET,
        realm="123456",
        nonce=lambda: nonce,
        clock=lambda: timestamp,
    )


def verifier(realm: str | None = "123456") -> OAuth1Verifier:
    def lookup(key: str, token: str) -> tuple[str, str] | None:
        return (CONSUMER_SECRET, TOKEN_SECRET) if (key, token) == (CONSUMER_KEY, TOKEN) else None

    return OAuth1Verifier(lookup, realm=realm, window_seconds=300)


def test_vector_a2_rest_get_matches_oracle_byte_for_byte() -> None:
    signed = oracle_auth().sign_request("GET", A2_URL)
    assert signed.base_string == A2_BASE
    assert signed.signature == A2_SIGNATURE
    assert signed.header == A2_HEADER


def test_vector_a3_restlet_post_signs_query_params_but_not_the_body() -> None:
    signed = oracle_auth().sign_request("POST", A3_URL)
    assert signed.base_string == A3_BASE
    assert signed.signature == A3_SIGNATURE
    assert 'oauth_signature="%2BKK4SKNgz4ZiILGLwOMtfYlgcXSy1eis8ldE9X90azQ%3D"' in signed.header
    assert signed.header.startswith('OAuth realm="123456", oauth_token="')


def test_httpx_auth_flow_sets_the_same_header_on_the_request() -> None:
    import httpx

    request = httpx.Request("POST", A3_URL, json={"body": "is not signed"})
    flow = oracle_auth().auth_flow(request)
    signed = next(flow)
    assert signed.headers["Authorization"] == oracle_auth().sign_request("POST", A3_URL).header


def test_percent_encoding_is_rfc3986() -> None:
    assert percent_encode("a b+c/~-._*'") == "a%20b%2Bc%2F~-._%2A%27"
    assert percent_encode("é") == "%C3%A9"


def test_verifier_accepts_the_published_example_at_its_own_time() -> None:
    verified = verifier().verify("GET", A2_URL, A2_HEADER, now=TIMESTAMP + 10)
    assert (verified.consumer_key, verified.token, verified.realm) == (CONSUMER_KEY, TOKEN, "123456")


def test_verifier_refuses_a_replayed_nonce() -> None:
    check = verifier()
    check.verify("GET", A2_URL, A2_HEADER, now=TIMESTAMP)
    with pytest.raises(OAuth1Rejected, match="nonce"):
        check.verify("GET", A2_URL, A2_HEADER, now=TIMESTAMP + 1)


@pytest.mark.parametrize(
    ("method", "url", "now", "reason"),
    [
        ("GET", A2_URL + "?fields=id", TIMESTAMP, "signature"),  # a query parameter added after signing
        ("GET", A2_URL.replace("/40", "/41"), TIMESTAMP, "signature"),
        ("DELETE", A2_URL, TIMESTAMP, "signature"),
        ("GET", A2_URL, TIMESTAMP + 301, "window"),
        ("GET", A2_URL, TIMESTAMP - 301, "window"),
    ],
)
def test_verifier_refuses_tampering_and_stale_requests(method: str, url: str, now: int, reason: str) -> None:
    with pytest.raises(OAuth1Rejected, match=reason):
        verifier().verify(method, url, A2_HEADER, now=now)


def test_verifier_refuses_wrong_realm_unknown_token_and_missing_header() -> None:
    with pytest.raises(OAuth1Rejected, match="realm"):
        verifier(realm="999999").verify("GET", A2_URL, A2_HEADER, now=TIMESTAMP)
    other = A2_HEADER.replace(TOKEN, "0" * 64)
    with pytest.raises(OAuth1Rejected, match="unknown"):
        verifier().verify("GET", A2_URL, other, now=TIMESTAMP)
    with pytest.raises(OAuth1Rejected, match="no Authorization"):
        verifier().verify("GET", A2_URL, None, now=TIMESTAMP)
    with pytest.raises(OAuth1Rejected, match="not an OAuth"):
        verifier().verify("GET", A2_URL, "Bearer abc", now=TIMESTAMP)


def test_forged_request_does_not_burn_the_real_nonce() -> None:
    check = verifier()
    forged = A2_HEADER.replace("B5OIWznZ", "X5OIWznZ")
    with pytest.raises(OAuth1Rejected, match="signature"):
        check.verify("GET", A2_URL, forged, now=TIMESTAMP)
    check.verify("GET", A2_URL, A2_HEADER, now=TIMESTAMP)


def test_header_parser_decodes_values_and_refuses_repeats() -> None:
    fields = parse_authorization_header(A2_HEADER)
    assert fields["oauth_signature"] == A2_SIGNATURE
    assert fields["realm"] == "123456"
    with pytest.raises(OAuth1Rejected, match="twice"):
        parse_authorization_header('OAuth oauth_nonce="a", oauth_nonce="b"')
