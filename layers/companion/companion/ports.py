"""Ports: what the domain needs from the outside world.

Adapters in ``companion.adapters`` implement these protocols for Redis, DynamoDB, SQS,
S3 and OpenSearch; tests use the same adapters against real local servers. An adapter
that cannot reach its store raises ``companion.errors.StoreUnavailable`` so the domain
can degrade as the degradation matrix says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .models import Character, ChatMessage, MemoryTask, RateDecision, RecallResult


@dataclass
class AppendResult:
    messages: list[ChatMessage]  # with their log positions (seq) set
    next_seq: int  # last position now assigned in the conversation
    processed_upto: int  # the memory watermark


class ShortTermStore(Protocol):
    """The recent window of one conversation (Redis list newest-first + meta hash)."""

    async def window(self, user_id: str, character_id: str, limit: int) -> list[ChatMessage]:
        """Newest ``limit`` messages, returned oldest first."""
        ...

    async def load(self, user_id: str, character_id: str, limit: int) -> tuple[list[ChatMessage], dict[str, str]]:
        """``window`` and ``meta`` together, in one round trip."""
        ...

    async def append(self, user_id: str, character_id: str, messages: Sequence[ChatMessage]) -> None: ...

    async def meta(self, user_id: str, character_id: str) -> dict[str, str]: ...

    async def update_meta(self, user_id: str, character_id: str, fields: dict[str, str]) -> None: ...

    async def clear(self, user_id: str, character_id: str) -> None: ...

    async def spool_unlogged(self, user_id: str, character_id: str, session_id: str,
                             messages: Sequence[ChatMessage]) -> None:
        """Keep messages the durable log could not take, to be written later."""
        ...

    async def take_unlogged(self, user_id: str, character_id: str) -> list[tuple[str, ChatMessage]]:
        """Remove and return spooled (session_id, message) pairs, oldest first."""
        ...


class MessageLog(Protocol):
    """The durable log of every message (DynamoDB), with per-conversation positions.

    ``append`` assigns consecutive ``seq`` numbers. The memory watermark
    (``processed_upto``) moves only through ``claim``, a compare-and-set, so each
    message is handed to memory generation exactly once even when triggers race.
    """

    async def append(self, user_id: str, character_id: str, session_id: str,
                     messages: Sequence[ChatMessage]) -> AppendResult: ...

    async def history(self, user_id: str, character_id: str, limit: int = 50,
                      before_seq: int | None = None) -> list[ChatMessage]: ...

    async def range(self, user_id: str, character_id: str, from_seq: int, to_seq: int) -> list[ChatMessage]: ...

    async def conversation(self, user_id: str, character_id: str) -> dict[str, Any] | None:
        """The conversation record: next_seq, processed_upto, session_id, last_active_at."""
        ...

    async def claim(self, user_id: str, character_id: str, expected_upto: int, new_upto: int) -> bool:
        """Move the watermark from ``expected_upto`` to ``new_upto``; False if another claimer won."""
        ...

    async def pending_conversations(self, idle_before: float, limit: int = 100) -> list[dict[str, Any]]:
        """Conversations with unprocessed messages whose last activity is before ``idle_before``."""
        ...

    async def delete_conversation(self, user_id: str, character_id: str) -> int: ...


class CharacterRepository(Protocol):
    async def get(self, character_id: str) -> Character | None: ...

    async def put(self, character: Character) -> None: ...

    async def delete(self, character_id: str) -> None: ...

    async def list(self, owner_id: str | None = None) -> list[Character]: ...


class CharacterCache(Protocol):
    """Shared second-level cache (Redis) in front of the repository."""

    async def get(self, character_id: str) -> Character | None: ...

    async def put(self, character: Character, ttl_s: int) -> None: ...

    async def invalidate(self, character_id: str) -> None: ...


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision: ...


class BreakerStateStore(Protocol):
    """Shared circuit-breaker state, so every instance sees an open breaker."""

    async def is_open(self, model: str) -> bool: ...

    async def record_failure(self, model: str, threshold: int, open_seconds: int) -> bool:
        """Count a failure; returns True when this failure opened the breaker."""
        ...

    async def record_success(self, model: str) -> None: ...


class TaskQueue(Protocol):
    async def publish(self, task: MemoryTask) -> None: ...


class TaskStatusStore(Protocol):
    """Memory task status for operators: pending → queued → processing → completed | failed."""

    async def put(self, task_id: str, status: str, **fields: Any) -> None: ...

    async def update(self, task_id: str, status: str, **fields: Any) -> None: ...

    async def get(self, task_id: str) -> dict[str, Any] | None: ...

    async def by_status(self, status: str, *, older_than: float | None = None,
                        limit: int = 100) -> list[dict[str, Any]]: ...


class Recaller(Protocol):
    """Long-term memory for one turn. Never raises for a source that is down: it returns
    what it has and names the missing sources in ``RecallResult.degraded``."""

    async def recall(self, user_id: str, character_id: str, message: str, *,
                     history: list[ChatMessage], language: str) -> RecallResult: ...
