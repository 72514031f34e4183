"""How a conversation begins: the character's greeting as its first message, stored exactly once.

The greeting goes to the durable log first, through ``MessageLog.append_first`` (a conditional
write that only the first opener of a conversation wins), then to the short-term window. Two turns
racing to open one conversation, or a turn and the start route, store it once; the loser goes on
without it. When the log cannot be reached the greeting is left out rather than risked twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import tzinfo

from ..config import Settings
from ..errors import StoreUnavailable
from ..memory.recall.candidates import from_event, from_fact, preferred_name
from ..models import Character, ChatMessage, RecalledMemory
from ..observability import logger
from ..ports import MemoryRepository, MessageLog, ShortTermStore, Telemetry
from ..text import estimate_tokens
from .greetings import GREETING, greeting_index, is_greeting, upcoming_line
from .macros import MacroContext, substitute, user_name
from .prompt import default_main_prompt


@dataclass(frozen=True)
class Known:
    """What long-term memory says about the user, for a greeting: their name and dated memories."""

    name: str | None = None
    memories: tuple[RecalledMemory, ...] = ()


@dataclass(frozen=True)
class Opening:
    """The start route's answer: the conversation's greeting, and whether this call stored it."""

    greeting: ChatMessage | None
    created: bool
    can_change: bool  # the greeting is still the only message: starting with another index replaces it
    greetings: int = 0  # how many greetings the character has


class ConversationOpener:
    def __init__(self, *, settings: Settings, short_term: ShortTermStore, message_log: MessageLog,
                 memory: MemoryRepository | None, telemetry: Telemetry) -> None:
        self.s = settings
        self.short_term = short_term
        self.log = message_log
        self.memory = memory
        self.telemetry = telemetry

    async def open(self, user_id: str, character: Character, session_id: str, *, index: int | None,
                   language: str, zone: tzinfo, display_name: str | None,
                   now: float) -> tuple[ChatMessage | None, list[str]]:
        """Store the greeting as the conversation's first message; ``(None, [])`` when the character
        has none or another opener came first, ``(None, ["dynamodb"])`` when the log is down."""
        chosen = greeting_index(character, index)
        if chosen is None:
            return None, []
        known = await self.known(user_id, character.character_id)
        ctx = MacroContext.at(char=character.display_name, user=user_name(known.name, display_name, language=language),
                              when=now, zone=zone, language=language,
                              values={"original": default_main_prompt(character)})
        text = substitute(character.greetings[chosen], ctx).strip()
        line = upcoming_line(list(known.memories), now=now, tz=zone, within_days=self.s.greeting_upcoming_days,
                             language=language)
        content = f"{text}\n\n{line}" if line else text
        message = ChatMessage(role="assistant", content=content, timestamp=now, session_id=session_id,
                              token_count=estimate_tokens(content), metadata={GREETING: chosen})
        try:
            first = await self.log.append_first(user_id, character.character_id, session_id, message)
        except StoreUnavailable:
            self.telemetry.count("Degraded.MessageLog")
            return None, ["dynamodb"]
        if first is None:
            return None, []
        try:
            await self.short_term.append(user_id, character.character_id, [first])
        except StoreUnavailable:
            self.telemetry.count("Degraded.Redis")
            return first, ["redis"]
        self.telemetry.count("Greetings")
        return first, []

    async def first_greeting(self, user_id: str, character_id: str, window: list[ChatMessage]) -> ChatMessage | None:
        """The greeting that opened an existing conversation (position 1), if it began with one."""
        if window and is_greeting(window[0]):
            return window[0]
        try:
            first = await self.log.range(user_id, character_id, 1, 1)
        except StoreUnavailable:
            return None
        return first[0] if first and is_greeting(first[0]) else None

    async def forget_greeting(self, user_id: str, character_id: str) -> None:
        """Remove a conversation that holds nothing but its greeting, to open it with another."""
        await self.short_term.clear(user_id, character_id)
        await self.log.delete_conversation(user_id, character_id)

    async def known(self, user_id: str, character_id: str) -> Known:
        """The user's name and dated memories (the memory bundle recall reads, Redis-cached);
        nothing when memory is unreachable or slow: a greeting never waits for long."""
        if self.memory is None:
            return Known()
        try:
            facts, events, _ = await asyncio.wait_for(self.memory.load(user_id, character_id),
                                                      timeout=self.s.recall_budget_ms / 1000)
        except Exception:  # memory only adds to a greeting; the greeting goes out without it
            logger.warning("memory unavailable for the greeting", exc_info=True)
            return Known()
        memories = [*(from_fact(f) for f in facts.values()), *(from_event(e) for e in events)]
        return Known(preferred_name(memories), tuple(memories))
