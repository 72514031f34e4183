"""Circuit-breaker state in Redis, so every Lambda instance sees an open breaker.

Keys of one model share a hash tag (``breaker:{model}:…``) so the Lua scripts touch one
cluster slot. The open state is a key with a TTL: Redis ends the open period by itself.
Semantics match ``companion.llm.breaker.InMemoryBreakerStore``:

- ``…:fails``   consecutive failures, expiring ``window_s`` after the first one
- ``…:open``    present while open (TTL = open_seconds)
- ``…:tripped`` present after the breaker opened until a success: with ``open`` gone
                this is the half-open state
- ``…:trial``   the half-open trial lock (SET NX, TTL = open_seconds)

Redis errors are raised as ``StoreUnavailable`` (``maps_redis_errors``); ``ResilientBreakerStore`` turns them
into an in-process fallback.
"""

from __future__ import annotations

import re
from typing import Any

from .redis_client import maps_redis_errors

# KEYS: fails, open, tripped, trial; ARGV: threshold, open_seconds, window_s, tripped_ttl
_RECORD_FAILURE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local open_s = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('SET', KEYS[2], '1', 'EX', open_s)
  redis.call('SET', KEYS[3], '1', 'EX', tonumber(ARGV[4]))
  redis.call('DEL', KEYS[1], KEYS[4])
  return 1
end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3])) end
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'EX', open_s)
  redis.call('SET', KEYS[3], '1', 'EX', tonumber(ARGV[4]))
  redis.call('DEL', KEYS[1], KEYS[4])
  return 1
end
return 0
"""

# KEYS: open, tripped, trial, fails; ARGV: open_seconds. 0: refused, 1: allowed, 2: allowed and
# closed with no failure counted (a success then has nothing to reset).
_ALLOW_CALL = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then
  if redis.call('EXISTS', KEYS[4]) == 0 then return 2 end
  return 1
end
if redis.call('SET', KEYS[3], '1', 'NX', 'EX', tonumber(ARGV[1])) then return 1 end
return 0
"""

_UNSAFE = re.compile(r"[{}\s]")


class RedisBreakerStore:
    def __init__(self, redis: Any, prefix: str = "breaker:", *, window_s: int = 60,
                 tripped_ttl_s: int = 86400) -> None:
        self._r = redis
        self.prefix = prefix
        self.window_s = window_s
        self.tripped_ttl_s = tripped_ttl_s  # forget a half-open state nobody has tried for a day
        self._record_failure = redis.register_script(_RECORD_FAILURE)
        self._allow_call = redis.register_script(_ALLOW_CALL)
        # Models whose last check here found the breaker closed with no failure counted: their
        # success skips the reset's round trip, the common case of every turn.
        self._clean: set[str] = set()

    def _keys(self, model: str) -> dict[str, str]:
        tag = "{" + _UNSAFE.sub("_", model) + "}"
        return {name: f"{self.prefix}{tag}:{name}" for name in ("fails", "open", "tripped", "trial")}

    @maps_redis_errors
    async def is_open(self, model: str) -> bool:
        return bool(await self._r.exists(self._keys(model)["open"]))

    @maps_redis_errors
    async def allow_call(self, model: str, open_seconds: int) -> bool:
        k = self._keys(model)
        result = int(await self._allow_call(keys=[k["open"], k["tripped"], k["trial"], k["fails"]],
                                            args=[max(1, int(open_seconds))]))
        if result == 2:
            self._clean.add(model)
        else:
            self._clean.discard(model)
        return bool(result)

    @maps_redis_errors
    async def record_failure(self, model: str, threshold: int, open_seconds: int) -> bool:
        self._clean.discard(model)
        k = self._keys(model)
        result = await self._record_failure(
            keys=[k["fails"], k["open"], k["tripped"], k["trial"]],
            args=[max(1, threshold), max(1, int(open_seconds)), self.window_s,
                  max(self.tripped_ttl_s, int(open_seconds) * 2)])
        return bool(int(result))

    @maps_redis_errors
    async def record_success(self, model: str) -> None:
        if model in self._clean:
            # The check before this call found nothing to reset. A failure another instance counted
            # since then stays counted until a success whose check sees it (or the window ends).
            return
        k = self._keys(model)
        # Leaves ``open`` alone: a late success from before the breaker opened must not
        # cut the open period short; closing happens through the half-open trial.
        await self._r.delete(k["fails"], k["tripped"], k["trial"])
