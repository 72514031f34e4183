"""Final ranking: score formula, stable facts, tie-breaks, dedupe, budgets, determinism."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime

import pytest
from companion.memory.recall.prompt_block import render_line
from companion.memory.recall.ranking import STABLE_RECENCY_FLOOR
from companion.models import RecalledMemory
from companion.text import estimate_tokens

from .product import rank, recency

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC).timestamp()
DAY = 86400.0


def mem(memory_id: str, *, score: float = 1.0, age_days: float = 0.0, importance: float = 5.0,
        memory_type: str = "turn", content: str | None = None, **metadata: object) -> RecalledMemory:
    return RecalledMemory(
        memory_id=memory_id,
        memory_type=memory_type,  # type: ignore[arg-type]
        # default content: unrelated hex text, so test items are never near-duplicates
        content=content if content is not None else hashlib.sha256(memory_id.encode()).hexdigest(),
        timestamp=NOW - age_days * DAY,
        score=score,
        importance=importance,
        metadata=dict(metadata),
    )


def ids(items: list[RecalledMemory]) -> list[str]:
    return [m.memory_id for m in items]


# ---------------------------------------------------------------- recency
def test_recency_half_life() -> None:
    assert recency(mem("a", age_days=0), now=NOW) == pytest.approx(1.0)
    assert recency(mem("a", age_days=30), now=NOW) == pytest.approx(0.5)
    assert recency(mem("a", age_days=60), now=NOW) == pytest.approx(0.25)
    assert recency(mem("a", age_days=10), now=NOW, half_life_days=10) == pytest.approx(0.5)
    assert recency(mem("a", age_days=-3), now=NOW) == 1.0  # clock skew: never above 1


def test_profile_fact_has_a_floor_and_uses_updated_at() -> None:
    old = mem("p", memory_type="profile", age_days=700)
    assert recency(old, now=NOW) == STABLE_RECENCY_FLOOR
    refreshed = mem("p", memory_type="profile", age_days=700, updated_at=NOW - 2 * DAY)
    assert recency(refreshed, now=NOW) == pytest.approx(0.5 ** (2 / 30))
    # a plain turn of the same age does fade out
    assert recency(mem("t", age_days=700), now=NOW) < 1e-6


def test_upcoming_event_counts_as_recent() -> None:
    exam = mem("e", memory_type="event", age_days=100, event_date="2026-01-08")
    assert recency(exam, now=NOW) == pytest.approx(0.5 ** (7 / 30))
    far_past = mem("e2", memory_type="event", age_days=400, event_date="2024-12-01")
    assert recency(far_past, now=NOW) < 0.01


def test_recurring_event_uses_nearest_occurrence_and_floor() -> None:
    # birthday 3 days ago (2025-12-29) counts as close, across the year boundary
    bday = mem("b", memory_type="event", age_days=300, event_date="12-29")
    assert recency(bday, now=NOW) == pytest.approx(0.5 ** (3 / 30))
    # six months away: floor keeps it
    summer = mem("b2", memory_type="event", age_days=300, event_date="1990-07-01", event_type="birthday")
    assert recency(summer, now=NOW) == STABLE_RECENCY_FLOOR


# ---------------------------------------------------------------- score
def test_final_score_formula_and_relevance_normalization() -> None:
    a = mem("a", score=2.0, age_days=30, importance=10)
    b = mem("b", score=1.0, age_days=0, importance=0)
    out = {m.memory_id: m for m in rank([a, b], now=NOW)}
    assert out["a"].score == pytest.approx(0.8 * 1.0 + 0.1 * 0.5 + 0.1 * 1.0)
    assert out["b"].score == pytest.approx(0.8 * 0.5 + 0.1 * 1.0 + 0.1 * 0.0)
    assert out["b"].metadata["ranking"]["relevance"] == pytest.approx(0.5)
    assert out["a"].metadata["ranking"]["raw_score"] == 2.0


def test_all_zero_relevance_ranks_by_recency_and_importance() -> None:
    out = rank([mem("old", score=0, age_days=90), mem("new", score=0, age_days=1)], now=NOW)
    assert ids(out) == ["new", "old"]
    assert out[0].metadata["ranking"]["relevance"] == 0.0


def test_importance_is_clamped() -> None:
    out = rank([mem("a", importance=50)], now=NOW, weights=(0, 0, 1))
    assert out[0].score == pytest.approx(1.0)


def test_relevance_tie_goes_to_more_recent() -> None:
    out = rank([mem("old", age_days=20), mem("new", age_days=2)], now=NOW)
    assert ids(out) == ["new", "old"]


def test_relevance_tie_goes_to_more_important() -> None:
    out = rank([mem("low", importance=3), mem("high", importance=9)], now=NOW)
    assert ids(out) == ["high", "low"]


def test_exact_score_ties_break_on_timestamp_then_importance_then_id() -> None:
    # Only relevance counts: every final score is equal, so the tie-breaks decide.
    items = [mem("c", age_days=5, importance=5), mem("a", age_days=5, importance=5),
             mem("imp", age_days=5, importance=9), mem("new", age_days=1, importance=1)]
    out = rank(items, now=NOW, weights=(1.0, 0.0, 0.0))
    assert ids(out) == ["new", "imp", "a", "c"]


def test_stable_fact_survives_against_fresh_chitchat() -> None:
    # Near-equal relevance: recency decides, and only the profile fact's floor keeps it in.
    chit = [mem(f"t{i}", score=0.3, age_days=0.1 * i, importance=3) for i in range(5)]
    name_fact = mem("name", memory_type="profile", score=0.31, age_days=500, importance=8,
                    content="name: 小林")
    same_as_turn = mem("name", memory_type="turn", score=0.31, age_days=500, importance=8, content="name: 小林")
    assert "name" in ids(rank([*chit, name_fact], now=NOW, max_items=3))
    assert "name" not in ids(rank([*chit, same_as_turn], now=NOW, max_items=3))


def test_clearly_more_relevant_old_memory_beats_fresh_chitchat() -> None:
    # Recency breaks near-ties; it does not outvote a memory that is clearly about the question.
    chit = [mem(f"t{i}", score=0.5, age_days=0.1 * i, importance=3) for i in range(5)]
    answer = mem("answer", score=1.0, age_days=400, importance=3)
    assert ids(rank([*chit, answer], now=NOW, max_items=3))[0] == "answer"


# ---------------------------------------------------------------- dedupe
def test_near_duplicates_keep_the_higher_scored_zh() -> None:
    a = mem("a", score=0.9, content="用户下个月要去日本旅行。")
    b = mem("b", score=0.5, content="用户下个月要去日本旅行")
    c = mem("c", score=0.4, content="用户养了一只叫豆豆的猫")
    assert ids(rank([b, a, c], now=NOW)) == ["a", "c"]


def test_near_duplicates_en_case_and_punctuation() -> None:
    a = mem("a", score=0.3, content="The user loves hiking in the Alps!")
    b = mem("b", score=0.8, content="the user loves hiking in the alps")
    assert ids(rank([a, b], now=NOW)) == ["b"]


def test_dedupe_threshold_is_respected() -> None:
    a = mem("a", score=0.9, content="我喜欢吃火锅")
    b = mem("b", score=0.8, content="我很喜欢吃火锅")  # bigram Jaccard 4/7 ~ 0.57
    assert ids(rank([a, b], now=NOW)) == ["a", "b"]
    assert ids(rank([a, b], now=NOW, dedupe_threshold=0.5)) == ["a"]


def test_same_memory_id_from_two_sources_is_one_item() -> None:
    a = mem("x", score=0.2)
    b = mem("x", score=0.9).model_copy(update={"source": "bm25"})
    out = rank([a, b, mem("y", score=0.5)], now=NOW)
    assert ids(out).count("x") == 1
    assert out[0].memory_id == "x" and out[0].metadata["ranking"]["raw_score"] == 0.9


# ---------------------------------------------------------------- budgets
def test_item_budget() -> None:
    items = [mem(f"m{i}", score=1 + i) for i in range(10)]
    out = rank(items, now=NOW, max_items=3)
    assert ids(out) == ["m9", "m8", "m7"]
    assert rank(items, now=NOW, max_items=0) == []


def line_cost(m: RecalledMemory, language: str = "en") -> int:
    return estimate_tokens(render_line(m, language=language, now=NOW))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_token_budget_never_exceeded(language: str) -> None:
    items = [mem(f"m{i}", score=10 - i, content=f"记忆 {i} " + "很长的内容" * (i + 1)) for i in range(8)]
    for budget in (1, 20, 40, 77, 150, 1000):
        out = rank(items, now=NOW, max_items=8, max_tokens=budget, language=language)
        assert sum(line_cost(m, language) for m in out) <= budget
        assert len(out) <= 8


def test_token_budget_skips_big_item_and_fills_with_smaller() -> None:
    big = mem("big", score=1.0, content="word " * 400)
    small = mem("small", score=0.5, content="short fact")
    budget = line_cost(small) + 5
    assert line_cost(big) > budget
    assert ids(rank([big, small], now=NOW, max_tokens=budget)) == ["small"]
    assert ids(rank([big, small], now=NOW, max_tokens=line_cost(big) + line_cost(small))) == ["big", "small"]


# ---------------------------------------------------------------- determinism, purity, errors
def test_order_is_independent_of_input_order() -> None:
    items = [mem("a", score=0.5, age_days=3), mem("b", score=0.5, age_days=3), mem("c", score=0.7),
             mem("d", score=0.5, age_days=3, importance=7), mem("e", score=0.2, memory_type="profile")]
    results = {tuple(ids(rank(list(p), now=NOW))) for p in itertools.permutations(items)}
    assert len(results) == 1


def test_inputs_are_not_mutated() -> None:
    a = mem("a", score=3.0)
    rank([a], now=NOW)
    assert a.score == 3.0 and "ranking" not in a.metadata


def test_empty_and_invalid() -> None:
    assert rank([], now=NOW) == []
    with pytest.raises(ValueError):
        rank([mem("a")], now=NOW, weights=(0.5, 0.5))
    with pytest.raises(ValueError):
        rank([mem("a")], now=NOW, weights=(0.5, -0.1, 0.6))
    with pytest.raises(ValueError):
        rank([mem("a")], now=NOW, half_life_days=0)


def test_window_size_follows_the_token_budget_per_memory() -> None:
    from companion.config import Settings
    from companion.memory.recall.service import RecallConfig

    assert RecallConfig.from_settings(Settings(llm_chain=[])).window_tokens == 180  # 1000 tokens / 5 memories
    wide = RecallConfig.from_settings(Settings(llm_chain=[], recall_max_tokens=2000, recall_max_memories=4))
    assert wide.window_tokens == 450
    assert RecallConfig.from_settings(Settings(llm_chain=[]), window_tokens=99).window_tokens == 99


# ---------------------------------------------------------------- the final pick
def test_max_derived_caps_summaries_events_and_facts() -> None:
    items = [mem("sum", score=1.0, memory_type="summary"), mem("ev", score=0.98, memory_type="event"),
             mem("fact", score=0.97, memory_type="profile"), mem("t1", score=0.5), mem("t2", score=0.4)]
    assert ids(rank(items, now=NOW, max_items=3, max_derived=None)) == ["sum", "ev", "fact"]
    assert ids(rank(items, now=NOW, max_items=3, max_derived=1)) == ["sum", "t1", "t2"]
    assert ids(rank(items, now=NOW, max_items=3, max_derived=0)) == ["t1", "t2"]


def test_final_pick_settings_reach_the_config() -> None:
    from companion.config import Settings
    from companion.memory.recall.service import RecallConfig

    assert RecallConfig.from_settings(Settings(llm_chain=[])).max_derived is None  # no cap by default
    assert RecallConfig.from_settings(Settings(llm_chain=[], recall_max_derived=2)).max_derived == 2
    assert RecallConfig.from_settings(Settings(llm_chain=[], recall_max_derived=-1)).max_derived is None
