"""What recall needs from the stores (ports), and DynamoDB records as recall candidates.

The recall service depends only on these protocols; the OpenSearch index and DynamoDB
memory repository adapters satisfy them, and tests can pass fakes that fail or stall.

Public API:
    SearchIndex     knn_search / bm25_search over one user's memories of one character
    TurnContext     neighbouring turns of a retrieved turn (optional capability)
    MemoryStore     load(user, char) -> (facts, events, summaries) from DynamoDB
    QueryEmbedder   embed_query(text) -> vector
    fact_memory(fact) / event_memory(event) / summary_memory(summary) -> RecalledMemory
    searchable_text(memory) -> str   content plus zh/en words for the fact key, for overlap scoring
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from ...models import RecalledMemory
from ..records import EventRecord, FactRecord, SummaryRecord


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
                   ) -> tuple[list[FactRecord], list[EventRecord], list[SummaryRecord]]: ...


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
    meta: dict[str, Any] = {"fact_type": fact.type, "key": fact.key, "value": fact.value,
                            "confidence": fact.confidence, "updated_at": fact.updated_at, "store": "dynamodb"}
    if fact.key == "birthday":
        # A birthday is also a yearly date the companion can bring up when it comes near.
        meta.update(event_date=fact.value, event_type="birthday", recurring=True, title=fact.content)
    return RecalledMemory(memory_id=fact.fact_id, memory_type="profile", content=fact.content,
                          timestamp=fact.updated_at, importance=round(5 + 3 * fact.confidence, 2),
                          source="profile", metadata=meta)


def event_memory(event: EventRecord) -> RecalledMemory:
    meta: dict[str, Any] = {"event_type": event.type, "title": event.title, "recurring": event.recurring,
                            "mentions": event.mentions, "store": "dynamodb"}
    if event.date:
        meta["event_date"] = event.date
    return RecalledMemory(memory_id=event.event_id, memory_type="event", content=event.content,
                          timestamp=event.updated_at, importance=float(event.importance), source="events",
                          metadata=meta)


def summary_memory(summary: SummaryRecord) -> RecalledMemory:
    return RecalledMemory(memory_id=summary.summary_id, memory_type="summary", content=summary.content,
                          timestamp=summary.end_ts or summary.created_at, importance=5.0, source="summaries",
                          metadata={"topics": summary.topics, "session_id": summary.session_id,
                                    "from_seq": summary.from_seq, "to_seq": summary.to_seq, "store": "dynamodb"})


def searchable_text(memory: RecalledMemory) -> str:
    extra = ""
    if memory.memory_type == "profile":
        key = str(memory.metadata.get("key", ""))
        extra = FACT_KEY_WORDS.get(key, key.replace("_", " ")) + " " + _TYPE_WORDS.get(
            str(memory.metadata.get("fact_type", "")), "")
    elif memory.memory_type == "summary":
        extra = " ".join(str(t) for t in memory.metadata.get("topics") or [])
    return f"{memory.content} {extra}".strip()
