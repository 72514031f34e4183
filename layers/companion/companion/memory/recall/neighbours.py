"""Neighbouring turns of a retrieved turn: an answer often sits a turn or two from the hit.

    context = IndexTurnContext(index)           # over ports.MemoryIndex.get_turns
    turns = await context.neighbours(user_id, character_id, hit, window=2)

``TurnContext`` is the strategy ``MemoryRecaller`` asks for a hit's context; ``IndexTurnContext``
is the one the product uses (the index fetches turns by session and position).
"""

from __future__ import annotations

from typing import Protocol

from ...models import RecalledMemory
from ...ports import MemoryIndex


class TurnContext(Protocol):
    async def neighbours(self, user_id: str, character_id: str, turn: RecalledMemory,
                         window: int) -> list[RecalledMemory]:
        """Turns within ``window`` positions of ``turn`` in its session, oldest first (``turn`` included)."""
        ...


class IndexTurnContext:
    """Neighbouring turns through the index, which fetches turns by (session, seq)."""

    def __init__(self, index: MemoryIndex) -> None:
        self.index = index

    async def neighbours(self, user_id: str, character_id: str, turn: RecalledMemory,
                         window: int) -> list[RecalledMemory]:
        seq = int(turn.metadata.get("seq") or 0)
        if seq <= 0:
            return [turn]
        seqs = [s for s in range(seq - window, seq + window + 1) if s > 0]
        found = await self.index.get_turns(user_id, character_id, str(turn.metadata.get("session_id") or ""), seqs)
        by_seq = {int(t.metadata.get("seq") or 0): t for t in found}
        by_seq[seq] = turn  # the hit itself keeps its score and metadata
        return [by_seq[s] for s in sorted(by_seq)]
