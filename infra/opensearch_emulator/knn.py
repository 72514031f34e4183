"""Exact k-NN scoring with the k-NN plugin's score conversions per ``space_type``.

innerproduct: 1 + ip if ip >= 0 else 1 / (1 - ip);  cosinesimil: (2 - (1 - cos)) / 2;
l2: 1 / (1 + sum((x - y)^2));  l1: 1 / (1 + sum|x - y|);  linf: 1 / (1 + max|x - y|).
"""

from __future__ import annotations

import numpy as np


def distances_to_scores(space: str, vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Scores (float32) of each row of ``vectors`` against ``query``."""
    if space == "innerproduct":
        ip = vectors @ query
        with np.errstate(divide="ignore"):
            scores = np.where(ip >= 0, 1.0 + ip, 1.0 / (1.0 - ip))
    elif space == "cosinesimil":
        norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(query)
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = np.where(norms > 0, (vectors @ query) / norms, 0.0)
        scores = (2.0 - (1.0 - cos)) / 2.0
    elif space == "l2":
        diff = vectors - query
        scores = 1.0 / (1.0 + np.einsum("ij,ij->i", diff, diff))
    elif space == "l1":
        scores = 1.0 / (1.0 + np.abs(vectors - query).sum(axis=1))
    elif space == "linf":
        scores = 1.0 / (1.0 + np.abs(vectors - query).max(axis=1))
    else:
        raise ValueError(space)
    return scores.astype(np.float32)


def distance_to_score(space: str, distance: float) -> float:
    """The score a radial ``max_distance`` corresponds to (distance as the space defines it)."""
    if space == "innerproduct":
        ip = -distance
        return 1.0 + ip if ip >= 0 else 1.0 / (1.0 - ip)
    if space == "cosinesimil":
        return (2.0 - distance) / 2.0
    return 1.0 / (1.0 + distance)


def top_k(ords: np.ndarray, scores: np.ndarray, tiebreak: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best scores, best first; equal scores in ``tiebreak`` order."""
    n = len(ords)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n > 4 * k and n > 256:
        # Keep everything tied with the k-th score so the tiebreak stays exact.
        kth = -np.partition(-scores, k - 1)[k - 1]
        cand = np.flatnonzero(scores >= kth)
    else:
        cand = np.arange(n)
    order = np.lexsort((tiebreak[cand], -scores[cand].astype(np.float64)))
    return cand[order[:k]]
