"""Final ranking of recalled memories: score, dedupe, budget.

Public API:
    rank(candidates, *, now, weights, half_life_days, max_items, max_tokens, dedupe_threshold=0.8,
         language="en", tz=UTC, max_derived=None) -> list[RecalledMemory]
    recency(memory, *, now, half_life_days, tz=UTC) -> float   (0..1)
The product's values come from ``Settings`` (``RecallConfig``): relevance leads, and recency and
importance (weights 0.1 each by default) break near-ties instead of outvoting it.

Score = w_rel·relevance + w_rec·recency + w_imp·importance/10, where
  * relevance = candidate.score / max(candidate scores) (0..1; negatives count as 0; all
    zero -> 0 for everyone). Feed it fused scores (fusion.fuse) so sources are comparable.
  * recency = 0.5 ** (age_days / half_life_days), age from ``timestamp`` (future -> 1).
    Stable facts must not fade out just because they were learned long ago:
      - profile facts: age from metadata["updated_at"] when present (else timestamp),
        and never below STABLE_RECENCY_FLOOR (a fact holds until superseded, and the
        extraction merge supersedes it explicitly);
      - events with metadata["event_date"]: decay by the distance in days between today
        and the event date (the nearest occurrence, past or future, for yearly dates such
        as birthdays, which also get the floor), or by the age of the mention when that
        is more recent. An exam next week therefore counts as "recent".
  * importance is clamped to 0..10.
Then: duplicates by memory_id are merged (fusion.merge_candidates); candidates are
sorted by score, ties -> newer timestamp, higher importance, then memory_id (fully
deterministic); near-duplicates (character-bigram Jaccard >= dedupe_threshold, zh and
en) are dropped in favour of the higher-ranked one; finally items are taken greedily,
best first, while both budgets hold: at most ``max_items`` and the sum of
text.estimate_tokens(prompt_block.render_line(...)) <= ``max_tokens``. An item that
does not fit is skipped and smaller later items may still fit (the prompt header is
not part of this budget). ``max_derived``: at most this many summaries, events and profile
facts among them (None: no cap); they restate what turns say and would otherwise take the
slots of the turns themselves.
Returned items are copies with ``score`` = the final score and metadata["ranking"] =
{"relevance", "recency", "importance", "raw_score"}.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, tzinfo
from typing import SupportsFloat

from ...models import RecalledMemory
from ...text import estimate_tokens
from ..similarity import jaccard
from .dates import is_recurring, local_date, nearest_occurrence_distance, parse_event_date
from .fusion import merge_candidates
from .prompt_block import render_line

DAY_S = 86400.0
STABLE_RECENCY_FLOOR = 0.5


def _decay(age_days: float, half_life_days: float) -> float:
    return 0.5 ** (max(age_days, 0.0) / half_life_days)


def _as_float(value: object, default: float) -> float:
    if not isinstance(value, SupportsFloat | str):  # numbers, Decimal (DynamoDB), numeric strings
        return default
    try:
        return float(value)
    except ValueError:
        return default


def recency(memory: RecalledMemory, *, now: float, half_life_days: float, tz: tzinfo = UTC) -> float:
    if half_life_days <= 0:
        raise ValueError("half_life_days must be > 0")
    mention = _decay((now - memory.timestamp) / DAY_S, half_life_days)

    if memory.memory_type == "profile":
        updated = _as_float(memory.metadata.get("updated_at"), memory.timestamp)
        return max(_decay((now - updated) / DAY_S, half_life_days), STABLE_RECENCY_FLOOR)

    ev = parse_event_date(memory.metadata.get("event_date"))
    if ev is not None:
        recurring = is_recurring(memory, ev)
        distance = nearest_occurrence_distance(ev, local_date(now, tz), recurring)
        score = max(_decay(distance, half_life_days), mention)
        return max(score, STABLE_RECENCY_FLOOR) if recurring else score
    return mention


def rank(candidates: list[RecalledMemory], *, now: float, weights: Sequence[float], half_life_days: float,
         max_items: int, max_tokens: int, dedupe_threshold: float = 0.8,
         language: str = "en", tz: tzinfo = UTC, max_derived: int | None = None) -> list[RecalledMemory]:
    if len(weights) != 3 or any(w < 0 for w in weights):
        raise ValueError("weights must be three non-negative numbers (relevance, recency, importance)")
    if max_items <= 0 or max_tokens <= 0 or not candidates:
        return []
    w_rel, w_rec, w_imp = weights

    unique = merge_candidates(candidates)
    top = max(max(m.score, 0.0) for m in unique)
    scored: list[tuple[float, RecalledMemory]] = []
    for mem in unique:
        rel = max(mem.score, 0.0) / top if top > 0 else 0.0
        rec = recency(mem, now=now, half_life_days=half_life_days, tz=tz)
        imp = min(max(mem.importance, 0.0), 10.0) / 10.0
        final = w_rel * rel + w_rec * rec + w_imp * imp
        scored.append((final, mem.model_copy(update={
            "score": final,
            "metadata": {**mem.metadata, "ranking": {"relevance": rel, "recency": rec,
                                                     "importance": imp, "raw_score": mem.score}},
        })))
    # Rounding keeps float noise (1e-17) from deciding order; ties go to newer, then more
    # important, then the id, so the same input always gives the same prompt.
    scored.sort(key=lambda p: (-round(p[0], 9), -p[1].timestamp, -p[1].importance, p[1].memory_id))

    kept: list[RecalledMemory] = []
    for _, mem in scored:
        if any(jaccard(mem.content, k.content) >= dedupe_threshold for k in kept):
            continue
        kept.append(mem)

    chosen: list[RecalledMemory] = []
    used = 0
    derived = 0
    for mem in kept:
        is_derived = mem.memory_type != "turn"
        if is_derived and max_derived is not None and derived >= max_derived:
            continue
        cost = estimate_tokens(render_line(mem, language=language, now=now, tz=tz))
        if used + cost > max_tokens:
            continue
        chosen.append(mem)
        used += cost
        derived += is_derived
        if len(chosen) == max_items:
            break
    return chosen
