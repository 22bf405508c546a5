"""The token cache: one fetch shared by concurrent callers, refreshed before expiry, forgotten after a 401."""

from __future__ import annotations

import asyncio

import pytest

from tradewire.connectors.base.tokens import AccessToken, TokenCache
from tradewire.errors import AuthError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_concurrent_callers_share_one_fetch() -> None:
    calls = 0

    async def fetch() -> AccessToken:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return AccessToken(f"token-{calls}", 3600)

    async def scenario() -> list[str]:
        cache = TokenCache(fetch)
        return await asyncio.gather(*(cache.get() for _ in range(20)))

    assert asyncio.run(scenario()) == ["token-1"] * 20
    assert calls == 1


def test_token_is_refreshed_margin_seconds_before_expiry() -> None:
    clock = Clock()
    issued: list[str] = []

    async def fetch() -> AccessToken:
        issued.append(f"t{len(issued) + 1}")
        return AccessToken(issued[-1], 900)

    async def scenario() -> list[str]:
        cache = TokenCache(fetch, margin_seconds=60, clock=clock)
        first = await cache.get()
        clock.now += 839  # 61 s left: still good
        second = await cache.get()
        clock.now += 2  # 59 s left: refresh
        third = await cache.get()
        return [first, second, third]

    assert asyncio.run(scenario()) == ["t1", "t1", "t2"]


def test_invalidate_forces_a_new_fetch_and_errors_propagate() -> None:
    answers: list[AccessToken | Exception] = [AccessToken("old", 3600), AuthError("invalid_client")]

    async def fetch() -> AccessToken:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def scenario() -> None:
        cache = TokenCache(fetch)
        assert await cache.get() == "old"
        cache.invalidate()
        with pytest.raises(AuthError):
            await cache.get()

    asyncio.run(scenario())


def test_token_value_never_appears_in_repr() -> None:
    assert "s3cret" not in repr(AccessToken("s3cret", 60))
    with pytest.raises(ValueError, match="empty"):
        AccessToken("", 60)
