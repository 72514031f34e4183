"""Second-level character cache in Redis, shared by every instance."""

from __future__ import annotations

from typing import Any

from ..errors import StoreUnavailable
from ..models import Character
from .redis_client import REDIS_ERRORS


def _key(character_id: str) -> str:
    return f"character:{character_id}"


class RedisCharacterCache:
    def __init__(self, redis: Any) -> None:
        self._r = redis

    async def get(self, character_id: str) -> Character | None:
        try:
            raw = await self._r.get(_key(character_id))
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc
        return Character.model_validate_json(raw) if raw else None

    async def put(self, character: Character, ttl_s: int) -> None:
        try:
            await self._r.set(_key(character.character_id), character.model_dump_json(), ex=ttl_s)
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc

    async def invalidate(self, character_id: str) -> None:
        try:
            await self._r.delete(_key(character_id))
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc
