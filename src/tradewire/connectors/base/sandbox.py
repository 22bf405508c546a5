"""Shared parts of vendor sandboxes: fault knobs and a loopback server.

A sandbox is a stateful, fault-injectable ASGI fake of one vendor. The same app runs
in-process (``httpx.ASGITransport``) for unit tests and on ``127.0.0.1:<port>`` for
integration tests and the demo.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn
from pydantic import BaseModel, Field


class FaultKnobs(BaseModel):
    """How badly a sandbox behaves. All rates are probabilities per request (0–1)."""

    fail_rate: float = Field(default=0.0, ge=0, le=1, description="Answer 500/503 instead of doing the work.")
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1, description="Answer 429 with Retry-After at random.")
    rate_limit_after: int | None = Field(
        default=None, ge=0, description="Answer 429 once this many requests were served."
    )
    timeout_rate: float = Field(default=0.0, ge=0, le=1, description="Hang for timeout_seconds, then answer 504.")
    timeout_seconds: float = Field(default=35.0, ge=0, description="How long a simulated timeout hangs.")
    latency_ms: float = Field(default=0.0, ge=0, description="Added to every answer.")
    retry_after_seconds: float = Field(default=1.0, ge=0, description="Retry-After sent with simulated 429s.")
    duplicate_webhook_rate: float = Field(default=0.0, ge=0, le=1, description="Send a webhook twice (same ids).")
    out_of_order_rate: float = Field(
        default=0.0, ge=0, le=1, description="Delay a webhook so a later one overtakes it."
    )
    seed: int | None = Field(default=None, description="Seed for the fault dice (repeatable runs).")


class FaultDice:
    """Rolls the knobs; one per sandbox so a seed gives a repeatable run."""

    def __init__(self, knobs: FaultKnobs) -> None:
        self.knobs = knobs
        self._random = random.Random(knobs.seed)
        self.served = 0

    def roll(self, probability: float) -> bool:
        """True with ``probability``."""
        return probability > 0 and self._random.random() < probability

    def uniform(self, low: float, high: float) -> float:
        """A number between ``low`` and ``high``."""
        return self._random.uniform(low, high)

    async def delay(self) -> None:
        """Sleep the configured latency."""
        if self.knobs.latency_ms > 0:
            await asyncio.sleep(self.knobs.latency_ms / 1000.0)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class LoopbackServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread."""

    app: Any
    port: int = 0
    host: str = "127.0.0.1"
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> LoopbackServer:
        """Start serving; returns once the port accepts connections."""
        if self.port == 0:
            self.port = free_port(self.host)
        config = uvicorn.Config(
            self.app, host=self.host, port=self.port, log_level="warning", access_log=False, lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
