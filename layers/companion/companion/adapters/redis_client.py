"""The shared async Redis client (standalone or cluster), with short timeouts.

A slow or dead Redis must degrade a turn, not stall it, so socket timeouts are short and
callers treat ``redis.exceptions.RedisError``/``OSError`` as "unavailable".
"""

from __future__ import annotations

from typing import Any

from .keys import redis_tag


def create_redis(url: str, *, cluster: bool = False, timeout_s: float = 0.5) -> Any:
    if cluster:
        from redis.asyncio.cluster import RedisCluster

        return RedisCluster.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                     decode_responses=True)
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                          decode_responses=True, health_check_interval=30, retry_on_timeout=False)


def conversation_tag(user_id: str, character_id: str) -> str:
    """Hash tag putting one conversation's keys in one cluster slot (ids encoded: see ``keys``)."""
    return redis_tag(user_id, character_id)


REDIS_ERRORS: tuple[type[BaseException], ...]
try:
    from redis.exceptions import RedisError

    REDIS_ERRORS = (RedisError, OSError, TimeoutError)
except ImportError:  # pragma: no cover
    REDIS_ERRORS = (OSError, TimeoutError)
