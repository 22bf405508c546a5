"""Helpers for acceptance tests: the real ``tradewire`` CLI as subprocesses on 127.0.0.1."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest

TRADEWIRE = Path(sys.executable).with_name("tradewire")


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: ours, minus settings a developer may have exported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIRE_")}
    for name in ("TRADEWIRE_TEST_DATABASE_URL", "TRADEWIRE_REQUIRE_POSTGRES"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str], *, cwd: Path, timeout: float = 120.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``tradewire ARGS`` to the end and capture its output."""
    return subprocess.run(
        [str(TRADEWIRE), *args],
        cwd=cwd,
        env=env if env is not None else cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def new_secret_key() -> str:
    """A fresh TRADEWIRE_SECRET_KEY (well over 32 characters)."""
    return secrets.token_urlsafe(48)


@dataclass
class Child:
    """One long-running ``tradewire`` subprocess with its output in a file."""

    name: str
    args: list[str]
    env: dict[str, str]
    cwd: Path
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    starts: int = 0

    @property
    def log_path(self) -> Path:
        """Where stdout and stderr of every incarnation go."""
        return self.cwd / f"{self.name}.log"

    def start(self) -> Child:
        """Start (or restart) the process."""
        if self._log is None:
            self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(TRADEWIRE), *self.args],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.starts += 1
        return self

    def alive(self) -> bool:
        """True while the current incarnation runs."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the current incarnation (by its pid) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not leave in time; closes the log."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Children:
    """Every subprocess a test started; ``stop_all`` ends them all."""

    items: list[Child] = field(default_factory=list)

    def start(self, name: str, args: list[str], *, env: dict[str, str], cwd: Path) -> Child:
        """Start one more child."""
        child = Child(name, args, env, cwd).start()
        self.items.append(child)
        return child

    def stop_all(self) -> None:
        """Terminate every child (SIGKILL the slow ones)."""
        for child in self.items:
            if child.alive():
                assert child.proc is not None
                child.proc.terminate()
        for child in self.items:
            child.stop(timeout=10)


def wait_healthy(url: str, child: Child, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers 200; fail with the child's output if it died or never answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            pytest.fail(f"{child.name} exited early:\n{child.output()[-4000:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {timeout}s:\n{child.output()[-4000:]}")
