"""``create_app(settings, store)``: the FastAPI application of ``tradewire serve``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tradewire import __version__
from tradewire.api import problems
from tradewire.api.deps import AppState, StateDep
from tradewire.api.routes_access import router as access_router
from tradewire.api.routes_operations import router as operations_router
from tradewire.api.routes_returns import router as returns_router
from tradewire.api.routes_runs import router as runs_router
from tradewire.api.routes_webhooks import router as webhooks_router
from tradewire.api.schemas import Health
from tradewire.runtime.store.port import Store
from tradewire.services.ingest import WebhookIngest
from tradewire.settings import Settings


def create_app(settings: Settings, store: Store, ingest: WebhookIngest) -> FastAPI:
    """The app, wired to ``store``; the caller owns and closes the store."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await ingest.batcher.aclose()

    app = FastAPI(
        title="Tradewire",
        version=__version__,
        summary="Retail integration platform: webhooks in, durable flows, operator API",
        lifespan=lifespan,
    )
    app.state.tradewire = AppState(settings=settings, store=store, ingest=ingest)
    problems.install(app)
    app.include_router(webhooks_router)
    app.include_router(runs_router)
    app.include_router(returns_router)
    app.include_router(operations_router)
    app.include_router(access_router)

    @app.get("/healthz", response_model=Health, tags=["operations"], summary="Liveness and database reachability")
    def healthz(app_state: StateDep) -> Health:
        counts = app_state.store.count_all_by_state()
        return Health(status="ok", database=app_state.store.dialect, runs=counts)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
