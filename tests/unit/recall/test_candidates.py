"""Records -> candidates, and the whole pure pipeline: decide, fuse, rank, render."""

from __future__ import annotations

from datetime import UTC, datetime

from companion.memory.documents import event_document, fact_document
from companion.memory.recall import decide, fuse, render_memories, score_by_overlap, should_recall
from companion.memory.recall.candidates import from_event, from_fact, from_summary
from companion.memory.recall.prompt_block import render_line
from companion.memory.records import EventRecord, FactRecord, SummaryRecord
from companion.models import RecalledMemory

from .product import rank, upcoming_events_hint

NOW = datetime(2025, 12, 29, 10, 0, tzinfo=UTC).timestamp()
DAY = 86400.0


def fact(key: str, value: str, *, age_days: float = 200, confidence: float = 0.9) -> FactRecord:
    return FactRecord(user_id="u", character_id="c", type="basic_info", key=key, value=value,
                      confidence=confidence, since=NOW - age_days * DAY, updated_at=NOW - age_days * DAY,
                      source_task_id="t1")


def event(event_id: str, title: str, date: str | None, *, recurring: bool = False, type_: str = "plan",
          importance: int = 6) -> EventRecord:
    return EventRecord(event_id=event_id, user_id="u", character_id="c", type=type_,  # type: ignore[arg-type]
                       title=title, summary=f"{title}的细节", date=date, recurring=recurring,
                       importance=importance, created_at=NOW - 90 * DAY, updated_at=NOW - 30 * DAY)


def test_from_fact() -> None:
    f = fact("favorite_food", "火锅", confidence=0.8)
    m = from_fact(f, score=0.4)
    assert (m.memory_id, m.memory_type, m.content, m.source) == (f.fact_id, "profile", "favorite food: 火锅", "profile")
    assert m.timestamp == f.since and m.metadata["updated_at"] == f.updated_at
    assert m.importance == 9.0 and m.score == 0.4
    assert "event_date" not in m.metadata


def test_birthday_fact_becomes_a_yearly_date() -> None:
    m = from_fact(fact("birthday", "1995-01-03"))
    assert m.metadata["event_date"] == "1995-01-03" and m.metadata["recurring"] is True
    assert "yearly 01-03" in render_line(m, language="en", now=NOW)
    assert "(in 5 days)" in upcoming_events_hint([m], language="en", now=NOW)
    assert from_fact(fact("birthday", "spring")).metadata.get("event_date") is None


def test_from_event_and_summary() -> None:
    e = from_event(event("ev1", "生日", "2026-01-03", recurring=True, type_="birthday", importance=8))
    assert (e.memory_id, e.memory_type, e.importance) == ("ev1", "event", 8.0)
    assert e.metadata["event_date"] == "2026-01-03" and e.metadata["title"] == "生日"
    assert "每年 01-03" in render_line(e, language="zh", now=NOW)
    s = from_summary(SummaryRecord(summary_id="s1", user_id="u", character_id="c", session_id="sess", task_id="t",
                                   summary="聊了工作压力", topics=["工作"], from_seq=1, to_seq=9, created_at=NOW,
                                   start_ts=NOW - 100, end_ts=NOW - 50))
    assert (s.memory_id, s.memory_type, s.timestamp, s.metadata["topics"]) == ("s1", "summary", NOW - 50, ["工作"])


def test_pipeline_end_to_end() -> None:
    decision = decide("你还记得我最喜欢吃什么吗？")
    assert should_recall(decision, "intent")

    food = from_fact(fact("favorite_food", "火锅", age_days=400))
    city = from_fact(fact("city", "上海", age_days=400))
    bday = from_event(event("ev_bday", "生日", "2026-01-03", recurring=True, type_="birthday", importance=8))
    knn = [
        RecalledMemory(memory_id=food.memory_id, memory_type="profile", content=food.content,
                       timestamp=food.timestamp, score=0.83, source="knn"),
        RecalledMemory(memory_id="turn_1", memory_type="turn", content="用户说周末和朋友去吃了火锅，很开心",
                       timestamp=NOW - 3 * DAY, score=0.79, importance=4, source="knn"),
    ]
    bm25 = [RecalledMemory(memory_id="turn_1", memory_type="turn", content="用户说周末和朋友去吃了火锅，很开心",
                           timestamp=NOW - 3 * DAY, score=7.5, importance=4, source="bm25")]
    candidates = fuse({
        "knn": knn,
        "bm25": bm25,
        "profile": score_by_overlap(decision.query, [city, food]),
        "events": score_by_overlap(decision.query, [bday]),
    }, k=60)
    ranked = rank(candidates, now=NOW, language=decision.language, max_items=3)
    # the two memories found by two sources each come first; the unrelated fact does not beat them
    assert {m.memory_id for m in ranked[:2]} == {food.memory_id, "turn_1"}
    by_id = {m.memory_id: m for m in ranked}
    assert by_id[food.memory_id].source == "knn+profile" and by_id["turn_1"].source == "bm25+knn"
    assert city.memory_id not in [m.memory_id for m in ranked[:2]]
    block = render_memories(ranked, language=decision.language, now=NOW)
    assert '"favorite food: 火锅"' in block
    assert block.count("\n- ") == len(ranked)
    hint = upcoming_events_hint([bday], language="zh", now=NOW)
    assert "5天后" in hint


def test_zh_question_finds_english_keyed_fact() -> None:
    facts = [from_fact(fact("city", "上海")), from_fact(fact("favorite_food", "火锅")), from_fact(fact("job", "护士"))]
    ordered = score_by_overlap(decide("你还记得我最喜欢吃什么吗？").query, facts)
    assert ordered[0].content == "favorite food: 火锅" and ordered[0].score > 0
    ordered = score_by_overlap(decide("你知道我是做什么的吗").query, facts)
    assert ordered[0].content == "job: 护士"


def test_index_documents_and_candidates_use_the_same_field_names() -> None:
    ev = event("ev1", "生日", "2026-01-03", recurring=True, type_="birthday")
    doc, cand = event_document(ev).metadata, from_event(ev).metadata
    for key in ("event_type", "event_date", "title", "recurring", "emotion"):
        assert doc[key] == cand[key], key
    f = fact("favorite_food", "火锅")
    doc, cand = fact_document(f).metadata, from_fact(f).metadata
    for key in ("fact_type", "key", "value", "confidence"):
        assert doc[key] == cand[key], key


def test_summaries_are_found_by_their_topics() -> None:
    s = from_summary(SummaryRecord(summary_id="s1", user_id="u", character_id="c", session_id="sess", task_id="t",
                                   summary="聊了很多", topics=["面试"], from_seq=1, to_seq=9, created_at=NOW,
                                   start_ts=NOW - 100, end_ts=NOW - 50))
    assert (s.source, s.metadata["from_seq"], s.metadata["to_seq"]) == ("summaries", 1, 9)
    assert score_by_overlap(decide("我的面试怎么样了").query, [s])[0].score > 0
