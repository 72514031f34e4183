"""Reciprocal rank fusion and candidate merging."""

from __future__ import annotations

import math

import pytest
from companion.memory.recall.fusion import fuse, merge_candidates, rrf, score_by_overlap
from companion.models import RecalledMemory


def mem(memory_id: str, score: float = 0.0, **kw: object) -> RecalledMemory:
    fields: dict[object, object] = {"memory_type": "turn", "content": f"content {memory_id}", "timestamp": 1000.0}
    fields.update(kw)
    return RecalledMemory(memory_id=memory_id, score=score, **fields)  # type: ignore[arg-type]


def test_rrf_hand_computed() -> None:
    out = dict(rrf([["a", "b", "c"], ["b", "d"]], k=60))
    assert out["a"] == pytest.approx(1 / 61)
    assert out["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert out["c"] == pytest.approx(1 / 63)
    assert out["d"] == pytest.approx(1 / 62)
    assert [i for i, _ in rrf([["a", "b", "c"], ["b", "d"]])] == ["b", "a", "d", "c"]


def test_rrf_small_k_and_weights() -> None:
    out = rrf([["x", "y"], ["y", "x"]], k=0, weights=[2.0, 1.0])
    # x: 2/1 + 1/2 = 2.5 ; y: 2/2 + 1/1 = 2.0
    assert out == [("x", pytest.approx(2.5)), ("y", pytest.approx(2.0))]


def test_rrf_zero_weight_list_does_not_count() -> None:
    out = dict(rrf([["a"], ["b"]], weights=[1.0, 0.0]))
    assert out["b"] == 0.0 and out["a"] == pytest.approx(1 / 61)


def test_rrf_duplicate_inside_a_list_counts_once() -> None:
    assert dict(rrf([["a", "a", "b"]], k=60)) == {"a": pytest.approx(1 / 61), "b": pytest.approx(1 / 63)}


def test_rrf_ties_are_deterministic() -> None:
    # a and b both rank 1 once: equal scores, equal best rank -> by id.
    assert [i for i, _ in rrf([["b"], ["a"]])] == ["a", "b"]
    # equal totals but c has the better best rank
    out = rrf([["c", "x", "d"], ["y", "d", "c"]], k=0)
    assert math.isclose(dict(out)["c"], 1 + 1 / 3)
    assert [i for i, _ in out][:1] == ["c"]


def test_rrf_empty_and_invalid() -> None:
    assert rrf([]) == []
    assert rrf([[], []]) == []
    with pytest.raises(ValueError):
        rrf([["a"]], weights=[1.0, 2.0])
    with pytest.raises(ValueError):
        rrf([["a"]], k=-1)


def test_merge_candidates_joins_sources_and_keeps_best() -> None:
    knn = [mem("m1", 0.9, source="knn", content="knn text", metadata={"a": 1}), mem("m2", 0.5, source="knn")]
    bm25 = [mem("m1", 12.0, source="bm25", content="bm25 text", timestamp=2000.0, importance=8,
                metadata={"b": 2}), mem("m3", 3.0, source="bm25")]
    merged = merge_candidates(knn, bm25)
    assert [m.memory_id for m in merged] == ["m1", "m2", "m3"]
    m1 = merged[0]
    assert m1.source == "bm25+knn"
    assert m1.score == 12.0 and m1.content == "bm25 text"
    assert m1.timestamp == 2000.0 and m1.importance == 8
    assert m1.metadata == {"a": 1, "b": 2}
    # inputs untouched
    assert knn[0].source == "knn" and knn[0].score == 0.9


def test_fuse_scores_by_rank_and_records_provenance() -> None:
    knn = [mem("a", 0.91), mem("b", 0.80)]
    bm25 = [mem("b", 14.2), mem("c", 9.1)]
    out = fuse({"knn": knn, "bm25": bm25}, k=60)
    assert [m.memory_id for m in out] == ["b", "a", "c"]
    b = out[0]
    assert b.score == pytest.approx(1 / 62 + 1 / 61)
    assert b.source == "bm25+knn"
    assert b.metadata["source_ranks"] == {"knn": 2, "bm25": 1}
    assert b.metadata["source_scores"] == {"knn": 0.80, "bm25": 14.2}
    assert out[2].score == pytest.approx(1 / 62) and out[2].source == "bm25"


def test_fuse_weights_by_source_name() -> None:
    out = fuse({"knn": [mem("a")], "profile": [mem("p")]}, k=60, weights={"profile": 2.0})
    assert [m.memory_id for m in out] == ["p", "a"]
    assert out[0].score == pytest.approx(2 / 61)


def test_score_by_overlap_orders_unscored_sources() -> None:
    facts = [mem("f1", content="工作: 程序员", memory_type="profile"),
             mem("f2", content="喜欢吃: 火锅", memory_type="profile"),
             mem("f3", content="城市: 上海", memory_type="profile")]
    out = score_by_overlap("最喜欢吃 喜欢", facts, source="profile")
    assert out[0].memory_id == "f2" and out[0].score > 0.5
    assert {m.score for m in out[1:]} == {0.0}
    assert [m.memory_id for m in out[1:]] == ["f1", "f3"]  # stable for ties
    assert all(m.source == "profile" for m in out)
