"""The shared async Redis client (standalone or cluster), with short timeouts, and the one
mapping of Redis failures to ``StoreUnavailable``.

A slow or dead Redis must degrade a turn, not stall it, so socket timeouts are short and
the adapters raise ``StoreUnavailable`` (``maps_redis_errors``) for the domain to degrade on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from redis.exceptions import RedisError

from ..errors import StoreUnavailable
from .keys import redis_tag

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

P = ParamSpec("P")
R = TypeVar("R")

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def create_redis(url: str, *, cluster: bool = False, timeout_s: float = 0.5) -> Redis | RedisCluster:
    if cluster:
        from redis.asyncio.cluster import RedisCluster

        return RedisCluster.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                     decode_responses=True)
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                          decode_responses=True, health_check_interval=30, retry_on_timeout=False)


def maps_redis_errors(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """An adapter's async method whose Redis failures (errors, timeouts, refused connections) are
    raised as ``StoreUnavailable``."""

    @functools.wraps(method)
    async def mapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc

    return mapped


def conversation_tag(user_id: str, character_id: str) -> str:
    """Hash tag putting one conversation's keys in one cluster slot (ids encoded: see ``keys``)."""
    return redis_tag(user_id, character_id)
