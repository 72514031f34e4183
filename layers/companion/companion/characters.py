"""Character lookup: in-process TTL cache → Redis → DynamoDB → built-in default (seed 000 §6.3)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from cachetools import TTLCache

from .errors import NotFound, StoreUnavailable
from .models import Character
from .ports import CharacterCache, CharacterRepository

log = logging.getLogger(__name__)

BUILTIN_CHARACTERS: dict[str, Character] = {
    c.character_id: c
    for c in [
        Character(
            character_id="xiaoyu", name="小雨", language="zh", time_zone="Asia/Shanghai",
            description="一个温柔、细心、有点俏皮的陪伴者，喜欢倾听，也会记住你说过的事。",
            personality="温柔、体贴、好奇、偶尔幽默",
            scenario="你们是认识了很久的朋友，常在晚上聊天。",
            first_mes="嗨～今天过得怎么样？",
            system_prompt="你是小雨，用户的老朋友。说话自然、口语化、简短温暖，像发消息一样；"
                          "关心用户的感受，记得用户告诉过你的事。",
        ),
        Character(
            character_id="luna", name="Luna", language="en",
            description="A warm, curious and gently witty companion who listens well and remembers.",
            personality="warm, attentive, curious, playful",
            scenario="You are old friends who chat in the evenings.",
            first_mes="Hey you! How was your day?",
            system_prompt="You are Luna, the user's long-time friend. Speak naturally and briefly, like "
                          "texting; care about how the user feels and remember what they told you.",
        ),
    ]
}
DEFAULT_CHARACTER_ID = "xiaoyu"


@dataclass
class CharacterLookup:
    character: Character
    degraded: bool = False  # True: the stores failed and a cached/built-in copy answered


class CharacterService:
    def __init__(self, repo: CharacterRepository, cache: CharacterCache | None, *, ttl_s: int = 300,
                 local_size: int = 1000) -> None:
        self._repo = repo
        self._cache = cache
        self._ttl = ttl_s
        self._local: TTLCache[str, Character] = TTLCache(maxsize=local_size, ttl=ttl_s)
        # Last good copy of every character seen, used only when every store fails.
        self._stale: TTLCache[str, Character] = TTLCache(maxsize=local_size, ttl=24 * 3600)

    async def get(self, character_id: str, *, user_id: str | None = None) -> CharacterLookup:
        """The character visible to ``user_id``; NotFound when it does not exist for them."""
        found = await self._lookup(character_id)
        if found.character.owner_id and found.character.owner_id != user_id:
            raise NotFound(f"character '{character_id}' not found", code="unknown_character")
        return found

    async def visible(self, user_id: str) -> list[Character]:
        """The characters ``user_id`` may talk to: the built-in ones and their own (built-in first, by name).

        The store down → the built-in ones still answer.
        """
        try:
            stored = await self._repo.list(owner_id=user_id)
        except StoreUnavailable:
            stored = []
        chars = {c.character_id: c for c in [*BUILTIN_CHARACTERS.values(), *stored] if c.owner_id in (None, user_id)}
        return sorted(chars.values(), key=lambda c: (c.owner_id is not None, c.name))

    async def _lookup(self, character_id: str) -> CharacterLookup:
        hit = self._local.get(character_id)
        if hit is not None:
            return CharacterLookup(hit)
        degraded = False
        if self._cache is not None:
            try:
                cached = await self._cache.get(character_id)
                if cached is not None:
                    self._remember(cached)
                    return CharacterLookup(cached)
            except StoreUnavailable:
                degraded = True
        try:
            stored = await self._repo.get(character_id)
        except StoreUnavailable as exc:
            log.warning("character store unavailable, using fallback", extra={"error": str(exc)})
            fallback = (self._stale.get(character_id) or BUILTIN_CHARACTERS.get(character_id)
                        or BUILTIN_CHARACTERS[DEFAULT_CHARACTER_ID])
            return CharacterLookup(fallback, degraded=True)
        if stored is None:
            stored = BUILTIN_CHARACTERS.get(character_id)
            if stored is None:
                raise NotFound(f"character '{character_id}' not found", code="unknown_character")
        self._remember(stored)
        if self._cache is not None and not degraded:
            try:
                await self._cache.put(stored, self._ttl)
            except StoreUnavailable:
                degraded = True
        return CharacterLookup(stored, degraded=degraded)

    def _remember(self, character: Character) -> None:
        self._local[character.character_id] = character
        self._stale[character.character_id] = character

    async def invalidate(self, character_id: str) -> None:
        self._local.pop(character_id, None)
        if self._cache is not None:
            with contextlib.suppress(StoreUnavailable):
                await self._cache.invalidate(character_id)
