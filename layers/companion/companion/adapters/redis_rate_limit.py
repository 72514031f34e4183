"""Sliding-window rate limiting in Redis (seed 000 §6.4), atomic in one Lua script.

Rejected requests are not recorded, so a client that keeps retrying is let in again as
soon as the window has room, and ``retry_after`` is exact: when the oldest hit expires.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from typing import Any

from ..models import RateDecision
from .keys import redis_tag_of
from .redis_client import maps_redis_errors

_SCRIPT = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, tostring(window - (now - tonumber(oldest[2]))), 0}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return {1, '0', limit - count - 1}
"""


class RedisRateLimiter:
    def __init__(self, redis: Any) -> None:
        self._r = redis

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        return (await self.hit_many([(key, limit, window_s)]))[0]

    @maps_redis_errors
    async def hit_many(self, hits: Sequence[tuple[str, int, float]]) -> list[RateDecision]:
        """Several windows in one round trip: a pipeline of one script per key (the keys may lie in
        different cluster slots, so not one script for all). EVAL, not EVALSHA: a cluster pipeline
        cannot load a missing script, and the server caches a script's compiled body by its hash."""
        now = time.time()
        async with self._r.pipeline(transaction=False) as pipe:
            for key, limit, window_s in hits:
                pipe.eval(_SCRIPT, 1, "rate:" + redis_tag_of(key), now, window_s, limit, uuid.uuid4().hex)
            results = await pipe.execute()
        return [_decision(*r) for r in results]


def _decision(allowed: Any, retry: Any, remaining: Any) -> RateDecision:
    ok = bool(int(allowed))
    return RateDecision(allowed=ok, retry_after_s=0 if ok else max(1, math.ceil(float(retry))),
                        remaining=int(remaining))
