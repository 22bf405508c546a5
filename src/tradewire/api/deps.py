"""What routes need, held on ``app.state`` and handed out as FastAPI dependencies.

Every ``/v1`` request authenticates with ``Authorization: Bearer <API key>`` (or the
installation token ``TRADEWIRE_API__TOKEN``, which acts for the installation), then acts on one
client: the ``X-Tradewire-Client`` header, else the key's own client, else the only client the
key can see. A client outside the key's scope does not exist for it (404).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request

from tradewire.errors import NotFound, Unauthenticated
from tradewire.governance.permissions import Permission, Principal
from tradewire.runtime.store.port import Store
from tradewire.services.access import authenticate
from tradewire.services.ingest import WebhookIngest
from tradewire.services.operations import Operations, pick_client
from tradewire.services.tenants import visible_clients
from tradewire.settings import Settings

INSTALLATION_ACTOR = "api:installation-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class AppState:
    """Everything the app shares between requests."""

    settings: Settings
    store: Store
    ingest: WebhookIngest


def state(request: Request) -> AppState:
    """The app's shared state."""
    app_state: AppState = request.app.state.tradewire
    return app_state


@dataclass(frozen=True)
class Caller:
    """Who sent the request: a key's principal, or None for the installation token; and from where."""

    principal: Principal | None
    actor: str
    source: str | None


def _bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """Authenticate the request (401 for a missing, malformed, unknown, revoked or expired key)."""
    app_state = state(request)
    source = request.client.host if request.client else None
    presented = _bearer(authorization)
    token = app_state.settings.api.token
    if (
        token is not None
        and presented is not None
        and hmac.compare_digest(presented.encode(), token.get_secret_value().encode())
    ):
        return Caller(None, INSTALLATION_ACTOR, source)
    try:
        principal = authenticate(app_state.store, presented, datetime.now(UTC))
    except Unauthenticated as exc:
        raise Unauthenticated(f"{exc}; send 'Authorization: Bearer <API key>'") from None
    return Caller(principal, f"api_key:{principal.name} ({principal.id})", source)


CallerDep = Annotated[Caller, Depends(caller)]


def choose_client(store: Store, principal: Principal | None, requested: str | None) -> str:
    """The client a request acts on, never one outside the caller's scope.

    Raises:
        NotFound: the requested client does not exist for the caller, or the caller sees several
            and named none.
    """
    if principal is None:
        return pick_client(store, requested)
    if requested is None and principal.client_id is not None:
        return principal.client_id
    # One query for the partner's clients; scope is decided in memory (not two queries per client).
    visible = [c.id for c in visible_clients(principal, store.list_client_records(principal.partner_id))]
    if requested is not None:
        if requested not in visible:
            raise NotFound(f"client {requested!r} does not exist")
        return requested
    if len(visible) == 1:
        return visible[0]
    if not visible:
        raise NotFound("this key sees no clients yet")
    raise NotFound(f"this key sees several clients; choose one with X-Tradewire-Client: {', '.join(visible)}")


def operations(
    request: Request,
    who: CallerDep,
    x_tradewire_client: Annotated[str | None, Header(description="Client id (optional when only one exists)")] = None,
) -> Operations:
    """The operator use cases for the request's client.

    Reading needs ``read``; any other method needs at least ``operate`` (services ask for more,
    e.g. ``configure``). Checked here, before the body is validated, so a caller without the
    permission learns nothing from validation errors.
    """
    store = state(request).store
    client_id = choose_client(store, who.principal, x_tradewire_client)
    ops = Operations(store, client_id, actor=who.actor, caller=who.principal, source=who.source)
    ops.require(Permission.READ if request.method in SAFE_METHODS else Permission.OPERATE)
    return ops


OperationsDep = Annotated[Operations, Depends(operations)]
StateDep = Annotated[AppState, Depends(state)]
