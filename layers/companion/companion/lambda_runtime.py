"""The one way a Lambda handler runs async code: ``lambda_runtime.run(coro)``.

Lambda calls a handler synchronously and keeps the execution environment (the process)
between invocations, and the containers built once per environment hold async clients with
connection pools (redis-py's asyncio pool, httpx for the LLM and embeddings, opensearch-py's
aiohttp session). Those clients belong to the event loop they were first used on.
``asyncio.run`` per invocation closes its loop when the invocation ends, so the next
invocation would find its pooled connections tied to a closed loop ("Event loop is closed",
"attached to a different loop") or would have to rebuild every client, paying connection
set-up on each call. So every handler runs its coroutines on one event loop that lives as
long as the environment. The loop runs on a thread of its own, so a handler also works when
its caller already runs a loop (the local poller, tests): ``run_until_complete`` would refuse.

Used by the memory worker and the session sweeper. The two HTTP functions hand their async
work to a server that already keeps one loop: the chat function runs under uvicorn (Lambda
Web Adapter), and the memory API's Mangum runs every request on its thread's one loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class EventLoopThread:
    """An event loop running forever on a daemon thread; ``run`` waits for one coroutine on it."""

    def __init__(self, name: str = "lambda-loop") -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name=name, daemon=True).start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


_loop: EventLoopThread | None = None
_lock = threading.Lock()


def loop() -> EventLoopThread:
    """The environment's loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None:
            _loop = EventLoopThread()
        return _loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on the environment's loop and return its result (or raise its error)."""
    return loop().run(coro)
