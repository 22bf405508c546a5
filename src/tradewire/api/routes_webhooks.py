"""``POST /webhooks/{system}/{connection_id}``: verify, store, acknowledge. No vendor calls here."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tradewire.api.deps import state
from tradewire.api.problems import PayloadTooLarge
from tradewire.api.schemas import WebhookAck

router = APIRouter(tags=["webhooks"])


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes (413) before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/webhooks/{system}/{connection_id}",
    response_model=WebhookAck,
    summary="Receive a vendor webhook",
    responses={401: {"description": "Unsigned, tampered or stale"}, 404: {"description": "Unknown connection"},
               413: {"description": "Body too large"}},
)  # fmt: skip
async def receive_webhook(system: str, connection_id: str, request: Request) -> WebhookAck:
    """Verify the delivery's signature, store it durably with its runs, then answer 200.

    A repeated delivery (same vendor event id) is answered 200 and changes nothing.
    """
    app = state(request)  # read directly: this is the hot path, dependency injection costs ~14 % of it
    body = await read_limited(request, app.settings.api.max_body_bytes)
    accepted = await app.ingest.receive(system, connection_id, body, dict(request.headers))
    return WebhookAck(
        status=accepted.status, message_id=accepted.message_id, run_ids=list(accepted.run_ids), detail=accepted.detail
    )
