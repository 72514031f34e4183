"""Memory recall: decide, search, fuse, rank, render.

``service.MemoryRecaller`` is the chat turn's recall (``ports.Recaller``), configured by
``service.RecallConfig.from_settings``; it runs this flow over ``ports.MemoryIndex`` and
``ports.MemoryRepository``:
    decision = intent.decide(message, recent_user_messages=...)
    if intent.should_recall(decision, config.policy):
        knn, bm25, facts, events = <parallel retrieval within config.budget_ms>
        dates = <when.question_dates(message): the index's date_search, the memories about those dates>
        # each a list[RecalledMemory], best first; records become candidates with
        # candidates.from_fact / from_event / from_summary so ids and metadata keys match
        candidates = fusion.fuse({"knn": knn, "bm25": bm25,
                                  "profile": fusion.score_by_overlap(decision.query, facts),
                                  "events": fusion.score_by_overlap(decision.query, events)}, k=config.fusion_k)
        memories = ranking.rank(candidates, now=now, language=decision.language, weights=config.weights, ...)
        # then the chosen turns' windows widen into the token budget left (service._grow_windows)
        block = prompt_block.render_memories(memories, language=decision.language, now=now)
        hint = prompt_block.upcoming_events_hint(events, language=..., now=now, within_days=config.upcoming_days)
Each module's docstring documents its API.
"""

from .fusion import fuse, merge_candidates, rrf, score_by_overlap
from .intent import RecallDecision, decide, should_recall
from .prompt_block import render_line, render_memories, upcoming_events, upcoming_events_hint
from .ranking import rank, recency

__all__ = [
    "RecallDecision",
    "decide",
    "fuse",
    "merge_candidates",
    "rank",
    "recency",
    "render_line",
    "render_memories",
    "rrf",
    "score_by_overlap",
    "should_recall",
    "upcoming_events",
    "upcoming_events_hint",
]
