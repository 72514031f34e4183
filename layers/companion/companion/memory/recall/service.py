"""MemoryRecaller: the chat turn's long-term memory lookup (ARCHITECTURE "One chat turn" step 3).

    recaller = MemoryRecaller(index=..., store=..., embedder=..., config=RecallConfig.from_settings(s))
    result = await recaller.recall(user_id, character_id, message, history=[...], language="zh")
    result.memories / result.block / result.sources / result.degraded / result.latency_ms

Flow: rule-based decision (policy "intent" follows it, "always" searches every turn) →
all sources in parallel, each under its own timeout inside the total budget:
    knn        query embedding → OpenSearch k-NN            (embedding down → skipped)
    bm25       OpenSearch BM25 on the decision's keywords
    dates      when the message names or implies a date ("on 4 December", "上周末"): the memories
               about it or written on it, ordered by the keywords (``when``)
    store      DynamoDB facts/events/summaries (one Query; also feeds the upcoming-events hint)
→ RRF fusion of the ranked lists → neighbouring turns for the best turn hits (context) →
ranking (relevance, recency, importance), dedupe, budget → the chosen turns' windows widen into
the tokens the budget has left (further turns of the same conversation) → the quoted prompt block.
A source that fails or is late is reported in ``degraded`` and the others still count;
recall itself never raises for a store failure (the chat turn must go on).

The service depends only on ``companion.ports`` (no boto3/redis/opensearch).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from ...config import Settings
from ...models import ChatMessage, RecalledMemory, RecallResult
from ...observability import logger
from ...ports import Embedder, MemoryIndex, MemoryRepository
from ...text import estimate_tokens
from .candidates import from_event, from_fact, from_summary, preferred_name
from .currency import mark_currency
from .expansion import expand_english
from .fusion import fuse, score_by_overlap
from .intent import RecallDecision, decide, should_recall
from .neighbours import TurnContext
from .prompt_block import MAX_WINDOW_CHARS, render_line, render_memories, sanitize, upcoming_events_hint
from .ranking import rank
from .when import question_dates

# Overlap (share of the query's bigrams) above which a DynamoDB item counts as relevant
# when the decision did not ask for its kind; below it the item would only add noise.
RELEVANT_OVERLAP = 0.3
# When the decision asks for a kind ("profile", "event", "history"), the store's items of
# that kind are candidates even with no word in common ("我是做什么的" vs "job: 程序员").
KIND_SOURCES = {"profile": {"profile"}, "event": {"events"}, "history": {"summaries"},
                "mixed": {"profile", "events", "summaries"}, "none": set()}
MAX_STORE_CANDIDATES = 10


@dataclass(frozen=True)
class RecallConfig:
    """How recall searches, fuses and ranks. Every value comes from ``Settings`` (whose comments
    say why each default is what it is): make one with ``from_settings``."""

    policy: str
    budget_ms: int
    max_memories: int
    max_tokens: int
    weights: tuple[float, float, float]  # relevance, recency, importance
    half_life_days: float
    knn_k: int
    bm25_k: int
    fusion_k: int  # the RRF constant
    fusion_weights: Mapping[str, float]
    source_share: float  # of the budget, for the searches
    neighbour_share: float  # of the budget, for the neighbouring turns
    neighbour_window: int  # turns before/after a retrieved turn
    neighbour_hits: int  # how many of the best turn hits get their neighbours
    # A window's size in prompt tokens: turns that do not fit are left out of it (and not claimed).
    window_tokens: int
    upcoming_days: int
    expand_query: bool
    spread_relevance: bool
    memory_types: tuple[str, ...] | None  # None: every memory type
    max_derived: int | None  # summaries/events/facts in the final list (None: no cap)
    tz: tzinfo
    # Levers without a setting of their own (on in the product; benchmarks turn them off to measure them):
    date_search: bool = True  # a question naming a date also searches the memories about it
    grow_windows: bool = True  # windows widen into the token budget the chosen memories leave
    # How far they may widen, in multiples of ``neighbour_window`` turns each side (the turns are
    # fetched with the neighbours, used only when budget is left; benchmarks/locomo_recall.py: reach).
    grow_reach: int = 2

    @classmethod
    def from_settings(cls, s: Settings, **overrides: Any) -> RecallConfig:
        """The configuration ``s`` describes; ``overrides`` replace single values (tests, benchmarks)."""
        values: dict[str, Any] = dict(
            policy=s.recall_policy, budget_ms=s.recall_budget_ms, max_memories=s.recall_max_memories,
            max_tokens=s.recall_max_tokens, half_life_days=s.recall_half_life_days,
            weights=(s.recall_weight_relevance, s.recall_weight_recency, s.recall_weight_importance),
            knn_k=s.recall_knn_k, bm25_k=s.recall_bm25_k, fusion_k=s.recall_fusion_k,
            fusion_weights=dict(s.recall_fusion_weights), source_share=s.recall_source_share,
            neighbour_share=s.recall_neighbour_share, neighbour_window=s.recall_neighbour_window,
            neighbour_hits=s.recall_neighbour_hits,
            # A window gets ~its share of the token budget (the rest: the line's date and label).
            window_tokens=max(60, min(600, round(0.9 * s.recall_max_tokens / max(1, s.recall_max_memories)))),
            upcoming_days=s.recall_upcoming_days, expand_query=s.recall_expand_query,
            spread_relevance=s.recall_spread_relevance, memory_types=tuple(s.recall_memory_types) or None,
            max_derived=s.recall_max_derived if s.recall_max_derived >= 0 else None,
            tz=UTC if s.recall_timezone.upper() == "UTC" else ZoneInfo(s.recall_timezone))
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
    def __init__(self, *, index: MemoryIndex | None, store: MemoryRepository | None,
                 embedder: Embedder | None, config: RecallConfig,
                 turn_context: TurnContext | None = None, clock: Callable[[], float] = time.time) -> None:
        self.index = index
        self.store = store
        self.embedder = embedder
        self.config = config
        self.turn_context = turn_context
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
        store, index = self.store, self.index  # bound locals: the lambdas below see them narrowed
        if store is not None and (cfg.memory_types is None or set(cfg.memory_types) - {"turn"}):
            jobs["store"] = lambda: store.load(user_id, character_id)
        if need and index is not None:
            if self.embedder is not None:
                # A follow-up ("后来呢？") is embedded with the words it borrowed from the previous turn.
                borrowed = "context_query" in decision.reasons
                jobs["knn"] = lambda: self._knn(user_id, character_id,
                                                f"{decision.query} {message}" if borrowed else message)
            keywords = expand_english(decision.query) if cfg.expand_query else decision.query
            jobs["bm25"] = lambda: index.bm25_search(user_id, character_id, keywords, cfg.bm25_k, cfg.memory_types)
            dated = question_dates(message, now=self.clock(), tz=cfg.tz) if cfg.date_search else None
            if dated is not None:
                jobs["dates"] = lambda: index.date_search(user_id, character_id, dated.tokens, dated.ranges,
                                                          keywords, cfg.bm25_k, cfg.memory_types)
        gathered = await self._gather(jobs, timeout_s=budget_s * cfg.source_share)
        degraded = list(gathered.degraded)
        if need and self.index is not None and self.embedder is None:
            degraded.append("recall_embedding")  # embeddings are off: keyword recall only

        now = self.clock()
        facts, events, summaries = self._store_memories(gathered.results.get("store"))
        lists: dict[str, list[RecalledMemory]] = {}
        if need:
            for name in ("knn", "bm25", "dates"):
                if name in gathered.results:
                    lists[name] = gathered.results[name]
            store_lists = {"profile": facts, "events": events, "summaries": summaries}
            for name, items in store_lists.items():
                if "store" in gathered.results:
                    lists[name] = self._relevant(decision, name, items)

        fused = fuse(lists, k=cfg.fusion_k, weights=cfg.fusion_weights) if lists else []
        windows: dict[str, tuple[RecalledMemory, list[RecalledMemory]]] = {}
        if fused and self.turn_context is not None:
            remaining = deadline - time.perf_counter()
            fused, ok = await self._with_neighbours(user_id, character_id, fused, windows,
                                                    timeout_s=min(remaining, budget_s * cfg.neighbour_share))
            if not ok:
                degraded.append("recall_neighbours")
        if candidates_out is not None:
            candidates_out.extend(fused)
        if cfg.spread_relevance:
            fused = _spread(fused)
        fused = mark_currency(fused, gathered.results.get("store"), cfg.memory_types)  # corrected facts win
        chosen = rank(fused, now=now, weights=cfg.weights, half_life_days=cfg.half_life_days,
                      max_items=max_memories or cfg.max_memories, max_tokens=cfg.max_tokens,
                      language=language, tz=cfg.tz,
                      max_derived=cfg.max_derived) if fused else []
        if cfg.grow_windows:
            chosen = _grow_windows(chosen, windows, max_tokens=cfg.max_tokens, language=language, now=now, tz=cfg.tz)

        block = render_memories(chosen, language=language, now=now, tz=cfg.tz)
        hint = upcoming_events_hint(events + [f for f in facts if "event_date" in f.metadata],
                                    language=language, now=now, tz=cfg.tz, within_days=cfg.upcoming_days)
        block = "\n\n".join(part for part in (block, hint) if part)
        sources = [name for name in ("knn", "bm25", "dates") if name in gathered.results]
        if "store" in gathered.results:
            sources.append("dynamodb")
        return RecallResult(memories=chosen, block=block, sources=sources, degraded=sorted(set(degraded)),
                            latency_ms=(time.perf_counter() - started) * 1000, user_name=preferred_name(facts))

    # -- sources ------------------------------------------------------------------------

    async def _knn(self, user_id: str, character_id: str, message: str) -> list[RecalledMemory]:
        assert self.embedder is not None and self.index is not None
        try:
            # The whole message, not the keyword query: the embedding model reads sentences.
            vector = await self.embedder.embed_query(message[:1000], scope=user_id)
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
        return ([from_fact(f) for f in sorted(by_slot.values(), key=lambda f: -f.updated_at)],
                [from_event(e) for e in sorted(events, key=lambda e: -e.updated_at)],
                [from_summary(s) for s in sorted(summaries, key=lambda s: -(s.end_ts or s.created_at))])

    @staticmethod
    def _relevant(decision: RecallDecision, source: str, items: list[RecalledMemory]) -> list[RecalledMemory]:
        """Items of the store worth fusing: word overlap with the query, or the kind asked for."""
        wanted = source in KIND_SOURCES.get(decision.kind, set())
        scored = score_by_overlap(decision.query, items)  # stable: newest first among equals
        return [m for m in scored if wanted or m.score >= RELEVANT_OVERLAP][:MAX_STORE_CANDIDATES]

    async def _with_neighbours(self, user_id: str, character_id: str, fused: list[RecalledMemory],
                               reach_out: dict[str, tuple[RecalledMemory, list[RecalledMemory]]], *,
                               timeout_s: float) -> tuple[list[RecalledMemory], bool]:
        """Give the best turn hits their neighbouring turns; a hit already inside another's window goes.
        ``reach_out`` receives each hit with the turns around it as far as a window may grow later
        (``_grow_windows``: ``grow_reach`` times the window)."""
        assert self.turn_context is not None
        cfg = self.config
        top_turns = [m for m in fused if m.memory_type == "turn"][: cfg.neighbour_hits]
        if not top_turns or cfg.neighbour_window <= 0:
            return fused, True
        reach = cfg.neighbour_window * (max(1, cfg.grow_reach) if cfg.grow_windows else 1)
        try:
            fetched = await asyncio.wait_for(asyncio.gather(*(
                self.turn_context.neighbours(user_id, character_id, m, reach)
                for m in top_turns)), timeout=max(timeout_s, 0.001))
        except Exception as exc:  # timeouts and store errors: keep the bare turns
            logger.warning("neighbouring turns unavailable", extra={"error": repr(exc)})
            return fused, False
        expanded: dict[str, RecalledMemory] = {}
        covered: set[str] = set()
        for hit, around in zip(top_turns, fetched, strict=True):
            if hit.memory_id in covered:
                continue
            seq = int(hit.metadata.get("seq") or 0)
            # The configured window first; the wider reach is only for budget left over at the end.
            window = [t for t in around or [hit] if abs(int(t.metadata.get("seq") or 0) - seq) <= cfg.neighbour_window]
            turns = _fit_window(hit, window or [hit], cfg.window_tokens, covered)
            covered.update(t.memory_id for t in turns)
            expanded[hit.memory_id] = _windowed(hit, turns)
            reach_out[hit.memory_id] = (hit, around or [hit])
        out = []
        for mem in fused:
            if mem.memory_id in expanded:
                out.append(expanded[mem.memory_id])
            elif mem.memory_id not in covered:
                out.append(mem)
        return out, True


def _windowed(hit: RecalledMemory, turns: list[RecalledMemory]) -> RecalledMemory:
    """``hit`` shown with ``turns`` (itself among them, in order): one memory carrying all their ids."""
    ids = [t.memory_id for t in turns]
    return hit.model_copy(update={
        "content": _JOIN.join(_line(t) for t in turns) if len(turns) > 1 else hit.content,
        "timestamp": max(t.timestamp for t in turns),
        "metadata": {**hit.metadata, "turn_ids": ids,
                     "msg_ids": [str(t.metadata.get("msg_id", "")) for t in turns],
                     "neighbours": len(turns) - 1},
    })


def _shown_ids(memory: RecalledMemory) -> list[str]:
    return [str(x) for x in memory.metadata.get("turn_ids") or [memory.memory_id]]


def _grow_windows(chosen: list[RecalledMemory], windows: Mapping[str, tuple[RecalledMemory, list[RecalledMemory]]],
                  *, max_tokens: int, language: str, now: float, tz: tzinfo) -> list[RecalledMemory]:
    """Spend the token budget the chosen memories leave unused on their windows: each window, best
    first, may take an equal share of what is left (a share it cannot use passes on), never a turn
    another chosen memory shows. The memories and their order stay; only windows widen."""
    def cost(m: RecalledMemory) -> int:
        return estimate_tokens(render_line(m, language=language, now=now, tz=tz))

    room = max_tokens - sum(cost(m) for m in chosen)
    growable = [i for i, m in enumerate(chosen) if m.memory_id in windows]
    if room <= 0 or not growable:
        return chosen
    out = list(chosen)
    for n, i in enumerate(growable):
        share = room // (len(growable) - n)
        if share <= 0:
            continue
        current = out[i]
        hit, around = windows[current.memory_id]
        taken = {t for j, m in enumerate(out) if j != i for t in _shown_ids(m)}
        shown = estimate_tokens(str(current.content)) if len(_shown_ids(current)) > 1 else estimate_tokens(_line(hit))
        turns = _fit_window(hit, around, shown + share, taken)
        if len(turns) <= len(_shown_ids(current)):
            continue
        grown = _windowed(hit, turns).model_copy(update={"score": current.score, "metadata": {
            **_windowed(hit, turns).metadata, **{k: v for k, v in current.metadata.items()
                                                 if k not in ("turn_ids", "msg_ids", "neighbours")}}})
        extra = cost(grown) - cost(current)
        if extra <= room:
            out[i] = grown
            room -= extra
    return out


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
