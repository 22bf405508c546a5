"""Fixtures for the NetSuite connector tests: one fresh in-process sandbox per test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.netsuite.client import NetSuiteClient
from tradewire.connectors.netsuite.sandbox import create_sandbox
from tradewire.connectors.netsuite.settings import NetSuiteSecrets, NetSuiteSettings

ACCOUNT = "1234567_SB1"
CREDS = {"consumer_key": "ck-test", "consumer_secret": "cs-test", "token_id": "tok-test", "token_secret": "ts-test"}


@pytest.fixture
def settings() -> NetSuiteSettings:
    return NetSuiteSettings(account_id=ACCOUNT, subsidiary_id="1", discount_item_id="900", tax_item_id="901")


@pytest.fixture
def make_app() -> Callable[..., Starlette]:
    def make(knobs: FaultKnobs | None = None, **kwargs: Any) -> Starlette:
        return create_sandbox(account_id=ACCOUNT, **CREDS, knobs=knobs or FaultKnobs(seed=1), **kwargs)

    return make


@pytest.fixture
def make_client(settings: NetSuiteSettings) -> Callable[..., NetSuiteClient]:
    def make(
        app: Starlette,
        *,
        settings_: NetSuiteSettings | None = None,
        secrets: dict[str, str] | None = None,
        **client_kwargs: Any,
    ) -> NetSuiteClient:
        credentials = NetSuiteSecrets.model_validate({**CREDS, **(secrets or {})})
        transport = httpx.ASGITransport(app=app)
        return NetSuiteClient(settings_ or settings, credentials, transport=transport, **client_kwargs)

    return make
