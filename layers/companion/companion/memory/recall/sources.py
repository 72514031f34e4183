"""What recall needs from the stores (ports), and DynamoDB records as recall candidates.

The recall service depends only on these protocols; the OpenSearch index and DynamoDB
memory repository adapters satisfy them, and tests can pass fakes that fail or stall.

Public API:
    SearchIndex     knn_search / bm25_search over one user's memories of one character
    TurnContext     neighbouring turns of a retrieved turn (optional capability)
    MemoryStore     load(user, char) -> (facts by slot, events, summaries) from DynamoDB
    QueryEmbedder   embed_query(text) -> vector
    IndexTurnContext(index)   TurnContext over an index with get_turns(user, char, session_id, seqs)
    fact_memory(fact) / event_memory(event) / summary_memory(summary) -> RecalledMemory (candidates.py)
    searchable_text(memory) -> str   content plus zh/en words for the fact key, for overlap scoring
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ...models import RecalledMemory
from ..records import EventRecord, FactRecord, SummaryRecord
from .candidates import from_event, from_fact, from_summary


class SearchIndex(Protocol):
    async def knn_search(self, user_id: str, character_id: str, vector: Sequence[float], k: int,
                         memory_types: Sequence[str] | None = None) -> list[RecalledMemory]: ...

    async def bm25_search(self, user_id: str, character_id: str, query: str, k: int,
                          memory_types: Sequence[str] | None = None) -> list[RecalledMemory]: ...


@runtime_checkable
class TurnContext(Protocol):
    async def neighbours(self, user_id: str, character_id: str, turn: RecalledMemory,
                         window: int) -> list[RecalledMemory]:
        """Turns within ``window`` positions of ``turn`` in its session, oldest first (``turn`` included)."""
        ...


class MemoryStore(Protocol):
    async def load(self, user_id: str, character_id: str
                   ) -> tuple[dict[tuple[str, str], FactRecord], list[EventRecord], list[SummaryRecord]]:
        """The pair's profile facts keyed by their slot ``(fact_type, key)``, its events and
        (the newest of) its summaries; raises ``StoreUnavailable`` when the store is down."""
        ...


class QueryEmbedder(Protocol):
    async def embed_query(self, text: str) -> list[float]: ...


# Words a user would use when asking about a profile slot; fact keys are English snake_case,
# so "我是做什么的" (query "工作 职业") would otherwise never match "job: 程序员".
FACT_KEY_WORDS: dict[str, str] = {
    "name": "名字 叫什么 name called",
    "age": "年龄 几岁 多大 age old",
    "birthday": "生日 出生 birthday born",
    "job": "工作 职业 做什么 上班 job work occupation",
    "city": "住 城市 哪里 在哪 city live where",
    "hometown": "老家 家乡 哪里人 hometown from",
    "favorite_food": "喜欢吃 爱吃 食物 吃什么 favorite food eat",
    "dislikes_food": "不喜欢吃 不爱吃 忌口 dislike food",
    "pet": "宠物 猫 狗 pet cat dog",
    "hobby": "爱好 兴趣 喜欢 hobby like",
}
_TYPE_WORDS = {
    "preference": "喜欢 爱 偏好 like love prefer",
    "relationship": "家人 朋友 关系 family friend",
    "personality": "性格 personality",
}


def fact_memory(fact: FactRecord) -> RecalledMemory:
    return from_fact(fact)


def event_memory(event: EventRecord) -> RecalledMemory:
    return from_event(event)


def summary_memory(summary: SummaryRecord) -> RecalledMemory:
    mem = from_summary(summary, source="summaries")
    return mem.model_copy(update={"metadata": {**mem.metadata, "from_seq": summary.from_seq,
                                               "to_seq": summary.to_seq}})


class TurnFetcher(Protocol):
    async def get_turns(self, user_id: str, character_id: str, session_id: str,
                        seqs: Sequence[int]) -> list[RecalledMemory]: ...


class IndexTurnContext:
    """Neighbouring turns through an index that can fetch turns by (session, seq)."""

    def __init__(self, index: TurnFetcher) -> None:
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


def searchable_text(memory: RecalledMemory) -> str:
    extra = ""
    base = str(memory.metadata.get("search_text") or memory.content)
    if memory.memory_type == "profile":
        key = str(memory.metadata.get("key", ""))
        extra = FACT_KEY_WORDS.get(key, key.replace("_", " ")) + " " + _TYPE_WORDS.get(
            str(memory.metadata.get("fact_type", "")), "")
    elif memory.memory_type == "summary":
        extra = " ".join(str(t) for t in memory.metadata.get("topics") or [])
    return f"{base} {extra}".strip()
