"""The sandbox's outbound webhooks: subscriptions per topic and trigger, bodies signed as Loop signs them.

Loop subscribes an address per topic + trigger and signs each body with ``X-Loop-Signature``
(base64 HMAC-SHA256 of the exact bytes). The generic sender in ``connectors.base.sandbox_webhooks``
posts each delivery, retries it with the same bytes, and applies the duplicate / out-of-order knobs.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from tradewire.connectors.base.auth import hmac_sha256_base64
from tradewire.connectors.base.sandbox import FaultDice, FaultKnobs
from tradewire.connectors.base.sandbox_webhooks import Delivery, WebhookSender
from tradewire.connectors.loop.sandbox_data import webhook_payload
from tradewire.connectors.loop.sandbox_options import TOPIC_TRIGGERS, SandboxOptions


class Outbox:
    """Subscriptions and deliveries of one sandbox account (thread-safe)."""

    def __init__(self, webhook_secret: str, options: SandboxOptions) -> None:
        self.webhook_secret = webhook_secret
        self.options = options
        self.subscriptions: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.sender = WebhookSender(
            retry_delays=options.webhook_retry_delays,
            out_of_order_delay=options.out_of_order_delay_seconds,
            duplicate_delay=options.duplicate_delay_seconds,
            concurrency=options.webhook_concurrency,
        )

    def subscribe(self, topic: str, address: str, triggers: Sequence[str] | None = None) -> dict[str, Any]:
        """Subscribe ``address`` to ``topic`` (``return``, ``label``, ``restock``, ``return.processing``),
        for some or all of its triggers.

        Raises:
            ValueError: unknown topic or trigger, or an address that is not http(s).
        """
        topic = topic.strip().lower()
        if topic not in TOPIC_TRIGGERS:
            raise ValueError(f"topic {topic!r} is not supported; known: {', '.join(TOPIC_TRIGGERS)}")
        chosen = tuple(triggers) if triggers else TOPIC_TRIGGERS[topic]
        unknown = set(chosen) - set(TOPIC_TRIGGERS[topic])
        if unknown:
            raise ValueError(f"triggers {sorted(unknown)} do not belong to topic {topic!r}")
        if not address.startswith(("http://", "https://")):
            raise ValueError("address must be an http(s) URL")
        with self._lock:
            subscription = {"id": len(self.subscriptions) + 1, "topic": topic, "triggers": list(chosen), "url": address}
            self.subscriptions.append(subscription)
            return dict(subscription)

    def body(self, topic: str, trigger: str, record: Mapping[str, Any], label: Mapping[str, Any] | None) -> bytes:
        """The bytes Loop would send (see ``sandbox_data.webhook_payload``)."""
        return webhook_payload(
            topic,
            trigger,
            record,
            label,
            ids_as_strings=self.options.webhook_ids_as_strings,
            escape_slashes=self.options.escape_slashes,
        )

    def emit(
        self,
        topic: str,
        trigger: str,
        record: Mapping[str, Any],
        *,
        label: Mapping[str, Any] | None,
        knobs: FaultKnobs,
        dice: FaultDice,
        triggered_at: str,
    ) -> None:
        """Queue one signed delivery per subscription of ``topic`` that wants ``trigger``."""
        with self._lock:
            targets = [s for s in self.subscriptions if s["topic"] == topic and trigger in s["triggers"]]
        if not targets:
            return
        body = self.body(topic, trigger, record, label)
        stamp = str((label or {}).get("updated_at") or record.get("edited_at") or triggered_at)
        for subscription in targets:
            delivery = Delivery(
                webhook_id=str(uuid.uuid4()),
                event_id=f"{record['id']}:{trigger}:{stamp}",
                topic=trigger,
                object_id=str(record["id"]),
                address=subscription["url"],
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": "Loop-Webhooks/1.0",
                    "X-Loop-Signature": hmac_sha256_base64(self.webhook_secret, body),
                },
                triggered_at=triggered_at,
            )
            delivery.duplicate = dice.roll(knobs.duplicate_webhook_rate)
            delivery.out_of_order = dice.roll(knobs.out_of_order_rate)
            self.sender.enqueue(delivery)

    def delivery_log(self, return_id: int | None = None) -> list[dict[str, Any]]:
        """Every delivery (optionally of one return): ids, trigger, first send time, each attempt's status."""
        with self._lock:
            log = list(self.sender.log)
        return [
            {**d.to_json(), "return_id": d.object_id} for d in log if return_id is None or d.object_id == str(return_id)
        ]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is queued, in flight or waiting for a retry (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while self.sender.busy:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True
