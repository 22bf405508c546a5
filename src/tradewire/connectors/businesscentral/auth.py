"""Entra ID client-credentials tokens for Business Central, cached per client with ``TokenCache``."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx

from tradewire.connectors.base.http import json_body
from tradewire.connectors.base.tokens import AccessToken, TokenCache
from tradewire.connectors.businesscentral.settings import BusinessCentralSecrets, BusinessCentralSettings
from tradewire.errors import VendorAuthError, VendorRetryable

SYSTEM = "businesscentral"
TOKEN_SOURCE = "entra"  # noqa: S105 - not a secret: detail["source"] of errors from the token endpoint (a fresh token cannot help)


class EntraTokenSource:
    """Fetches app-only tokens: ``POST {authority}/{tenant}/oauth2/v2.0/token`` (client_credentials).

    Args:
        settings: where the authority is and which scope to ask for.
        secrets: the app's client id and secret (never logged, never in messages).
        transport: an httpx transport (the in-process sandbox in tests).
    """

    def __init__(
        self,
        settings: BusinessCentralSettings,
        secrets: BusinessCentralSecrets,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(settings.request_timeout_seconds), transport=transport)

    async def fetch(self) -> AccessToken:
        """One new token.

        Raises:
            VendorAuthError: Entra ID refused the client id or secret (``invalid_client`` …).
            VendorRetryable: the token endpoint failed, timed out or answered garbage.
        """
        form = {
            "grant_type": "client_credentials",
            "client_id": self._secrets.client_id.get_secret_value(),
            "client_secret": self._secrets.client_secret.get_secret_value(),
            "scope": self._settings.scope,
        }
        try:
            response = await self._client.post(self._settings.token_url, data=form)
        except httpx.HTTPError as exc:
            raise VendorRetryable(
                f"Entra ID token endpoint unreachable: {exc.__class__.__name__}", system=SYSTEM
            ) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise VendorRetryable(
                f"Entra ID token endpoint failed ({response.status_code})", status=response.status_code, system=SYSTEM
            )
        data = json_body(response, system=SYSTEM, what="the token request")
        if response.status_code >= 400 or not isinstance(data, dict) or not data.get("access_token"):
            code = data.get("error", "unknown") if isinstance(data, dict) else "unknown"
            described = data.get("error_description", "") if isinstance(data, dict) else ""
            first_line = str(described).splitlines()[0] if described else ""
            raise VendorAuthError(
                f"Entra ID refused the app credentials ({response.status_code} {code}): {first_line}".rstrip(": "),
                status=response.status_code,
                system=SYSTEM,
                detail={"source": TOKEN_SOURCE},
            )
        try:
            lifetime = float(data.get("expires_in", 3599))
        except (TypeError, ValueError):
            lifetime = 3599.0
        return AccessToken(str(data["access_token"]), lifetime)

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()


class BearerAuth(httpx.Auth):
    """Puts the cached token on each request."""

    def __init__(self, tokens: TokenCache) -> None:
        self.tokens = tokens

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self.tokens.get()}"
        yield request
