"""A user's profile facts, events and summaries for one character, cached in Redis.

Recall reads this bundle on every chat turn (profile facts, upcoming events), but it
changes only when the memory worker or the memory API writes. Reading it from Redis saves
a DynamoDB Query per turn. Every write through this repository bumps a generation counter,
and a bundle is only stored if the generation did not move while it was being loaded, so a
load racing a write can never put stale memories back into the cache. The TTL is a backstop
for writes made while Redis was unreachable.

The bundle holds every fact and event but only the newest ``recall_summaries`` summaries:
a user of many months has hundreds, and older ones are still found by search (the index).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any

from ..memory.records import EventRecord, FactRecord, SummaryRecord
from .dynamodb_memory import DynamoMemoryRepository, Facts
from .redis_client import REDIS_ERRORS, conversation_tag

_SET_IF_SAME_GENERATION = """
if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[3]))
  return 1
end
return 0
"""


def _keys(user_id: str, character_id: str) -> tuple[str, str]:
    tag = conversation_tag(user_id, character_id)
    return f"memo:{tag}:gen", f"memo:{tag}:bundle"


class CachedMemoryRepository:
    """DynamoMemoryRepository with a Redis-cached ``load``; writes invalidate the cache."""

    def __init__(self, inner: DynamoMemoryRepository, redis: Any, *, ttl_s: int = 600,
                 recall_summaries: int = 50) -> None:
        self.inner = inner
        self.recall_summaries = recall_summaries
        self._r = redis
        self._ttl = ttl_s
        self._set = redis.register_script(_SET_IF_SAME_GENERATION)

    def __getattr__(self, name: str) -> Any:  # reads other than ``load`` go straight to DynamoDB
        return getattr(self.inner, name)

    async def load(self, user_id: str, character_id: str, **kwargs: Any
                   ) -> tuple[Facts, list[EventRecord], list[SummaryRecord]]:
        if kwargs:  # e.g. every summary, or none: not what the cache holds
            return await self.inner.load(user_id, character_id, **kwargs)
        gen_key, bundle_key = _keys(user_id, character_id)
        gen = "0"
        try:
            gen_raw, raw = await self._r.mget(gen_key, bundle_key)
            gen = gen_raw or "0"
            if raw:
                data = json.loads(raw)
                if data.get("gen") == gen:
                    return _decode(data)
        except REDIS_ERRORS:
            gen = ""  # Redis is away: load from DynamoDB and do not cache
        facts, events, summaries = await self.inner.load(user_id, character_id, summaries=self.recall_summaries)
        if gen:
            payload = json.dumps({"gen": gen, "facts": [f.model_dump() for f in facts.values()],
                                  "events": [e.model_dump() for e in events],
                                  "summaries": [s.model_dump() for s in summaries]}, ensure_ascii=False)
            with contextlib.suppress(*REDIS_ERRORS):
                await self._set(keys=[gen_key, bundle_key], args=[gen, payload, self._ttl])
        return facts, events, summaries

    async def invalidate(self, user_id: str, character_id: str) -> None:
        gen_key, bundle_key = _keys(user_id, character_id)
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.incr(gen_key)
                pipe.expire(gen_key, 7 * 86400)
                pipe.delete(bundle_key)
                await pipe.execute()
        except REDIS_ERRORS:
            pass  # the bundle's TTL bounds how long a stale copy can live

    async def save(self, facts: Sequence[FactRecord] = (), events: Sequence[EventRecord] = (),
                   summary: SummaryRecord | Sequence[SummaryRecord] | None = None) -> int:
        written = await self.inner.save(facts=facts, events=events, summary=summary)
        sums = [summary] if isinstance(summary, SummaryRecord) else list(summary or [])
        records: list[FactRecord | EventRecord | SummaryRecord] = [*facts, *events, *sums]
        for pair in {(r.user_id, r.character_id) for r in records}:
            await self.invalidate(*pair)
        return written

    async def delete_item(self, user_id: str, character_id: str, sk: str) -> bool:
        deleted = await self.inner.delete_item(user_id, character_id, sk)
        await self.invalidate(user_id, character_id)
        return deleted

    async def delete_record(self, record: FactRecord | EventRecord | SummaryRecord) -> bool:
        deleted = await self.inner.delete_record(record)
        await self.invalidate(record.user_id, record.character_id)
        return deleted

    async def delete_all(self, user_id: str, character_id: str) -> int:
        count = await self.inner.delete_all(user_id, character_id)
        await self.invalidate(user_id, character_id)
        return count


def _decode(data: dict[str, Any]) -> tuple[Facts, list[EventRecord], list[SummaryRecord]]:
    facts = [FactRecord.model_validate(f) for f in data.get("facts", [])]
    return ({(f.type, f.key): f for f in facts}, [EventRecord.model_validate(e) for e in data.get("events", [])],
            [SummaryRecord.model_validate(s) for s in data.get("summaries", [])])
