"""Combining candidate memories from several retrieval sources.

Scores from different engines are not comparable (BM25 is unbounded, k-NN inner
products live in -1..1, DynamoDB items have no score at all), so lists are fused by
rank with reciprocal rank fusion (Cormack et al. 2009): score(d) = Σ_i w_i / (k + r_i(d)),
r_i 1-based, summed over the lists that contain d.

Public API:
    rrf(ranked_lists, k=60, weights=None) -> list[tuple[str, float]]
        Ids best first. An id repeated inside one list counts once (its best rank).
        Ties: better best-rank first, then id (deterministic).
    fuse(sources, *, k, weights=None) -> list[RecalledMemory]   (the product's k: Settings.recall_fusion_k)
        ``sources`` maps a source name ("knn", "bm25", "profile", "events") to its
        candidates, best first. One candidate per memory_id, ``score`` = weighted RRF
        score, ``source`` = the names joined with "+" (sorted), metadata["source_ranks"]
        = {name: 1-based rank} and metadata["source_scores"] = {name: raw score}.
        Typical use: fuse({"knn": knn_hits, "bm25": bm25_hits,
                           "profile": score_by_overlap(query, facts)}, k=10) -> ranking.rank().
    merge_candidates(*lists) -> list[RecalledMemory]
        Score-preserving merge: same memory_id -> one candidate, sources joined, the best
        score (and its content) kept, newest timestamp, highest importance. First-seen
        order.
    score_by_overlap(query, memories, *, source=None) -> list[RecalledMemory]
        For sources without a relevance score (DynamoDB profile facts/events): score =
        share of the query's character bigrams found in metadata["search_text"] (when
        set, see candidates.py) or the content (0..1), sorted best first (ties keep input
        order), ready to be one of ``fuse``'s ranked lists.
Inputs are never mutated; outputs are copies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from ...models import RecalledMemory
from ..similarity import overlap

DEFAULT_K = 60  # Cormack et al.'s constant, set for long lists; recall fuses short ones (Settings)


def rrf(ranked_lists: list[list[str]], k: int = DEFAULT_K,
        weights: list[float] | None = None) -> list[tuple[str, float]]:
    if k < 0:
        raise ValueError("k must be >= 0")
    if weights is None:
        weights = [1.0] * len(ranked_lists)
    if len(weights) != len(ranked_lists):
        raise ValueError("weights must have one entry per ranked list")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0")

    parts: dict[str, list[float]] = {}
    best_rank: dict[str, int] = {}
    for ranked, weight in zip(ranked_lists, weights, strict=True):
        seen: set[str] = set()
        for rank, doc_id in enumerate(ranked, start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            parts.setdefault(doc_id, []).append(weight / (k + rank))
            best_rank[doc_id] = min(best_rank.get(doc_id, rank), rank)
    # fsum: the same contributions give the same total whatever the list order.
    scores = {doc_id: math.fsum(vals) for doc_id, vals in parts.items()}
    return sorted(scores.items(), key=lambda item: (-item[1], best_rank[item[0]], item[0]))


def _join_sources(*sources: str) -> str:
    names = {name for src in sources for name in src.split("+") if name}
    return "+".join(sorted(names))


def _combine(a: RecalledMemory, b: RecalledMemory) -> RecalledMemory:
    best, other = (a, b) if a.score >= b.score else (b, a)
    metadata = {**other.metadata, **best.metadata}
    return best.model_copy(update={
        "source": _join_sources(a.source, b.source),
        "timestamp": max(a.timestamp, b.timestamp),
        "importance": max(a.importance, b.importance),
        "metadata": metadata,
    })


def merge_candidates(*lists: Iterable[RecalledMemory]) -> list[RecalledMemory]:
    merged: dict[str, RecalledMemory] = {}
    for candidates in lists:
        for cand in candidates:
            prev = merged.get(cand.memory_id)
            merged[cand.memory_id] = (
                cand.model_copy(deep=True) if prev is None else _combine(prev, cand)
            )
    return list(merged.values())


def fuse(sources: Mapping[str, Sequence[RecalledMemory]], *, k: int,
         weights: Mapping[str, float] | None = None) -> list[RecalledMemory]:
    names = list(sources)
    weights = weights or {}
    fused = rrf([[m.memory_id for m in sources[n]] for n in names], k=k,
                weights=[float(weights.get(n, 1.0)) for n in names])

    ranks: dict[str, dict[str, int]] = {}
    raw: dict[str, dict[str, float]] = {}
    for name in names:
        for rank, mem in enumerate(sources[name], start=1):
            ranks.setdefault(mem.memory_id, {}).setdefault(name, rank)
            raw.setdefault(mem.memory_id, {}).setdefault(name, mem.score)

    base = {m.memory_id: m for m in merge_candidates(*(sources[n] for n in names))}
    out: list[RecalledMemory] = []
    for memory_id, score in fused:
        mem = base[memory_id]
        out.append(mem.model_copy(update={
            "score": score,
            "source": _join_sources(*ranks[memory_id]),
            "metadata": {**mem.metadata, "source_ranks": ranks[memory_id],
                         "source_scores": raw[memory_id]},
        }))
    return out


def score_by_overlap(query: str, memories: Iterable[RecalledMemory], *,
                     source: str | None = None) -> list[RecalledMemory]:
    scored = [
        m.model_copy(update={"score": overlap(query, str(m.metadata.get("search_text") or m.content)),
                             **({"source": source} if source is not None else {})})
        for m in memories
    ]
    # sorted() is stable, so equal scores keep the store's order (e.g. newest first).
    return sorted(scored, key=lambda m: -m.score)
