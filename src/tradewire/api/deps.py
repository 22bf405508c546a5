"""What routes need, held on ``app.state`` and handed out as FastAPI dependencies."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from tradewire.api.problems import Unauthorized
from tradewire.runtime.store.port import Store
from tradewire.services.ingest import WebhookIngest
from tradewire.services.operations import Operations, pick_client
from tradewire.settings import Settings


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


def operations(
    request: Request,
    x_tradewire_client: Annotated[str | None, Header(description="Client id (optional when only one exists)")] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Operations:
    """The operator use cases for the request's client, after checking the API token."""
    app_state = state(request)
    token = app_state.settings.api.token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}"
        if authorization is None or not hmac.compare_digest(authorization.encode(), expected.encode()):
            raise Unauthorized("a valid 'Authorization: Bearer <token>' header is required")
    client_id = pick_client(app_state.store, x_tradewire_client)
    return Operations(app_state.store, client_id, actor="api")


OperationsDep = Annotated[Operations, Depends(operations)]
StateDep = Annotated[AppState, Depends(state)]
