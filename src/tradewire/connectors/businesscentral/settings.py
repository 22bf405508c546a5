"""Settings and secrets of one Business Central connection (Entra ID client credentials)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from tradewire.connectors.base.spec import Connection
from tradewire.errors import PermanentError

_GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
API_SCOPE = "https://api.businesscentral.dynamics.com/.default"


class BusinessCentralSettings(BaseModel):
    """What a Business Central connection needs besides its secrets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str = Field(
        min_length=1,
        max_length=120,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]*$",
        description="Entra ID tenant: its GUID or a verified domain (contoso.onmicrosoft.com).",
    )
    environment: str = Field(
        default="production",
        min_length=1,
        max_length=60,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Business Central environment name as shown in the admin centre ('production', 'sandbox').",
    )
    company_id: str = Field(pattern=_GUID, description="Id (GUID) of the company, from GET …/api/v2.0/companies.")
    base_url: str = Field(
        default="https://api.businesscentral.dynamics.com",
        description="API root; requests go to {base_url}/v2.0/{tenant}/{environment}/api/v2.0/… (a sandbox or proxy).",
    )
    authority_url: str = Field(
        default="https://login.microsoftonline.com",
        description="Entra ID authority; the token is fetched from {authority_url}/{tenant}/oauth2/v2.0/token.",
    )
    scope: str = Field(default=API_SCOPE, description="OAuth scope asked for with the client credentials.")
    customer_number_prefix: str = Field(
        default="TW",
        pattern=r"^[A-Z0-9]{0,6}$",
        description=(
            "Prefix of customer numbers Tradewire assigns: prefix + the canonical customer id's hex, cut to BC's "
            "20 characters. The number is the customer's idempotency key (looked up before create). The number "
            "series for customers must allow manual numbers."
        ),
    )
    local_currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description=(
            "The company's local currency (LCY). BC leaves currencyCode empty for it, so orders in this currency are "
            "sent with currencyCode '' and any other currency with its ISO code (which must exist in BC)."
        ),
    )
    shipping_account_number: str | None = Field(
        default=None,
        max_length=20,
        description=(
            "G/L account number that carries the channel's shipping charge as an Account line. Empty refuses orders "
            "with shipping rather than dropping the charge."
        ),
    )
    max_concurrency: int = Field(
        default=5,
        ge=1,
        le=100,
        description=(
            "Requests this process keeps in flight. Business Central runs 5 at once per user and queues the rest "
            "(429 past 95 queued), so keep the sum over processes near 5."
        ),
    )
    page_size: int = Field(default=1000, ge=1, le=20000, description="Prefer: odata.maxpagesize for list reads.")
    request_timeout_seconds: float = Field(
        default=60.0, gt=0, le=600, description="Seconds to wait for connect, read and write of one request."
    )
    webhook_resources: tuple[str, ...] = Field(
        default=(),
        description="Entities to keep webhook subscriptions on (e.g. salesOrders, customers); the scheduler "
        "creates them and renews each a day before its 3-day expiry. Needs api.public_url and webhook_client_state.",
    )
    poll_overlap_seconds: float = Field(
        default=120.0,
        ge=0,
        le=3600,
        description="Polls re-read this far behind the cursor, so records committed late are not missed.",
    )
    poll_lookback_hours: float = Field(
        default=24.0, gt=0, le=24 * 90, description="How far back the very first poll reads."
    )
    entity_changed_statuses: tuple[int, ...] = Field(
        default=(409, 412),
        description=(
            "[unverified] HTTP statuses of Request_EntityChanged (stale If-Match). The OData code decides when "
            "present; an answer with one of these statuses and no readable code is treated as a stale etag too."
        ),
    )

    @property
    def api_root(self) -> str:
        """``{base_url}/v2.0/{tenant}/{environment}/api/v2.0``."""
        return f"{self.base_url.rstrip('/')}/v2.0/{self.tenant_id}/{self.environment}/api/v2.0"

    @property
    def company_path(self) -> str:
        """Path of the company below the API root: ``/companies({id})``."""
        return f"/companies({self.company_id})"

    @property
    def token_url(self) -> str:
        """The tenant's OAuth 2.0 v2 token endpoint."""
        return f"{self.authority_url.rstrip('/')}/{self.tenant_id}/oauth2/v2.0/token"


class BusinessCentralSecrets(BaseModel):
    """The Entra ID app registration's credentials (the app is also registered inside Business Central)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: SecretStr = Field(min_length=1, description="Application (client) id of the Entra ID app.")
    client_secret: SecretStr = Field(min_length=1, description="A client secret of that app.")
    webhook_client_state: SecretStr | None = Field(
        default=None,
        description="clientState given to subscriptions (≤ 2048 chars); notifications must carry it back.",
    )


def validate_connection(connection: Connection) -> tuple[BusinessCentralSettings, BusinessCentralSecrets]:
    """The connection's parsed settings and secrets.

    Raises:
        PermanentError: names the failing fields (never their values).
    """
    problems: list[str] = []
    settings = _validate(BusinessCentralSettings, connection.settings, "settings", problems)
    secrets = _validate(BusinessCentralSecrets, connection.secrets, "secrets", problems)
    if settings is None or secrets is None:
        raise PermanentError(
            f"Business Central connection {connection.id} is misconfigured ({', '.join(problems)}): "
            "fix its settings or secrets"
        )
    return settings, secrets


ModelT = TypeVar("ModelT", BusinessCentralSettings, BusinessCentralSecrets)


def _validate(model: type[ModelT], values: Mapping[str, object], where: str, problems: list[str]) -> ModelT | None:
    try:
        # ``poll`` holds the scheduler's per-stream intervals, not a vendor setting.
        return model.model_validate({k: v for k, v in values.items() if k != "poll"})
    except ValidationError as exc:
        problems.extend(f"{where}." + ".".join(str(p) for p in err["loc"]) for err in exc.errors())
        return None
