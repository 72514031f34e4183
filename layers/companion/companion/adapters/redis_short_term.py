"""Short-term memory in Redis (seed 003): a newest-first list and a meta hash per conversation.

Keys: ``chat:{user:character}:messages`` and ``chat:{user:character}:meta``; the hash tag
keeps both in one cluster slot so the MULTI/EXEC pipeline below is valid on a cluster.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..models import ChatMessage
from .redis_client import conversation_tag, maps_redis_errors


def messages_key(user_id: str, character_id: str) -> str:
    return f"chat:{conversation_tag(user_id, character_id)}:messages"


def unlogged_key(user_id: str, character_id: str) -> str:
    return f"chat:{conversation_tag(user_id, character_id)}:unlogged"


def meta_key(user_id: str, character_id: str) -> str:
    return f"chat:{conversation_tag(user_id, character_id)}:meta"


class RedisShortTermStore:
    def __init__(self, redis: Any, *, max_messages: int = 100, ttl_s: int = 86400) -> None:
        self._r = redis
        self._max = max_messages
        self._ttl = ttl_s

    @maps_redis_errors
    async def window(self, user_id: str, character_id: str, limit: int) -> list[ChatMessage]:
        raw = await self._r.lrange(messages_key(user_id, character_id), 0, max(0, limit - 1))
        return self._decode(raw)

    @staticmethod
    def _decode(raw: list[str]) -> list[ChatMessage]:
        out: list[ChatMessage] = []
        for item in reversed(raw):  # stored newest first; prompts want oldest first
            try:
                out.append(ChatMessage.model_validate_json(item))
            except ValueError:
                continue  # a corrupt entry must not break the conversation
        return out

    @maps_redis_errors
    async def load(self, user_id: str, character_id: str, limit: int) -> tuple[list[ChatMessage], dict[str, str]]:
        """Window and meta in one round trip (the chat turn's hot path)."""
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.lrange(messages_key(user_id, character_id), 0, max(0, limit - 1))
            pipe.hgetall(meta_key(user_id, character_id))
            raw, meta = await pipe.execute()
        return self._decode(raw), dict(meta)

    @maps_redis_errors
    async def append(self, user_id: str, character_id: str, messages: Sequence[ChatMessage]) -> int:
        if not messages:
            return 0
        mkey, hkey = messages_key(user_id, character_id), meta_key(user_id, character_id)
        last = messages[-1]
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.lpush(mkey, *[m.model_dump_json() for m in messages])
            pipe.ltrim(mkey, 0, self._max - 1)
            pipe.expire(mkey, self._ttl)
            pipe.hset(hkey, mapping={"state": "ACTIVE", "last_active_at": str(int(last.timestamp)),
                                     "session_id": last.session_id})
            pipe.hsetnx(hkey, "session_start", str(int(messages[0].timestamp)))
            pipe.hincrby(hkey, "message_count", len(messages))
            pipe.hincrby(hkey, "total_tokens", sum(m.token_count for m in messages))
            pipe.expire(hkey, self._ttl)
            pipe.llen(unlogged_key(user_id, character_id))  # same slot: the turn learns of a spool for free
            results = await pipe.execute()
        return int(results[-1])

    @maps_redis_errors
    async def meta(self, user_id: str, character_id: str) -> dict[str, str]:
        return dict(await self._r.hgetall(meta_key(user_id, character_id)))

    @maps_redis_errors
    async def update_meta(self, user_id: str, character_id: str, fields: dict[str, str]) -> None:
        hkey = meta_key(user_id, character_id)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(hkey, mapping=fields)
            pipe.expire(hkey, self._ttl)
            await pipe.execute()

    @maps_redis_errors
    async def clear(self, user_id: str, character_id: str) -> None:
        await self._r.delete(messages_key(user_id, character_id), meta_key(user_id, character_id),
                             unlogged_key(user_id, character_id))

    @maps_redis_errors
    async def spool_unlogged(self, user_id: str, character_id: str, session_id: str,
                             messages: Sequence[ChatMessage]) -> None:
        key = unlogged_key(user_id, character_id)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.rpush(key, *[json.dumps({"session_id": session_id, "message": m.model_dump()})
                              for m in messages])
            pipe.expire(key, 7 * 86400)
            await pipe.execute()

    @maps_redis_errors
    async def take_unlogged(self, user_id: str, character_id: str) -> list[tuple[str, ChatMessage]]:
        key = unlogged_key(user_id, character_id)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            raw, _ = await pipe.execute()
        out = []
        for item in raw:
            data = json.loads(item)
            out.append((data["session_id"], ChatMessage.model_validate(data["message"])))
        return out
