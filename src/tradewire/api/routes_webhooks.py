"""``POST /webhooks/{system}/{connection_id}``: verify, store, acknowledge. No vendor calls here."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tradewire.api.deps import state
from tradewire.api.problems import PayloadTooLarge
from tradewire.api.schemas import WebhookAck
from tradewire.connectors.base.spec import NO_QUERY

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
async def receive_webhook(system: str, connection_id: str, request: Request) -> WebhookAck | Response:
    """Verify the delivery's signature, store it durably with its runs, then answer 200.

    A repeated delivery (same vendor event id) is answered 200 and changes nothing. A
    subscription handshake (Business Central's ``validationToken``) is answered as the vendor expects.
    """
    app = state(request)  # read directly: this is the hot path, dependency injection costs ~14 % of it
    body = await read_limited(request, app.settings.api.max_body_bytes)
    query = dict(request.query_params) if request.url.query else NO_QUERY
    accepted = await app.ingest.receive(system, connection_id, body, dict(request.headers), query)
    if accepted.reply is not None:
        reply = accepted.reply
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)
    return WebhookAck(
        status=accepted.status, message_id=accepted.message_id, run_ids=list(accepted.run_ids), detail=accepted.detail
    )
