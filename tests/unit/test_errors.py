"""The error hierarchy is a contract: callers decide by marker, so the markers are pinned here."""

from __future__ import annotations

from tradewire import errors as e


def test_markers_say_what_to_do() -> None:
    assert issubclass(e.VendorRateLimited, e.RetryableError)
    assert issubclass(e.VendorRetryable, e.RetryableError)
    assert issubclass(e.RateBudgetWait, e.RetryableError)
    assert issubclass(e.ConnectionPaused, e.RateBudgetWait)
    assert issubclass(e.VendorRejected, e.PermanentError)
    assert issubclass(e.MappingError, e.PermanentError)
    assert issubclass(e.VendorAuthError, e.AuthError)
    assert issubclass(e.AuthError, e.PermanentError)
    assert not issubclass(e.VendorRejected, e.RetryableError)
    assert not issubclass(e.VendorRetryable, e.PermanentError)
    assert all(issubclass(cls, e.VendorError) for cls in (e.VendorRetryable, e.VendorRejected, e.VendorAuthError))


def test_retryable_vendor_errors_carry_retry_after_and_status() -> None:
    err = e.VendorRateLimited("slow down", status=429, system="netsuite", retry_after=2.5)
    assert err.retry_after == 2.5
    assert err.status == 429
    assert err.system == "netsuite"
    assert str(err) == "slow down"
