"""Sliding-window rate limiting in Redis (seed 000 §6.4), atomic in one Lua script.

Rejected requests are not recorded, so a client that keeps retrying is let in again as
soon as the window has room, and ``retry_after`` is exact: when the oldest hit expires.
"""

from __future__ import annotations

import math
import time
import uuid
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
        self._script = redis.register_script(_SCRIPT)

    @maps_redis_errors
    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        allowed, retry, remaining = await self._script(
            keys=["rate:" + redis_tag_of(key)], args=[time.time(), window_s, limit, uuid.uuid4().hex])
        return RateDecision(allowed=bool(int(allowed)), retry_after_s=max(1, math.ceil(float(retry)))
                            if not int(allowed) else 0, remaining=int(remaining))
