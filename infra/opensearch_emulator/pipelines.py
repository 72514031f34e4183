"""Search pipelines with the neural-search ``normalization-processor`` (hybrid query score fusion).

Normalization per sub-query over its result list: ``min_max`` -> (s - min) / (max - min), a single
result (max == min == s) gets 1.0 and a normalized 0 becomes 0.001; ``l2`` -> s / sqrt(sum(s^2)).
Combination: weighted ``arithmetic_mean`` / ``geometric_mean`` / ``harmonic_mean``; a document a
sub-query did not return has score 0 for that sub-query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import illegal_argument, parsing

MIN_SCORE = 0.001
SINGLE_RESULT_SCORE = 1.0
NORMALIZATIONS = {"min_max", "l2"}
COMBINATIONS = {"arithmetic_mean", "geometric_mean", "harmonic_mean"}


@dataclass
class NormalizationProcessor:
    normalization: str
    combination: str
    weights: list[float] | None

    def normalize(self, scores: np.ndarray) -> np.ndarray:
        if not len(scores):
            return scores
        s = scores.astype(np.float32)
        if self.normalization == "l2":
            denom = np.float32(math.sqrt(float(np.sum(s.astype(np.float64) ** 2))))
            return s / denom if denom > 0 else np.zeros_like(s)
        lo, hi = np.float32(s.min()), np.float32(s.max())
        if hi == lo:
            return np.full_like(s, SINGLE_RESULT_SCORE)
        out = (s - lo) / (hi - lo)
        out[out == 0.0] = MIN_SCORE
        return out.astype(np.float32)

    def combine(self, matrix: np.ndarray) -> np.ndarray:
        """``matrix`` is docs x sub-queries of normalized scores (0 where a sub-query missed the doc)."""
        n_sub = matrix.shape[1]
        weights = np.array(self.weights if self.weights else [1.0] * n_sub, dtype=np.float64)
        if len(weights) != n_sub:
            raise illegal_argument(
                f"number of weights [{len(weights)}] must match number of sub-queries [{n_sub}] in hybrid query"
            )
        m = matrix.astype(np.float64)
        if self.combination == "arithmetic_mean":
            return ((m * weights).sum(axis=1) / weights.sum()).astype(np.float32)
        present = m > 0
        w = np.where(present, weights, 0.0)
        wsum = w.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.combination == "geometric_mean":
                logs = np.where(present, np.log(np.where(present, m, 1.0)), 0.0)
                out = np.where(wsum > 0, np.exp((w * logs).sum(axis=1) / wsum), 0.0)
            else:
                inv = np.where(present, w / np.where(present, m, 1.0), 0.0).sum(axis=1)
                out = np.where(inv > 0, wsum / inv, 0.0)
        return out.astype(np.float32)


@dataclass
class SearchPipeline:
    pipeline_id: str
    body: dict[str, Any]
    processor: NormalizationProcessor | None


def parse_pipeline(pipeline_id: str, body: Any) -> SearchPipeline:
    if not isinstance(body, dict):
        raise parsing("request body is required")
    processor = None
    for key in ("request_processors", "response_processors"):
        if body.get(key):
            raise illegal_argument(f"[{key}] are not supported by the local OpenSearch emulator")
    for entry in body.get("phase_results_processors") or []:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise parsing("phase_results_processors entries must be objects with one processor")
        name, cfg = next(iter(entry.items()))
        if name != "normalization-processor":
            raise illegal_argument(f"Invalid processor type {name}")
        cfg = cfg or {}
        norm = (cfg.get("normalization") or {}).get("technique", "min_max")
        comb_cfg = cfg.get("combination") or {}
        comb = comb_cfg.get("technique", "arithmetic_mean")
        if norm not in NORMALIZATIONS:
            raise illegal_argument(f"provided normalization technique [{norm}] is not supported")
        if comb not in COMBINATIONS:
            raise illegal_argument(f"provided combination technique [{comb}] is not supported")
        weights = (comb_cfg.get("parameters") or {}).get("weights")
        if weights is not None:
            if not isinstance(weights, list) or not all(isinstance(w, int | float) and 0 <= w <= 1 for w in weights):
                raise illegal_argument("all weights must be numbers in the range [0.0, 1.0]")
            if abs(sum(weights) - 1.0) > 1e-4:
                raise illegal_argument("sum of weights for combination must be equal to 1.0")
            weights = [float(w) for w in weights]
        processor = NormalizationProcessor(norm, comb, weights)
    return SearchPipeline(pipeline_id, body, processor)
