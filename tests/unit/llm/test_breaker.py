"""Breaker states with the in-process store, and the Redis-failure fallback."""

from __future__ import annotations

import asyncio

from companion.errors import StoreUnavailable
from companion.llm.breaker import InMemoryBreakerStore, ResilientBreakerStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_opens_after_threshold_consecutive_failures() -> None:
    clock = Clock()
    store = InMemoryBreakerStore(clock=clock)
    results = [await store.record_failure("m", 3, 60) for _ in range(3)]
    assert results == [False, False, True]
    assert await store.is_open("m")
    assert not await store.allow_call("m", 60)
    assert not await store.is_open("other")


async def test_success_resets_the_count() -> None:
    store = InMemoryBreakerStore(clock=Clock())
    await store.record_failure("m", 3, 60)
    await store.record_failure("m", 3, 60)
    await store.record_success("m")
    assert not await store.record_failure("m", 3, 60)
    assert not await store.is_open("m")


async def test_failures_outside_the_window_are_forgotten() -> None:
    clock = Clock()
    store = InMemoryBreakerStore(window_s=10, clock=clock)
    await store.record_failure("m", 3, 60)
    await store.record_failure("m", 3, 60)
    clock.now += 11
    assert not await store.record_failure("m", 3, 60)
    assert not await store.is_open("m")


async def test_half_open_allows_one_trial_then_closes_on_success() -> None:
    clock = Clock()
    store = InMemoryBreakerStore(clock=clock)
    for _ in range(2):
        await store.record_failure("m", 2, 60)
    clock.now += 61
    assert not await store.is_open("m")
    assert await store.allow_call("m", 60)  # the trial
    assert not await store.allow_call("m", 60)  # everyone else waits for it
    await store.record_success("m")
    assert await store.allow_call("m", 60) and await store.allow_call("m", 60)


async def test_half_open_trial_failure_reopens_immediately() -> None:
    clock = Clock()
    store = InMemoryBreakerStore(clock=clock)
    for _ in range(5):
        await store.record_failure("m", 5, 60)
    clock.now += 61
    assert await store.allow_call("m", 60)
    assert await store.record_failure("m", 5, 60)  # one failure is enough in half-open
    assert await store.is_open("m")
    clock.now += 61
    assert await store.allow_call("m", 60)


async def test_stragglers_while_open_do_not_extend_it() -> None:
    clock = Clock()
    store = InMemoryBreakerStore(clock=clock)
    await store.record_failure("m", 1, 60)
    clock.now += 30
    assert not await store.record_failure("m", 1, 60)
    clock.now += 31
    assert not await store.is_open("m")


class BrokenStore:
    def __init__(self, hang: bool = False) -> None:
        self.calls = 0
        self.hang = hang

    async def _fail(self) -> bool:
        self.calls += 1
        if self.hang:
            await asyncio.sleep(10)
        raise StoreUnavailable("redis down")

    async def is_open(self, model: str) -> bool:
        return await self._fail()

    async def allow_call(self, model: str, open_seconds: int) -> bool:
        return await self._fail()

    async def record_failure(self, model: str, threshold: int, open_seconds: int) -> bool:
        return await self._fail()

    async def record_success(self, model: str) -> None:
        await self._fail()


async def test_resilient_store_falls_back_and_backs_off() -> None:
    shared = BrokenStore()
    store = ResilientBreakerStore(shared, retry_after_s=30)
    assert await store.allow_call("m", 60)
    assert shared.calls == 1
    assert not await store.record_failure("m", 2, 60)
    assert await store.record_failure("m", 2, 60)  # in-process state took over
    assert not await store.allow_call("m", 60)
    assert await store.is_open("m")
    assert shared.calls == 1  # backed off: a dead Redis is not asked on every call


async def test_resilient_store_bounds_a_hanging_store() -> None:
    store = ResilientBreakerStore(BrokenStore(hang=True), timeout_s=0.05)
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await store.allow_call("m", 60)
    assert loop.time() - start < 1.0
