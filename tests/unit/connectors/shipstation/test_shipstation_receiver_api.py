"""SHIP_NOTIFY through the real receiver (``create_app`` + ingest on a SQLite file): token, dedupe, refusals."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from shipstation_helpers import BASE, CREDS, TOKEN
from sqlalchemy import func, select

from tradewire.api.app import create_app
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.tables import messages
from tradewire.services.processes import build_ingest
from tradewire.settings import Settings
from tradewire.tenancy.secrets import SecretBox

SECRET_KEY = "shipstation-receiver-tests-" + "k" * 40
NOTIFY = json.dumps(
    {"resource_url": f"{BASE}/shipments?batchId=4711&includeShipmentItems=False", "resource_type": "SHIP_NOTIFY"}
)


def test_ship_notify_through_the_real_receiver(sqlite_url: str) -> None:
    settings = Settings(secret_key=SECRET_KEY, database={"url": sqlite_url})
    store = open_store(sqlite_url, settings=settings.database)
    try:
        partner = store.create_partner(f"Partner {uuid.uuid4().hex[:6]}")
        client = store.create_client(partner, "Retailer")
        sealed = SecretBox(SECRET_KEY).seal(CREDS)
        connection_id = store.create_connection(client, "shipstation", "ShipStation", {"base_url": BASE}, sealed)
        answers = asyncio.run(_deliver(settings, store, f"/webhooks/shipstation/{connection_id}"))
        with store.engine.connect() as db:  # type: ignore[attr-defined]
            stored = db.execute(select(func.count()).select_from(messages)).scalar_one()
    finally:
        store.close()
    ok, again, no_token, wrong, forged, order_notify, garbage = answers
    assert (ok.status_code, ok.json()["status"]) == (200, "stored")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert no_token.status_code == 401
    assert "token" in no_token.json()["detail"]
    assert wrong.status_code == 401
    assert TOKEN not in wrong.text
    assert forged.status_code == 400
    assert "credentials are never sent elsewhere" in forged.json()["detail"]
    assert (order_notify.status_code, order_notify.json()["status"]) == (200, "ignored")
    assert garbage.status_code == 400
    assert stored == 1


async def _deliver(settings: Settings, store: Any, path: str) -> list[httpx.Response]:
    ingest = build_ingest(settings, store)
    app = create_app(settings, store, ingest)
    forged = NOTIFY.replace("ssapi.shipstation.com", "ssapi.shipstation.com.attacker.example")
    order_notify = NOTIFY.replace('"SHIP_NOTIFY"', '"ORDER_NOTIFY"')
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tw.test") as http:
            good = {"token": TOKEN}
            return [
                await http.post(path, params=good, content=NOTIFY),
                await http.post(path, params=good, content=NOTIFY),
                await http.post(path, content=NOTIFY),
                await http.post(path, params={"token": "x" * 30}, content=NOTIFY),
                await http.post(path, params=good, content=forged),
                await http.post(path, params=good, content=order_notify),
                await http.post(path, params=good, content=b"<html>oops</html>"),
            ]
    finally:
        await ingest.batcher.aclose()
        ingest.db.shutdown()
