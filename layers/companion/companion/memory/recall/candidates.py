"""Stored records -> recall candidates, with the metadata ranking and prompt_block read.

Retrieval code (DynamoDB / OpenSearch adapters) should build candidates with these so
the metadata keys stay in one place:
    from_fact(FactRecord, *, score=0.0, source="profile") -> RecalledMemory
        memory_id = fact_id, timestamp = since (when the current value was learned),
        importance = 5 + 5·confidence (facts carry no importance of their own),
        metadata: fact_type, key, value, confidence, updated_at (recency of a fact),
        search_text (content + Chinese aliases of the English key, for lexical scoring), and
        for a birthday-like key whose value parses as a date: event_date + recurring.
    from_event(EventRecord, *, score=0.0, source="events") -> RecalledMemory
        memory_id = event_id, timestamp = updated_at (last mention), metadata:
        event_type, title, event_date (ISO), recurring, emotion, mentions, created_at.
    from_summary(SummaryRecord, *, score=0.0, source="summary") -> RecalledMemory
        memory_id = summary_id, timestamp = end_ts, metadata: topics, emotion, session_id.
OpenSearch hits should use the same memory_id as the record they index (the worker's
deterministic ids), so fusion merges a fact found by k-NN with the same fact from
DynamoDB. Metadata keys read downstream: event_date, recurring, event_type, title,
updated_at, search_text.
"""

from __future__ import annotations

from ...models import RecalledMemory
from ..records import EventRecord, FactRecord, SummaryRecord
from .dates import parse_event_date

_DATE_KEYS = ("birthday", "anniversary")

# Fact keys are English snake_case ("favorite_food") while users may ask in Chinese
# ("我最喜欢吃什么"): Chinese words per key part give lexical matching something to find.
_KEY_ALIASES_ZH = {
    "name": "名字 叫", "nickname": "昵称 叫", "age": "年龄 岁", "birthday": "生日", "anniversary": "纪念日",
    "favorite": "最喜欢 喜欢 最爱", "likes": "喜欢", "like": "喜欢", "dislikes": "讨厌 不喜欢",
    "food": "吃 食物", "drink": "喝 饮料", "color": "颜色", "music": "音乐 歌", "movie": "电影",
    "book": "书", "sport": "运动", "hobby": "爱好 兴趣", "hobbies": "爱好 兴趣", "pet": "宠物",
    "job": "工作 职业", "occupation": "工作 职业", "company": "公司 工作", "school": "学校 上学",
    "major": "专业", "city": "城市 住", "hometown": "老家 家乡", "location": "住 在哪",
    "sister": "姐姐 妹妹", "brother": "哥哥 弟弟", "mother": "妈妈", "father": "爸爸",
    "partner": "对象", "girlfriend": "女朋友", "boyfriend": "男朋友", "wife": "老婆 妻子",
    "husband": "老公 丈夫", "friend": "朋友", "allergy": "过敏", "allergies": "过敏",
}


def fact_search_text(fact: FactRecord) -> str:
    """Content plus Chinese aliases of the key's parts (see fusion.score_by_overlap)."""
    aliases = [_KEY_ALIASES_ZH[p] for p in fact.key.lower().split("_") if p in _KEY_ALIASES_ZH]
    return " ".join([fact.content, *aliases])


def from_fact(fact: FactRecord, *, score: float = 0.0, source: str = "profile") -> RecalledMemory:
    metadata: dict[str, object] = {
        "fact_type": fact.type, "key": fact.key, "value": fact.value,
        "confidence": fact.confidence, "updated_at": fact.updated_at,
        "search_text": fact_search_text(fact),
    }
    # "birthday: 1995-03-15" is also a yearly date the companion may bring up.
    if fact.key.endswith(_DATE_KEYS) and parse_event_date(fact.value) is not None:
        metadata.update(event_date=fact.value, recurring=True, title=fact.content)
    return RecalledMemory(memory_id=fact.fact_id, memory_type="profile", content=fact.content,
                          timestamp=fact.since, score=score,
                          importance=round(5 + 5 * max(0.0, min(fact.confidence, 1.0)), 2),
                          source=source, metadata=metadata)


def from_event(event: EventRecord, *, score: float = 0.0, source: str = "events") -> RecalledMemory:
    metadata: dict[str, object] = {
        "event_type": event.type, "title": event.title, "recurring": event.recurring,
        "emotion": event.emotion, "mentions": event.mentions, "created_at": event.created_at,
    }
    if event.date:
        metadata["event_date"] = event.date
    return RecalledMemory(memory_id=event.event_id, memory_type="event", content=event.content,
                          timestamp=event.updated_at, score=score, importance=float(event.importance),
                          source=source, metadata=metadata)


def from_summary(summary: SummaryRecord, *, score: float = 0.0, source: str = "summary") -> RecalledMemory:
    return RecalledMemory(memory_id=summary.summary_id, memory_type="summary", content=summary.content,
                          timestamp=summary.end_ts, score=score, importance=5.0, source=source,
                          metadata={"topics": list(summary.topics), "emotion": summary.emotion,
                                    "session_id": summary.session_id})
