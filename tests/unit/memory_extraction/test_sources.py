"""Derived memories name the user messages they came from, and records keep them as turn ids."""

from __future__ import annotations

from datetime import UTC, datetime

from companion.memory.documents import turn_id_at
from companion.memory.extraction.rules import extract_with_rules
from companion.memory.merge import merge_facts
from companion.models import ChatMessage

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
U, C = "u-1", "xiaoyu"


def session(*texts: str) -> list[ChatMessage]:
    """User messages at odd positions (an assistant reply between each)."""
    out = []
    for i, t in enumerate(texts):
        out.append(ChatMessage(role="user", content=t, seq=2 * i + 1, timestamp=NOW.timestamp() + i))
        out.append(ChatMessage(role="assistant", content="嗯嗯", seq=2 * i + 2, timestamp=NOW.timestamp() + i))
    return out


def test_each_fact_and_event_names_the_message_it_came_from_zh() -> None:
    said = session("我叫小林，我最喜欢吃火锅", "我家的猫叫豆豆，今年三岁了", "今天考试没考好，有点难过")
    r = extract_with_rules(said, now=NOW).result
    seqs = {(f.subject, f.key): f.source_seqs for f in r.facts}
    assert seqs[("user", "name")] == [1] and seqs[("user", "favorite_food")] == [1]
    assert seqs[("豆豆", "age")] == [3]
    [exam] = [e for e in r.events if "考试" in e.title + e.summary]
    assert exam.source_seqs == [5]


def test_records_keep_turn_ids_and_a_changed_value_only_its_new_source() -> None:
    first = extract_with_rules(session("I live in Shanghai"), now=NOW).result
    [city] = merge_facts({}, [f for f in first.facts if f.key == "city"], task_id="t1", now=NOW.timestamp(),
                         user_id=U, character_id=C)
    assert city.source_turn_ids == [turn_id_at(U, C, 1)]
    moved = extract_with_rules([ChatMessage(role="user", content="Actually I moved to Porto", seq=7,
                                            timestamp=NOW.timestamp() + 60)], now=NOW).result
    [after] = merge_facts({(city.type, city.key): city}, [f for f in moved.facts if f.key == "city"], task_id="t2",
                          now=NOW.timestamp() + 60, user_id=U, character_id=C)
    assert after.value == "Porto" and after.source_turn_ids == [turn_id_at(U, C, 7)]
