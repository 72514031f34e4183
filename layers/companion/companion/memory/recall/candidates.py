"""Stored records -> recall candidates, with the metadata ranking and prompt_block read.

Retrieval code (DynamoDB / OpenSearch adapters) should build candidates with these so
the metadata keys stay in one place:
    from_fact(FactRecord, *, score=0.0, source="profile") -> RecalledMemory
        memory_id = fact_id, timestamp = since (when the current value was learned),
        importance = 5 + 5·confidence (facts carry no importance of their own),
        metadata: fact_type, key (as stored: "豆豆:age" for an other's fact), subject, value, confidence,
        updated_at (recency of a fact),
        search_text (content + zh/en words for the key's parts and type, for lexical scoring), and
        for a birthday-like key whose value parses as a date: event_date + recurring.
    from_event(EventRecord, *, score=0.0, source="events") -> RecalledMemory
        memory_id = event_id, timestamp = updated_at (last mention), metadata:
        event_type, title, event_date (ISO), recurring, emotion, mentions, created_at.
    from_summary(SummaryRecord, *, score=0.0, source="summaries") -> RecalledMemory
        memory_id = summary_id, timestamp = end_ts, metadata: topics, emotion, session_id,
        from_seq, to_seq, search_text (content + topics).
Index documents (``memory.documents``) carry the record's id and the same metadata names
(fact_type, event_type, event_date, title, recurring, ...), so fusion merges a fact found by
k-NN with the same fact from DynamoDB, and an index-only hit ranks and renders alike.
Every one also carries ``source_turn_ids``: the turn documents the record was taken from (a
fact's value, an event, a summary's quoted clauses), never the turns a window shows (``turn_ids``).
Metadata keys read downstream: event_date, recurring, event_type, title, updated_at,
search_text.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...models import RecalledMemory
from ..records import EventRecord, FactRecord, SummaryRecord
from .dates import parse_event_date

_DATE_KEYS = ("birthday", "anniversary")
_NAME_KEYS = ("nickname", "name")  # what the user asked to be called, else their name

# Fact keys are English snake_case ("favorite_food", "sister_name") while users ask in their own
# words ("我最喜欢吃什么", "what do I eat"): the words a user would use, per part of a key, give
# lexical matching something to find. The key's own English words are in the content already.
KEY_WORDS: dict[str, str] = {
    "name": "名字 叫 叫什么 called", "nickname": "昵称 叫", "age": "年龄 岁 几岁 多大 old",
    "birthday": "生日 出生 born", "anniversary": "纪念日",
    "favorite": "最喜欢 喜欢 最爱", "likes": "喜欢", "like": "喜欢", "dislikes": "讨厌 不喜欢 不爱 忌口 dislike",
    "food": "吃 食物 吃什么 喜欢吃 爱吃 eat", "drink": "喝 饮料", "color": "颜色", "music": "音乐 歌",
    "movie": "电影", "book": "书", "sport": "运动", "hobby": "爱好 兴趣 喜欢 like", "hobbies": "爱好 兴趣 喜欢 like",
    "pet": "宠物 猫 狗 cat dog", "job": "工作 职业 做什么 上班 work occupation", "occupation": "工作 职业",
    "company": "公司 工作", "school": "学校 上学", "major": "专业", "city": "城市 住 哪里 在哪 live where",
    "hometown": "老家 家乡 哪里人 from", "location": "住 在哪",
    "sister": "姐姐 妹妹", "brother": "哥哥 弟弟", "mother": "妈妈", "father": "爸爸", "partner": "对象",
    "girlfriend": "女朋友", "boyfriend": "男朋友", "wife": "老婆 妻子", "husband": "老公 丈夫", "friend": "朋友",
    "allergy": "过敏", "allergies": "过敏",
}
# The same for a fact's type (the kinds of slot a question may ask about as a whole).
TYPE_WORDS: dict[str, str] = {
    "preference": "喜欢 爱 偏好 like love prefer",
    "relationship": "家人 朋友 关系 family friend",
    "personality": "性格 personality",
}


def preferred_name(facts: Iterable[RecalledMemory]) -> str | None:
    """The name the user goes by, from their ``basic_info`` facts (candidates made by ``from_fact``)."""
    names = {m.metadata.get("key"): m.metadata.get("value") for m in facts
             if m.memory_type == "profile" and m.metadata.get("fact_type") == "basic_info"}
    for key in _NAME_KEYS:
        value = names.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def fact_search_text(fact: FactRecord) -> str:
    """Content plus the words of the key's parts and of its type (see fusion.score_by_overlap)."""
    # The key without its subject ("豆豆:age" -> "age"); the subject's name is in the content.
    words = [KEY_WORDS[p] for p in fact.base_key.lower().split("_") if p in KEY_WORDS]
    return " ".join([fact.content, *words, TYPE_WORDS.get(fact.type, "")]).strip()


def from_fact(fact: FactRecord, *, score: float = 0.0, source: str = "profile") -> RecalledMemory:
    metadata: dict[str, object] = {
        "fact_type": fact.type, "key": fact.key, "value": fact.value,
        "confidence": fact.confidence, "updated_at": fact.updated_at,
        "search_text": fact_search_text(fact), "subject": fact.subject,
        "source_turn_ids": list(fact.source_turn_ids),
    }
    # "birthday: 1995-03-15" is also a yearly date the companion may bring up.
    if fact.base_key.endswith(_DATE_KEYS) and parse_event_date(fact.value) is not None:
        metadata.update(event_date=fact.value, recurring=True, title=fact.content)
    return RecalledMemory(memory_id=fact.fact_id, memory_type="profile", content=fact.content,
                          timestamp=fact.since, score=score,
                          importance=round(5 + 5 * max(0.0, min(fact.confidence, 1.0)), 2),
                          source=source, metadata=metadata)


def from_event(event: EventRecord, *, score: float = 0.0, source: str = "events") -> RecalledMemory:
    metadata: dict[str, object] = {
        "event_type": event.type, "title": event.title, "recurring": event.recurring,
        "emotion": event.emotion, "mentions": event.mentions, "created_at": event.created_at,
        "source_turn_ids": list(event.source_turn_ids),
    }
    if event.date:
        metadata["event_date"] = event.date
    return RecalledMemory(memory_id=event.event_id, memory_type="event", content=event.content,
                          timestamp=event.updated_at, score=score, importance=float(event.importance),
                          source=source, metadata=metadata)


def from_summary(summary: SummaryRecord, *, score: float = 0.0, source: str = "summaries") -> RecalledMemory:
    return RecalledMemory(memory_id=summary.summary_id, memory_type="summary", content=summary.content,
                          timestamp=summary.end_ts, score=score, importance=5.0, source=source,
                          metadata={"topics": list(summary.topics), "emotion": summary.emotion,
                                    "session_id": summary.session_id, "from_seq": summary.from_seq,
                                    "to_seq": summary.to_seq, "source_turn_ids": list(summary.source_turn_ids),
                                    "search_text": " ".join([summary.content, *summary.topics])})
