"""The error taxonomy: every error says what the caller should do with it.

Markers (what to do) are mixed into domain errors (where it came from):
``class ShopifyRateLimited(ShopifyError, RetryableError)``. The runtime only
looks at the markers; people read the domain class and the message.
"""

from __future__ import annotations


class TradewireError(Exception):
    """Base of every error Tradewire raises on purpose."""

    def __init__(self, message: str, *, detail: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail: dict[str, object] = dict(detail or {})

    def __str__(self) -> str:
        return self.message


# --- markers: what the caller should do -------------------------------------------------


class RetryableError(TradewireError):
    """Try again later; ``retry_after`` (seconds) wins over the backoff when set."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        detail: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class PermanentError(TradewireError):
    """Retrying cannot help: the run goes to the dead letters with this reason."""


class RateBudgetWait(RetryableError):
    """The connection's shared rate budget is empty for longer than a run should hold its lease.

    The run is parked (``waiting``) until the bucket refills; it does not count as a failure.
    """


class ConnectionPaused(RateBudgetWait):
    """The connection is paused (credentials refused, or by an operator): park until resumed."""


class SkippableError(TradewireError):
    """Nothing to do for this input (e.g. a topic we do not handle): the run ends as skipped."""


class AuthError(PermanentError):
    """Credentials were refused (401/403): the connection is paused and an operator alerted."""


# --- domain errors -------------------------------------------------------------------------


class ConfigError(PermanentError):
    """Settings, a config file or a connection's configuration are invalid.

    At start-up it stops the process; in a run it is permanent (fix the configuration, then
    replay the dead letter), because retrying cannot change the configuration.
    """


class ValidationFailed(PermanentError):
    """Input data breaks a rule of the canonical model or of a vendor schema."""


class MappingError(ValidationFailed):
    """A vendor payload cannot be turned into the canonical model."""


class WebhookRejected(TradewireError):
    """An inbound delivery was refused (bad signature, stale, unknown topic)."""

    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class WebhookIgnored(TradewireError):
    """A genuine delivery we have no use for (e.g. a topic no flow handles): answer 200, store nothing."""


class NotFound(TradewireError):
    """The thing asked for does not exist (or belongs to another client)."""


class Conflict(TradewireError):
    """The request clashes with the current state (e.g. replay of a running run)."""


class Unauthenticated(TradewireError):
    """No valid credential: a missing, unknown, revoked or expired API key (401 everywhere)."""


class Forbidden(TradewireError):
    """The caller may see the thing but not do this to it (403); unseen things are NotFound instead."""


class TenantContextMissing(TradewireError):
    """A tenant query ran without a client context: a programming error, never user input."""


class LeaseLost(TradewireError):
    """A worker tried to finish a run it no longer owns (another worker rescued it)."""


class VendorError(TradewireError):
    """Base of errors returned by an external system."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        system: str = "",
        detail: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, detail=detail)
        self.status = status
        self.system = system


class VendorRetryable(VendorError, RetryableError):
    """429, 5xx, timeouts, connection resets: the vendor may answer later."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        system: str = "",
        retry_after: float | None = None,
        detail: dict[str, object] | None = None,
    ) -> None:
        VendorError.__init__(self, message, status=status, system=system, detail=detail)
        self.retry_after = retry_after


class VendorRateLimited(VendorRetryable):
    """The vendor throttled us (429 or an equivalent hidden in a 200 body)."""


class VendorRejected(VendorError, PermanentError):
    """A 4xx other than 401/403/429: the request itself is wrong; retrying cannot help."""


class VendorAuthError(VendorError, AuthError):
    """401/403 from the vendor: credentials are wrong or revoked."""
