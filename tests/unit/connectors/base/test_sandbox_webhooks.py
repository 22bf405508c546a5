"""The sandboxes' webhook sender: retries with the same bytes, duplicates, and the state it reports."""

from __future__ import annotations

import asyncio

import httpx

from tradewire.connectors.base.sandbox_webhooks import Delivery, WebhookSender


def delivery(object_id: str, *, duplicate: bool = False) -> Delivery:
    return Delivery(
        webhook_id=f"w-{object_id}",
        event_id=f"e-{object_id}",
        topic="orders/create",
        object_id=object_id,
        address="http://receiver.test/hook",
        body=f'{{"id": {object_id}}}'.encode(),
        headers={"Content-Type": "application/json"},
        triggered_at="2026-11-23T12:00:00Z",
        duplicate=duplicate,
    )


def run(deliveries: list[Delivery], answers: list[int]) -> list[bytes]:
    """Send ``deliveries`` to a receiver answering ``answers`` in turn (then 200); returns the bodies it got."""
    received: list[bytes] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request.content)
        return httpx.Response(queue.pop(0) if queue else 200)

    async def scenario() -> None:
        sender = WebhookSender(retry_delays=[0.01, 0.01], out_of_order_delay=0.01, duplicate_delay=0.01, concurrency=4)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            await sender.start(client)
            for item in deliveries:
                sender.enqueue(item)
            for _ in range(200):
                if not sender.busy:
                    break
                await asyncio.sleep(0.01)
            await sender.stop()

    asyncio.run(scenario())
    return received


def test_a_duplicated_delivery_ends_delivered_with_two_attempts() -> None:
    twice = delivery("1", duplicate=True)
    received = run([twice], [])
    assert received == [twice.body, twice.body]
    assert [a.duplicate for a in twice.attempts] == [False, True]
    assert twice.state == "delivered", "the duplicate POST must not leave the delivery looking in flight"


def test_a_failed_attempt_is_retried_with_the_same_bytes_until_it_fails_for_good() -> None:
    retried, doomed = delivery("2"), delivery("3")
    run([retried], [500])
    assert [a.status for a in retried.attempts] == [500, 200]
    assert retried.state == "delivered"
    run([doomed], [503, 503, 503])
    assert [a.status for a in doomed.attempts] == [503, 503, 503]
    assert doomed.state == "failed"
