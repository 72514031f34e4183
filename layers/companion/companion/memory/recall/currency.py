"""Which recalled text is out of date: a fact's current value outranks older text that contradicts it.

When a profile fact was corrected (memory API) or superseded (worker), summaries and raw turns
from before still state the old value ("最喜欢吃火锅" after 火锅 → 麻辣火锅). Raw turns are never
rewritten, so recall marks them instead:

    mark_currency(candidates, stored, memory_types=None) -> list[RecalledMemory]

``stored`` is what ``MemoryRepository.load`` returned (facts by slot, events, summaries). A
candidate that is not a profile fact, was written before a fact's old value was superseded, and
states that old value but not the current one (``memory.corrections.contradicts``) is "older":
its score is multiplied by ``STALE_WEIGHT`` and ``metadata["currency"]`` says
``{"state": "older", "keys": [...], "facts": [fact ids]}``. The fact it contradicts is then
"current" (``{"state": "current"}``): it joins the candidates (unless ``memory_types`` leaves
profile facts out) with at least the best score of the text it contradicts, so ranking puts it
above that text and the prompt block dates both and says which one is current.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...models import RecalledMemory
from ..corrections import contradicts, superseded
from ..extraction.schema import USER
from ..records import FactRecord
from .candidates import from_fact

# Older text keeps most of its weight: it still carries what else was said then.
STALE_WEIGHT = 0.7


def _slot_name(fact: FactRecord) -> str:
    """What the prompt calls the slot: "favorite food", "豆豆 age"."""
    name = fact.base_key.replace("_", " ")
    return name if fact.subject == USER else f"{fact.subject} {name}"


def _contradicted_by(memory: RecalledMemory, facts: Sequence[FactRecord]) -> list[FactRecord]:
    return [f for f in facts
            if any(memory.timestamp < v.until_ts and contradicts(memory.content, v.value, f.value, f.base_key)
                   for v in superseded(f))]


def mark_currency(candidates: list[RecalledMemory], stored: Any,
                  memory_types: Sequence[str] | None = None) -> list[RecalledMemory]:
    if not candidates or not stored:
        return candidates
    changed = [f for f in stored[0].values() if superseded(f)]
    if not changed:
        return candidates
    out = list(candidates)
    best: dict[str, tuple[FactRecord, float]] = {}
    for i, mem in enumerate(out):
        if mem.memory_type == "profile" or not (facts := _contradicted_by(mem, changed)):
            continue
        for f in facts:
            prev = best.get(f.fact_id)
            best[f.fact_id] = (f, max(mem.score, prev[1] if prev else mem.score))
        out[i] = mem.model_copy(update={"score": mem.score * STALE_WEIGHT, "metadata": {
            **mem.metadata, "currency": {"state": "older", "keys": [_slot_name(f) for f in facts],
                                         "facts": [f.fact_id for f in facts]}}})
    if not best:
        return out
    at = {m.memory_id: i for i, m in enumerate(out)}
    for fid, (fact, score) in best.items():
        if fid in at:
            cur = out[at[fid]]
            out[at[fid]] = cur.model_copy(update={"score": max(cur.score, score),
                                                  "metadata": {**cur.metadata, "currency": {"state": "current"}}})
        elif memory_types is None or "profile" in memory_types:
            mem = from_fact(fact, score=score)
            out.append(mem.model_copy(update={"metadata": {**mem.metadata, "currency": {"state": "current"}}}))
    return out
