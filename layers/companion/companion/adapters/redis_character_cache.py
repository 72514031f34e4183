"""Second-level character cache in Redis, shared by every instance."""

from __future__ import annotations

from typing import Any

from ..models import Character
from .redis_client import maps_redis_errors


def _key(character_id: str) -> str:
    return f"character:{character_id}"


class RedisCharacterCache:
    def __init__(self, redis: Any) -> None:
        self._r = redis

    @maps_redis_errors
    async def get(self, character_id: str) -> Character | None:
        raw = await self._r.get(_key(character_id))
        return Character.model_validate_json(raw) if raw else None

    @maps_redis_errors
    async def put(self, character: Character, ttl_s: int) -> None:
        await self._r.set(_key(character.character_id), character.model_dump_json(), ex=ttl_s)

    @maps_redis_errors
    async def invalidate(self, character_id: str) -> None:
        await self._r.delete(_key(character_id))
