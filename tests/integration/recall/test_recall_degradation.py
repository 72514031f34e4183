"""Each source failing or stalling alone still yields the others within the budget; ranking ties."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest
from companion.bootstrap import Container, builders
from companion.config import Settings
from companion.errors import StoreUnavailable
from companion.memory.recall.service import MemoryRecaller, RecallConfig
from companion.models import RecalledMemory, RecallResult

from .support import Seeder, fact

CH = "luna"
QUESTION = "Do you remember what my favorite food is?"


class Broken:
    """Wraps a real adapter; the named methods fail (or stall) instead of answering."""

    def __init__(self, inner: Any, methods: Sequence[str], *, stall_s: float = 0.0) -> None:
        self._inner, self._methods, self._stall = inner, set(methods), stall_s

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self._methods:
            return attr

        async def broken(*args: Any, **kwargs: Any) -> Any:
            if self._stall:
                await asyncio.sleep(self._stall)
                return await attr(*args, **kwargs)
            raise StoreUnavailable(f"{name}: down")
        return broken


async def seed(seeder: Seeder, user_id: str) -> None:
    await seeder.put(user_id, CH, facts=[fact(user_id, CH, "favorite_food", "sushi", type_="preference")],
                     turns=[("user", "My favorite food is sushi, especially salmon nigiri."),
                            ("assistant", "Salmon nigiri is a classic!")])


def make(container: Container, *, index: Any = None, store: Any = None, embedder: Any = "same",
         budget_ms: int = 8000) -> MemoryRecaller:
    base = builders.recaller(container.settings, index=container.memory_index, repo=container.memory_repo,
                             embedder=container.embedder)
    return MemoryRecaller(index=index or base.index, store=store or base.store,
                          embedder=container.embedder if embedder == "same" else embedder,
                          config=RecallConfig.from_settings(container.settings, budget_ms=budget_ms),
                          turn_context=base.turn_context)


async def timed(r: MemoryRecaller, user_id: str) -> tuple[RecallResult, float]:
    t0 = time.perf_counter()
    res = await r.recall(user_id, CH, QUESTION, language="en")
    return res, time.perf_counter() - t0


async def test_all_sources_answer(container: Container, seeder: Seeder, user_id: str) -> None:
    await seed(seeder, user_id)
    res, _ = await timed(make(container), user_id)
    assert res.sources == ["knn", "bm25", "dynamodb"] and res.degraded == []
    assert any("sushi" in m.content for m in res.memories)


@pytest.mark.parametrize("method", ["knn_search", "bm25_search"])
async def test_one_search_down(container: Container, seeder: Seeder, user_id: str, method: str) -> None:
    await seed(seeder, user_id)
    res, _ = await timed(make(container, index=Broken(container.memory_index, [method])), user_id)
    name = "knn" if method == "knn_search" else "bm25"
    assert name not in res.sources and f"recall_{name}" in res.degraded
    assert any("sushi" in m.content for m in res.memories)


async def test_opensearch_down_keeps_dynamodb(container: Container, seeder: Seeder, user_id: str) -> None:
    await seed(seeder, user_id)
    index = Broken(container.memory_index, ["knn_search", "bm25_search", "get_turns"])
    res, _ = await timed(make(container, index=index), user_id)
    assert res.sources == ["dynamodb"]
    assert {"recall_knn", "recall_bm25"} <= set(res.degraded)
    assert res.memories and "sushi" in res.memories[0].content and res.memories[0].memory_type == "profile"


async def test_dynamodb_down_keeps_the_index(container: Container, seeder: Seeder, user_id: str) -> None:
    await seed(seeder, user_id)
    res, _ = await timed(make(container, store=Broken(container.memory_repo, ["load"])), user_id)
    assert res.sources == ["knn", "bm25"] and "recall_store" in res.degraded
    assert any("sushi" in m.content for m in res.memories)


async def test_embedding_down_falls_back_to_keywords(container: Container, seeder: Seeder, user_id: str) -> None:
    await seed(seeder, user_id)
    res, _ = await timed(make(container, embedder=Broken(container.embedder, ["embed_query"])), user_id)
    assert "knn" not in res.sources and "recall_embedding" in res.degraded and "bm25" in res.sources
    assert any("sushi" in m.content for m in res.memories)
    off, _ = await timed(make(container, embedder=None), user_id)
    assert "recall_embedding" in off.degraded and any("sushi" in m.content for m in off.memories)


@pytest.mark.parametrize("part", ["index", "store"])
async def test_a_slow_source_is_cut_at_the_budget(container: Container, seeder: Seeder, user_id: str,
                                                  part: str) -> None:
    await seed(seeder, user_id)
    slow_index = Broken(container.memory_index, ["knn_search", "bm25_search"], stall_s=5) if part == "index" else None
    slow_store = Broken(container.memory_repo, ["load"], stall_s=5) if part == "store" else None
    res, took = await timed(make(container, index=slow_index, store=slow_store, budget_ms=800), user_id)
    assert took < 0.8, took  # inside the chat turn's own wait
    assert any("sushi" in m.content for m in res.memories)
    if part == "index":
        assert res.sources == ["dynamodb"] and {"recall_knn", "recall_bm25"} <= set(res.degraded)
    else:  # k-NN may miss 560 ms on a busy machine (CPU-bound embedding); BM25 does not
        assert "bm25" in res.sources and "dynamodb" not in res.sources and "recall_store" in res.degraded


ALWAYS = RecallConfig.from_settings(Settings(llm_chain=[]), policy="always")


class TieIndex:
    """k-NN and BM25 each return one different memory at rank 1: equal fused relevance."""

    def __init__(self, a: RecalledMemory, b: RecalledMemory) -> None:
        self.a, self.b = a, b

    async def knn_search(self, *args: Any, **kw: Any) -> list[RecalledMemory]:
        return [self.a]

    async def bm25_search(self, *args: Any, **kw: Any) -> list[RecalledMemory]:
        return [self.b]


class Vec:
    async def embed_query(self, text: str, *, scope: str | None = None) -> list[float]:
        return [1.0]


def turn(mid: str, content: str, *, age_days: float, importance: float = 3.0) -> RecalledMemory:
    return RecalledMemory(memory_id=mid, memory_type="turn", content=content,
                          timestamp=time.time() - age_days * 86400, importance=importance)


async def test_ranking_prefers_recent_when_relevance_ties() -> None:
    old, new = turn("old", "we went to the beach", age_days=90), turn("new", "we went hiking", age_days=2)
    for a, b in ((old, new), (new, old)):
        r = MemoryRecaller(index=TieIndex(a, b), store=None, embedder=Vec(), config=ALWAYS)
        res = await r.recall("u", CH, "what did we do?", language="en")
        assert [m.memory_id for m in res.memories] == ["new", "old"]


async def test_ranking_prefers_important_when_relevance_and_age_tie() -> None:
    low = turn("low", "the user bought a new mug", age_days=5, importance=2)
    high = turn("high", "the user's father was hospitalized", age_days=5, importance=9)
    r = MemoryRecaller(index=TieIndex(low, high), store=None, embedder=Vec(), config=ALWAYS)
    res = await r.recall("u", CH, "what happened?", language="en")
    assert [m.memory_id for m in res.memories] == ["high", "low"]


async def test_budget_caps_items_and_tokens() -> None:
    many = [turn(f"m{i}", f"memory number {i} " + "word " * 150, age_days=i) for i in range(12)]

    class Many:
        async def knn_search(self, *a: Any, **k: Any) -> list[RecalledMemory]:
            return many

        async def bm25_search(self, *a: Any, **k: Any) -> list[RecalledMemory]:
            return many[::-1]

    res = await MemoryRecaller(index=Many(), store=None, embedder=Vec(),
                               config=RecallConfig.from_settings(Settings(llm_chain=[]), policy="always",
                                                                max_tokens=1000)).recall(
        "u", CH, "anything", language="en")
    assert 1 <= len(res.memories) <= 5
    from companion.text import estimate_tokens
    assert sum(estimate_tokens(ln) for ln in res.block.splitlines()[3:-1]) <= 1000
