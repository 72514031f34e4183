from __future__ import annotations

from companion.memory.extraction.schema import ExtractedEvent, ExtractedFact, ExtractionResult
from companion.memory.merge import build_summary, merge_events, merge_fact, merge_facts, title_similarity
from companion.models import ChatMessage, MemoryTask

IDS = {"user_id": "u1", "character_id": "c1"}
T0 = 1_790_000_000.0


def fact(value: str, conf: float = 0.9, key: str = "city") -> ExtractedFact:
    return ExtractedFact(type="basic_info", key=key, value=value, confidence=conf)


def event(title: str, date: str | None = None, type_: str = "plan", recurring: bool = False,
          importance: int = 5) -> ExtractedEvent:
    return ExtractedEvent(type=type_, title=title, summary=title, date=date, recurring=recurring,
                          emotion="", importance=importance)


def test_new_fact_then_supersede_keeps_history():
    a = merge_fact(None, fact("上海"), task_id="t1", now=T0, **IDS)
    assert a and a.value == "上海" and a.history == [] and a.fact_id.startswith("fact_")
    b = merge_fact(a, fact("北京", 0.8), task_id="t2", now=T0 + 100, **IDS)
    assert b and b.value == "北京" and b.since == T0 + 100
    [old] = b.history
    assert (old.value, old.from_ts, old.until_ts, old.source_task_id) == ("上海", T0, T0 + 100, "t1")
    assert a.value == "上海"  # the input record is not mutated


def test_same_value_refreshes():
    a = merge_fact(None, fact("Berlin", 0.7), task_id="t1", now=T0, **IDS)
    b = merge_fact(a, fact("berlin!", 0.9), task_id="t2", now=T0 + 5, **IDS)
    assert b and b.value == "Berlin" and b.confidence == 0.9 and b.updated_at == T0 + 5 and b.history == []
    assert b.since == T0


def test_low_confidence_contradiction_is_ignored_but_close_confidence_wins():
    a = merge_fact(None, fact("上海", 0.95), task_id="t1", now=T0, **IDS)
    assert merge_fact(a, fact("北京", 0.4), task_id="t2", now=T0 + 1, **IDS) is None
    # below the absolute threshold but within the margin of the old confidence
    low = merge_fact(None, fact("上海", 0.5), task_id="t1", now=T0, **IDS)
    c = merge_fact(low, fact("北京", 0.4), task_id="t2", now=T0 + 1, **IDS)
    assert c and c.value == "北京"


def test_replay_and_stale_changes_nothing():
    a = merge_fact(None, fact("上海"), task_id="t1", now=T0, **IDS)
    assert merge_fact(a, fact("北京"), task_id="t1", now=T0 + 9, **IDS) is None
    b = merge_fact(a, fact("北京"), task_id="t2", now=T0 + 10, **IDS)
    assert merge_fact(b, fact("上海"), task_id="t1", now=T0, **IDS) is None  # old task replayed later
    assert merge_fact(b, fact("广州"), task_id="t3", now=T0 + 5, **IDS) is None  # older than the record


def test_merge_facts_dedupes_within_a_task():
    out = merge_facts({}, [fact("A", 0.6), fact("B", 0.9), fact("小林", 0.9, key="name")], task_id="t1",
                      now=T0, **IDS)
    assert [(r.key, r.value) for r in out] == [("city", "B"), ("name", "小林")]
    again = merge_facts({(r.type, r.key): r for r in out}, [fact("B", 0.9)], task_id="t1", now=T0, **IDS)
    assert again == []


def test_events_merge_by_date_and_title_and_ids_are_deterministic():
    first = merge_events([], [event("去北京出差", "2026-12-01")], task_id="t1", now=T0, **IDS)
    assert len(first) == 1 and first[0].mentions == 1
    again = merge_events([], [event("去北京出差", "2026-12-01")], task_id="t1", now=T0, **IDS)
    assert again == first  # replayed from scratch: identical record, same id
    same_day = merge_events(first, [event("出差去北京", "2026-12-01", importance=7)], task_id="t2",
                            now=T0 + 1, **IDS)
    assert [e.event_id for e in same_day] == [first[0].event_id]
    assert same_day[0].mentions == 2 and same_day[0].importance == 7
    similar_title = merge_events(first, [event("去北京出差啦")], task_id="t3", now=T0 + 2, **IDS)
    assert similar_title[0].event_id == first[0].event_id and similar_title[0].date == "2026-12-01"
    other_day = merge_events(first, [event("去北京出差", "2027-01-10")], task_id="t4", now=T0 + 3, **IDS)
    assert other_day[0].event_id != first[0].event_id
    assert merge_events(same_day, [event("出差去北京", "2026-12-01")], task_id="t2", now=T0 + 1, **IDS) == []


def test_yearly_events_merge_across_years():
    a = merge_events([], [event("生日", "2026-12-15", "birthday", True)], task_id="t1", now=T0, **IDS)
    b = merge_events(a, [event("Birthday", "2027-12-15", "birthday", True)], task_id="t2", now=T0 + 1, **IDS)
    assert b[0].event_id == a[0].event_id and b[0].mentions == 2


def test_english_titles_merge_and_unrelated_dont():
    assert title_similarity("Job interview at Google", "job interview at google!") == 1.0
    assert title_similarity("visit grandma", "buy a new phone") < 0.2
    a = merge_events([], [event("job interview at Google")], task_id="t1", now=T0, **IDS)
    b = merge_events(a, [event("buy a new phone")], task_id="t2", now=T0, **IDS)
    assert b[0].event_id != a[0].event_id


def test_build_summary_is_deterministic():
    msgs = [ChatMessage(role="user", content="hi", timestamp=T0 + 5), ChatMessage(role="assistant", content="yo",
                                                                                   timestamp=T0 + 9)]
    task = MemoryTask(task_id="task-1", user_id="u1", character_id="c1", session_id="s1", trigger="threshold",
                      from_seq=3, to_seq=4, messages=msgs, created_at=T0 + 10)
    res = ExtractionResult(summary="用户打招呼", topics=["问候"], emotion="平静", facts=[], events=[])
    s = build_summary(task, res)
    assert s == build_summary(task, res)
    assert (s.start_ts, s.end_ts, s.from_seq, s.to_seq, s.message_count) == (T0 + 5, T0 + 9, 3, 4, 2)
    assert s.summary_id == build_summary(task.model_copy(update={"messages": []}), res, messages=msgs).summary_id
