"""One wording for the errors every connector has: throttled, unavailable, credentials refused."""

from __future__ import annotations

from tradewire.connectors.base.http import ErrorFamily, translate_common
from tradewire.errors import VendorAuthError, VendorRateLimited, VendorRejected, VendorRetryable


class AcmeThrottled(VendorRateLimited):
    pass


class AcmeDown(VendorRetryable):
    pass


class AcmeAuth(VendorAuthError):
    pass


FAMILY = ErrorFamily("Acme", "acme", AcmeThrottled, AcmeDown, AcmeAuth, "over 10/s", "the API key")


def test_each_kind_becomes_the_connectors_class_with_the_vendors_reason() -> None:
    throttled = translate_common(
        VendorRateLimited("429", status=429, retry_after=7.0, detail={"reason": "slow down"}), FAMILY, "list orders"
    )
    assert isinstance(throttled, AcmeThrottled)
    assert throttled.retry_after == 7.0
    assert str(throttled) == "Acme throttled list orders (over 10/s): slow down"
    down = translate_common(VendorRetryable("boom", status=503, detail={"body": "<html>"}), FAMILY, "get order 1")
    assert isinstance(down, AcmeDown)
    assert str(down) == "Acme failed get order 1 (503): <html>"
    refused = translate_common(VendorAuthError("no", status=401), FAMILY, "get order 1")
    assert isinstance(refused, AcmeAuth)
    assert "refused the API key for get order 1 (401)" in str(refused)
    assert refused.detail["what"] == "get order 1"


def test_other_rejections_are_left_to_the_connector() -> None:
    assert translate_common(VendorRejected("bad", status=422), FAMILY, "create order") is None
