"""Per-model circuit breaker state: closed → open (after N consecutive failures) → half-open.

States, the same in every store:
- closed: calls go through; failures are counted, a success resets the count. Failures
  older than ``window_s`` are forgotten (the count expires).
- open: ``threshold`` consecutive failures open the breaker for ``open_seconds``; the
  model is skipped.
- half-open: once the open period ends, ``allow_call`` lets ONE trial call through (a
  trial lock held up to ``open_seconds``); its success closes the breaker, its failure
  reopens it for another ``open_seconds``.

Every store implements ``ports.BreakerStateStore``, the half-open gate (``allow_call``)
included. ``ResilientBreakerStore`` puts an in-process store behind a shared one so a Redis
outage never fails a chat turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from ..ports import BreakerStateStore

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass
class _ModelState:
    failures: int = 0
    last_failure: float = 0.0
    open_until: float = 0.0
    tripped: bool = False  # has been open; cleared by a success
    trial_until: float = 0.0


class InMemoryBreakerStore:
    """Breaker state in this process only (tests, and the fallback when Redis is down)."""

    def __init__(self, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._models: dict[str, _ModelState] = {}

    def _state(self, model: str) -> _ModelState:
        return self._models.setdefault(model, _ModelState())

    async def is_open(self, model: str) -> bool:
        return self._clock() < self._state(model).open_until

    async def allow_call(self, model: str, open_seconds: int) -> bool:
        state, now = self._state(model), self._clock()
        if now < state.open_until:
            return False
        if state.tripped:  # half-open: one trial at a time
            if now < state.trial_until:
                return False
            state.trial_until = now + open_seconds
        return True

    async def record_failure(self, model: str, threshold: int, open_seconds: int) -> bool:
        state, now = self._state(model), self._clock()
        if now < state.open_until:
            return False  # a straggler from before the breaker opened
        if state.tripped:  # the half-open trial failed
            self._open(state, now, open_seconds)
            return True
        if now - state.last_failure > self.window_s:
            state.failures = 0
        state.failures += 1
        state.last_failure = now
        if state.failures >= threshold:
            self._open(state, now, open_seconds)
            return True
        return False

    @staticmethod
    def _open(state: _ModelState, now: float, open_seconds: int) -> None:
        state.open_until = now + open_seconds
        state.tripped = True
        state.trial_until = 0.0
        state.failures = 0

    async def record_success(self, model: str) -> None:
        state = self._state(model)
        state.failures = 0
        state.tripped = False
        state.trial_until = 0.0


class ResilientBreakerStore:
    """A shared store with an in-process fallback: breaker errors never fail a turn.

    Each call to the shared store is bounded by ``timeout_s``; after an error the shared
    store is left alone for ``retry_after_s`` so a dead Redis costs one timeout, not one
    per call. Failures are also mirrored locally so this instance keeps protecting
    itself while Redis is away.
    """

    def __init__(self, shared: BreakerStateStore, fallback: InMemoryBreakerStore | None = None,
                 *, timeout_s: float = 0.25, retry_after_s: float = 5.0) -> None:
        self.shared = shared
        self.fallback = fallback or InMemoryBreakerStore()
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self._down_until = 0.0

    @property
    def shared_available(self) -> bool:
        return time.monotonic() >= self._down_until

    async def _shared(self, op: str, coro: Coroutine[Any, Any, T]) -> T | None:
        if not self.shared_available:
            coro.close()
            return None
        try:
            async with asyncio.timeout(self.timeout_s):
                return await coro
        except Exception as exc:  # any store error (redis, timeout) → degrade, never raise
            self._down_until = time.monotonic() + self.retry_after_s
            log.warning("breaker store unavailable for %s (%s: %s); using in-process state",
                        op, type(exc).__name__, exc)
            return None

    async def is_open(self, model: str) -> bool:
        result = await self._shared("is_open", self.shared.is_open(model))
        return bool(result) if result is not None else await self.fallback.is_open(model)

    async def allow_call(self, model: str, open_seconds: int) -> bool:
        result = await self._shared("allow_call", self.shared.allow_call(model, open_seconds))
        return bool(result) if result is not None else await self.fallback.allow_call(model, open_seconds)

    async def record_failure(self, model: str, threshold: int, open_seconds: int) -> bool:
        local = await self.fallback.record_failure(model, threshold, open_seconds)
        result = await self._shared("record_failure", self.shared.record_failure(model, threshold, open_seconds))
        return bool(result) if result is not None else local

    async def record_success(self, model: str) -> None:
        await self.fallback.record_success(model)
        await self._shared("record_success", self.shared.record_success(model))
