"""MemoryRecaller: the chat turn's long-term memory lookup (ARCHITECTURE "One chat turn" step 3).

    recaller = MemoryRecaller(index=..., store=..., embedder=..., config=RecallConfig.from_settings(s))
    result = await recaller.recall(user_id, character_id, message, history=[...], language="zh")
    result.memories / result.block / result.sources / result.degraded / result.latency_ms

Flow: rule-based decision (policy "intent" follows it, "always" searches every turn) →
all sources in parallel, each under its own timeout inside the total budget:
    knn        query embedding → OpenSearch k-NN            (embedding down → skipped)
    bm25       OpenSearch BM25 on the decision's keywords
    store      DynamoDB facts/events/summaries (one Query; also feeds the upcoming-events hint)
→ RRF fusion of the ranked lists → neighbouring turns for the best turn hits (context) →
ranking (relevance, recency, importance), dedupe, budget → the quoted prompt block.
A source that fails or is late is reported in ``degraded`` and the others still count;
recall itself never raises for a store failure (the chat turn must go on).

The service depends only on the protocols in ``sources.py`` (no boto3/redis/opensearch).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

from ...config import Settings
from ...models import ChatMessage, RecalledMemory, RecallResult
from ...observability import logger
from ...text import estimate_tokens
from .expansion import expand_english
from .fusion import fuse
from .intent import RecallDecision, decide, should_recall
from .prompt_block import MAX_WINDOW_CHARS, render_memories, sanitize, upcoming_events_hint
from .ranking import rank
from .similarity import overlap
from .sources import (
    MemoryStore,
    QueryEmbedder,
    SearchIndex,
    TurnContext,
    event_memory,
    fact_memory,
    searchable_text,
    summary_memory,
)

# Overlap (share of the query's bigrams) above which a DynamoDB item counts as relevant
# when the decision did not ask for its kind; below it the item would only add noise.
RELEVANT_OVERLAP = 0.3
# When the decision asks for a kind ("profile", "event", "history"), the store's items of
# that kind are candidates even with no word in common ("我是做什么的" vs "job: 程序员").
KIND_SOURCES = {"profile": {"profile"}, "event": {"events"}, "history": {"summaries"},
                "mixed": {"profile", "events", "summaries"}, "none": set()}
MAX_STORE_CANDIDATES = 10


@dataclass
class RecallConfig:
    policy: str = "intent"
    budget_ms: int = 2000
    max_memories: int = 5
    max_tokens: int = 1000
    # relevance, recency, importance: relevance leads, recency/importance decide near-ties
    # (LoCoMo dev R@10: 0.5/0.3/0.2 -> 0.690, 0.8/0.1/0.1 -> 0.726; see ranking.DEFAULT_WEIGHTS).
    weights: tuple[float, float, float] = (0.8, 0.1, 0.1)
    half_life_days: float = 30.0
    knn_k: int = 20
    bm25_k: int = 20
    # RRF constant. 60 (Cormack et al.) was set for merging 1000-document lists; over top-20/30
    # lists it flattens rank 1 vs rank 20 to 1.3x, and after the min-max spread recency then
    # outvotes relevance. LoCoMo dev R@10 by k: 60 0.726, 30 0.736, 20 0.741, 10 0.761, 5 0.750.
    fusion_k: int = 10
    fusion_weights: dict[str, float] = field(default_factory=lambda: {
        "knn": 1.0, "bm25": 1.0, "profile": 1.0, "events": 1.0, "summaries": 0.8})
    # Per-source timeouts as shares of the budget: the whole recall (neighbours, ranking)
    # must finish inside the chat turn's own wait on it.
    source_share: float = 0.7
    neighbour_share: float = 0.2
    # Turns before/after a retrieved turn: an answer often sits one or two turns from the hit
    # (LoCoMo dev: R@10 0.68 -> 0.78 going from 1 to 2; the token budget still caps the block).
    neighbour_window: int = 2
    neighbour_hits: int = 5  # how many of the best turn hits get their context
    # A window's size in prompt tokens: about its share of max_tokens / max_memories, so five
    # windows fit the 1000-token default. Turns that do not fit are left out of the window (and
    # not claimed by it). LoCoMo dev R@10 by limit: see benchmarks/locomo_recall.py.
    window_tokens: int = 180
    upcoming_days: int = 30
    # Add English inflections to the BM25 keywords (the index has no stemmer).
    expand_query: bool = True
    # Spread fused scores over 0..1 (min-max) before ranking: RRF scores of a top-20 list differ
    # by less than 2x, so divided by the max they would let recency outvote relevance.
    spread_relevance: bool = True
    # None: every memory type; e.g. ("turn",) searches raw turns only (benchmarks, debugging).
    memory_types: tuple[str, ...] | None = None
    tz: tzinfo = UTC

    @classmethod
    def from_settings(cls, s: Settings, **overrides: Any) -> RecallConfig:
        values: dict[str, Any] = dict(
            policy=s.recall_policy, budget_ms=s.recall_budget_ms, max_memories=s.recall_max_memories,
            max_tokens=s.recall_max_tokens, half_life_days=s.recall_half_life_days,
            weights=(s.recall_weight_relevance, s.recall_weight_recency, s.recall_weight_importance),
            # A window gets ~its share of the token budget (the rest: the line's date and label).
            window_tokens=max(60, min(600, round(0.9 * s.recall_max_tokens / max(1, s.recall_max_memories)))))
        values.update(overrides)
        return cls(**values)


class _SourceFailed(Exception):
    """A source failed for a reason that has its own degradation name (e.g. the embedder)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass
class _Gathered:
    results: dict[str, Any] = field(default_factory=dict)
    degraded: list[str] = field(default_factory=list)


class MemoryRecaller:
    def __init__(self, *, index: SearchIndex | None, store: MemoryStore | None,
                 embedder: QueryEmbedder | None, config: RecallConfig | None = None,
                 turn_context: TurnContext | None = None, clock: Callable[[], float] = time.time) -> None:
        self.index = index
        self.store = store
        self.embedder = embedder
        self.config = config or RecallConfig()
        # An index that can also fetch neighbouring turns serves as the context source.
        self.turn_context = turn_context or (index if isinstance(index, TurnContext) else None)
        self.clock = clock

    # -- the Recaller protocol ------------------------------------------------------------

    async def recall(self, user_id: str, character_id: str, message: str, *,
                     history: Sequence[ChatMessage] = (), language: str = "en",
                     policy: str | None = None, max_memories: int | None = None, budget_ms: int | None = None,
                     candidates_out: list[RecalledMemory] | None = None) -> RecallResult:
        """``policy``/``max_memories``/``budget_ms`` override the config (memory API, benchmarks);
        ``candidates_out`` receives the fused candidates before the budget (for debugging)."""
        started = time.perf_counter()
        cfg = self.config
        budget_s = (budget_ms or cfg.budget_ms) / 1000
        deadline = started + budget_s * (cfg.source_share + cfg.neighbour_share)
        decision = decide(message, recent_user_messages=[m.content for m in history if m.role == "user"])
        need = should_recall(decision, policy or cfg.policy)

        jobs: dict[str, Callable[[], Awaitable[Any]]] = {}
        store_on = self.store is not None and (cfg.memory_types is None or set(cfg.memory_types) - {"turn"})
        if store_on:
            jobs["store"] = lambda: self.store.load(user_id, character_id)  # type: ignore[union-attr]
        if need and self.index is not None:
            if self.embedder is not None:
                # A follow-up ("后来呢？") is embedded with the words it borrowed from the previous turn.
                borrowed = "context_query" in decision.reasons
                jobs["knn"] = lambda: self._knn(user_id, character_id,
                                                f"{decision.query} {message}" if borrowed else message)
            keywords = expand_english(decision.query) if cfg.expand_query else decision.query
            jobs["bm25"] = lambda: self.index.bm25_search(  # type: ignore[union-attr]
                user_id, character_id, keywords, cfg.bm25_k, cfg.memory_types)
        gathered = await self._gather(jobs, timeout_s=budget_s * cfg.source_share)
        degraded = list(gathered.degraded)
        if need and self.index is not None and self.embedder is None:
            degraded.append("recall_embedding")  # embeddings are off: keyword recall only

        now = self.clock()
        facts, events, summaries = self._store_memories(gathered.results.get("store"))
        lists: dict[str, list[RecalledMemory]] = {}
        if need:
            for name in ("knn", "bm25"):
                if name in gathered.results:
                    lists[name] = [_normalize_hit(m) for m in gathered.results[name]]
            store_lists = {"profile": facts, "events": events, "summaries": summaries}
            for name, items in store_lists.items():
                if "store" in gathered.results:
                    lists[name] = self._relevant(decision, name, items)

        fused = fuse(lists, k=cfg.fusion_k, weights=cfg.fusion_weights) if lists else []
        if fused and self.turn_context is not None:
            remaining = deadline - time.perf_counter()
            fused, ok = await self._with_neighbours(user_id, character_id, fused,
                                                    timeout_s=min(remaining, budget_s * cfg.neighbour_share))
            if not ok:
                degraded.append("recall_neighbours")
        if candidates_out is not None:
            candidates_out.extend(fused)
        if cfg.spread_relevance:
            fused = _spread(fused)
        chosen = rank(fused, now=now, weights=cfg.weights, half_life_days=cfg.half_life_days,
                      max_items=max_memories or cfg.max_memories, max_tokens=cfg.max_tokens,
                      language=language, tz=cfg.tz) if fused else []

        block = render_memories(chosen, language=language, now=now, tz=cfg.tz)
        hint = upcoming_events_hint(events + [f for f in facts if "event_date" in f.metadata],
                                    language=language, now=now, tz=cfg.tz, within_days=cfg.upcoming_days)
        block = "\n\n".join(part for part in (block, hint) if part)
        sources = [name for name in ("knn", "bm25") if name in gathered.results]
        if "store" in gathered.results:
            sources.append("dynamodb")
        return RecallResult(memories=chosen, block=block, sources=sources, degraded=sorted(set(degraded)),
                            latency_ms=(time.perf_counter() - started) * 1000)

    # -- sources ------------------------------------------------------------------------

    async def _knn(self, user_id: str, character_id: str, message: str) -> list[RecalledMemory]:
        assert self.embedder is not None and self.index is not None
        try:
            # The whole message, not the keyword query: the embedding model reads sentences.
            vector = await self.embedder.embed_query(message[:1000])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise _SourceFailed("embedding") from exc
        return await self.index.knn_search(user_id, character_id, vector, self.config.knn_k,
                                           self.config.memory_types)

    async def _gather(self, jobs: Mapping[str, Callable[[], Awaitable[Any]]], *, timeout_s: float) -> _Gathered:
        """Run every job at once; each is cut at ``timeout_s``; failures become degradation names."""
        out = _Gathered()
        if not jobs:
            return out

        async def one(name: str, job: Callable[[], Awaitable[Any]]) -> None:
            t0 = time.perf_counter()
            try:
                out.results[name] = await asyncio.wait_for(job(), timeout=max(timeout_s, 0.001))
            except TimeoutError:
                out.degraded.append(f"recall_{name}")
                logger.warning("recall source timed out", extra={"source": name, "timeout_s": timeout_s})
            except _SourceFailed as exc:
                out.degraded.append(f"recall_{exc.name}")
                logger.warning("recall source failed", extra={"source": exc.name, "error": repr(exc.__cause__)})
            except Exception as exc:  # any store error: degrade to the other sources
                out.degraded.append(f"recall_{name}")
                logger.warning("recall source failed", extra={"source": name, "error": repr(exc)})
            else:
                logger.debug("recall source answered",
                             extra={"source": name, "ms": round((time.perf_counter() - t0) * 1000, 1)})

        await asyncio.gather(*(one(n, j) for n, j in jobs.items()))
        return out

    @staticmethod
    def _store_memories(loaded: Any) -> tuple[list[RecalledMemory], list[RecalledMemory], list[RecalledMemory]]:
        if not loaded:
            return [], [], []
        by_slot, events, summaries = loaded
        # Newest first, so equal relevance keeps the most recent items (the sort is stable).
        return ([fact_memory(f) for f in sorted(by_slot.values(), key=lambda f: -f.updated_at)],
                [event_memory(e) for e in sorted(events, key=lambda e: -e.updated_at)],
                [summary_memory(s) for s in sorted(summaries, key=lambda s: -(s.end_ts or s.created_at))])

    @staticmethod
    def _relevant(decision: RecallDecision, source: str, items: list[RecalledMemory]) -> list[RecalledMemory]:
        """Items of the store worth fusing: word overlap with the query, or the kind asked for."""
        wanted = source in KIND_SOURCES.get(decision.kind, set())
        scored = []
        for mem in items:
            score = overlap(decision.query, searchable_text(mem))
            if score >= RELEVANT_OVERLAP or wanted:
                scored.append(mem.model_copy(update={"score": score}))
        scored.sort(key=lambda m: -m.score)  # stable: newest first among equals
        return scored[:MAX_STORE_CANDIDATES]

    async def _with_neighbours(self, user_id: str, character_id: str, fused: list[RecalledMemory], *,
                               timeout_s: float) -> tuple[list[RecalledMemory], bool]:
        """Give the best turn hits their neighbouring turns; a hit already inside another's window goes."""
        assert self.turn_context is not None
        cfg = self.config
        top_turns = [m for m in fused if m.memory_type == "turn"][: cfg.neighbour_hits]
        if not top_turns or cfg.neighbour_window <= 0:
            return fused, True
        try:
            windows = await asyncio.wait_for(asyncio.gather(*(
                self.turn_context.neighbours(user_id, character_id, m, cfg.neighbour_window)
                for m in top_turns)), timeout=max(timeout_s, 0.001))
        except Exception as exc:  # timeouts and store errors: keep the bare turns
            logger.warning("neighbouring turns unavailable", extra={"error": repr(exc)})
            return fused, False
        expanded: dict[str, RecalledMemory] = {}
        covered: set[str] = set()
        for hit, window in zip(top_turns, windows, strict=True):
            if hit.memory_id in covered:
                continue
            turns = _fit_window(hit, window or [hit], cfg.window_tokens, covered)
            ids = [t.memory_id for t in turns]
            covered.update(ids)
            expanded[hit.memory_id] = hit.model_copy(update={
                "content": _JOIN.join(_line(t) for t in turns) if len(turns) > 1 else hit.content,
                "timestamp": max(t.timestamp for t in turns),
                "metadata": {**hit.metadata, "turn_ids": ids,
                             "msg_ids": [str(t.metadata.get("msg_id", "")) for t in turns],
                             "dia_ids": [d for t in turns for d in _dia_ids(t)],
                             "neighbours": len(turns) - 1},
            })
        out = []
        for mem in fused:
            if mem.memory_id in expanded:
                out.append(expanded[mem.memory_id])
            elif mem.memory_id not in covered:
                out.append(mem)
        return out, True


def _spread(candidates: list[RecalledMemory]) -> list[RecalledMemory]:
    """Min-max the scores into 0.05..1 (the last candidate keeps a little relevance); equal scores stay equal."""
    if len(candidates) < 2:
        return candidates
    hi, lo = max(m.score for m in candidates), min(m.score for m in candidates)
    if hi - lo <= 1e-12:
        return candidates
    return [m.model_copy(update={"score": 0.05 + 0.95 * (m.score - lo) / (hi - lo),
                                 "metadata": {**m.metadata, "fused_score": m.score}}) for m in candidates]


_JOIN = " / "


def _line(turn: RecalledMemory) -> str:
    # Each turn keeps the single-memory length limit inside a window.
    return _speaker(turn) + sanitize(turn.content)


def _fit_window(hit: RecalledMemory, window: list[RecalledMemory], max_tokens: int,
                taken: set[str] | frozenset[str] = frozenset()) -> list[RecalledMemory]:
    """The hit plus its nearest neighbours (closest first, alternating sides) while the joined
    text fits ``max_tokens`` (and the prompt line's character cap), so every turn the memory
    claims is shown. A side stops at the first turn that does not fit or that an earlier
    window already shows (``taken``): windows stay contiguous and never repeat a turn."""
    pos = next((i for i, t in enumerate(window) if t.memory_id == hit.memory_id), None)
    if pos is None:
        return [hit]
    lo = hi = pos
    open_sides = {-1: True, 1: True}
    tokens, chars = estimate_tokens(_line(hit)), len(_line(hit))
    while any(open_sides.values()):
        for side in (-1, 1):
            i = (lo if side < 0 else hi) + side
            if not open_sides[side]:
                continue
            if not 0 <= i < len(window) or window[i].memory_id in taken:
                open_sides[side] = False
                continue
            line = _JOIN + _line(window[i])
            if tokens + estimate_tokens(line) > max_tokens or chars + len(line) > MAX_WINDOW_CHARS:
                open_sides[side] = False
                continue
            tokens += estimate_tokens(line)
            chars += len(line)
            lo, hi = min(lo, i), max(hi, i)
    return window[lo:hi + 1]


def _speaker(turn: RecalledMemory) -> str:
    # Who said it matters in a window of turns ("user: …" / "assistant: …").
    role = turn.metadata.get("role")
    return f"{role}: " if role in ("user", "assistant") else ""


def _normalize_hit(memory: RecalledMemory) -> RecalledMemory:
    """Index documents keep an event's date as ``date``/``type``; ranking and rendering read
    ``event_date``/``event_type`` (as on DynamoDB candidates), so an index-only hit still decays right."""
    meta = memory.metadata
    if memory.memory_type == "event" and meta.get("date") and "event_date" not in meta:
        return memory.model_copy(update={"metadata": {**meta, "event_date": meta["date"],
                                                      "event_type": meta.get("type", ""),
                                                      "title": meta.get("title") or memory.content}})
    if memory.memory_type == "profile" and "fact_type" not in meta and meta.get("type"):
        return memory.model_copy(update={"metadata": {**meta, "fact_type": meta["type"]}})
    return memory


def _dia_ids(memory: RecalledMemory) -> list[str]:
    """Benchmark turn ids a memory carries (LoCoMo ``dia_id`` kept in the doc metadata)."""
    meta = memory.metadata
    if meta.get("dia_ids"):
        return [str(d) for d in meta["dia_ids"]]
    return [str(meta["dia_id"])] if meta.get("dia_id") else []
