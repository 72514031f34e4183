"""Sparse result sets: sorted unique document ordinals with one float score each, and set algebra on them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EMPTY_ORDS = np.zeros(0, dtype=np.int64)


@dataclass(slots=True)
class Hits:
    ords: np.ndarray  # int64, sorted ascending, unique
    scores: np.ndarray  # float32 (float64 while summing), aligned with ords

    @staticmethod
    def empty() -> Hits:
        return Hits(EMPTY_ORDS, np.zeros(0, dtype=np.float32))

    @staticmethod
    def constant(ords: np.ndarray, score: float) -> Hits:
        return Hits(ords, np.full(len(ords), score, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.ords)


def match_positions(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ia, ib with a[ia] == b[ib] for two sorted unique arrays; cost O(small * log(large))."""
    if len(a) == 0 or len(b) == 0:
        return EMPTY_ORDS, EMPTY_ORDS
    if len(a) > len(b):
        ib, ia = match_positions(b, a)
        return ia, ib
    pos = np.searchsorted(b, a)
    pos_clipped = np.minimum(pos, len(b) - 1)
    found = b[pos_clipped] == a
    return np.flatnonzero(found), pos_clipped[found]


def restrict(hits: Hits, within: np.ndarray | None) -> Hits:
    if within is None:
        return hits
    ia, _ = match_positions(hits.ords, within)
    return Hits(hits.ords[ia], hits.scores[ia])


def intersect_sum(a: Hits, b: Hits) -> Hits:
    ia, ib = match_positions(a.ords, b.ords)
    return Hits(a.ords[ia], a.scores[ia].astype(np.float64) + b.scores[ib])


def intersect_keep(a: Hits, b: np.ndarray) -> Hits:
    """The hits of ``a`` whose ordinal is in ``b`` (a filter: ``b`` adds no score)."""
    ia, _ = match_positions(a.ords, b)
    return Hits(a.ords[ia], a.scores[ia])


def difference(a: Hits, b: np.ndarray) -> Hits:
    if len(b) == 0 or len(a) == 0:
        return a
    ia, _ = match_positions(a.ords, b)
    keep = np.ones(len(a.ords), dtype=bool)
    keep[ia] = False
    return Hits(a.ords[keep], a.scores[keep])


def union_sum(parts: list[Hits]) -> tuple[Hits, np.ndarray]:
    """Union of ``parts`` with scores summed, plus how many parts matched each ordinal."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Hits.empty(), np.zeros(0, dtype=np.int64)
    if len(parts) == 1:
        return Hits(parts[0].ords, parts[0].scores.astype(np.float64)), np.ones(len(parts[0]), dtype=np.int64)
    ords = np.concatenate([p.ords for p in parts])
    scores = np.concatenate([p.scores.astype(np.float64) for p in parts])
    uniq, inverse = np.unique(ords, return_inverse=True)
    return Hits(uniq, np.bincount(inverse, weights=scores, minlength=len(uniq))), np.bincount(
        inverse, minlength=len(uniq)
    )


def union_max(parts: list[Hits], tie_breaker: float) -> Hits:
    """dis_max: best score plus ``tie_breaker`` times the others."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Hits.empty()
    ords = np.concatenate([p.ords for p in parts])
    scores = np.concatenate([p.scores.astype(np.float64) for p in parts])
    uniq, inverse = np.unique(ords, return_inverse=True)
    best = np.full(len(uniq), -np.inf)
    np.maximum.at(best, inverse, scores)
    total = np.bincount(inverse, weights=scores, minlength=len(uniq))
    return Hits(uniq, best + tie_breaker * (total - best))
