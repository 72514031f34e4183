"""Windows widen into the token budget the chosen memories leave: within the budget, best first,
never into a turn another chosen memory shows, the memories and their order unchanged."""

from __future__ import annotations

from datetime import UTC

from companion.memory.recall.prompt_block import render_line
from companion.memory.recall.service import _fit_window, _grow_windows, _windowed
from companion.models import RecalledMemory
from companion.text import estimate_tokens

NOW = 100_000.0


def _turn(i: int, text: str) -> RecalledMemory:
    return RecalledMemory(memory_id=f"t{i}", memory_type="turn", content=text, timestamp=float(i),
                          metadata={"role": "user" if i % 2 else "assistant", "seq": i, "msg_id": f"m{i}"})


def _cost(ms: list[RecalledMemory]) -> int:
    return sum(estimate_tokens(render_line(m, language="en", now=NOW, tz=UTC)) for m in ms)


def _setup() -> tuple[list[RecalledMemory], dict[str, tuple[RecalledMemory, list[RecalledMemory]]]]:
    turns = [_turn(i, f"we talked about thing number {i} for a while") for i in range(20)]
    chosen, windows = [], {}
    for hit_at in (4, 14):
        hit, around = turns[hit_at], turns[hit_at - 4:hit_at + 5]
        shown = _fit_window(hit, turns[hit_at - 1:hit_at + 2], 40)
        chosen.append(_windowed(hit, shown).model_copy(update={"score": 1.0 - hit_at / 100}))
        windows[hit.memory_id] = (hit, around)
    return chosen, windows


def test_windows_take_the_budget_left_and_no_more() -> None:
    chosen, windows = _setup()
    before = _cost(chosen)
    grown = _grow_windows(chosen, windows, max_tokens=before + 60, language="en", now=NOW, tz=UTC)
    assert [m.memory_id for m in grown] == [m.memory_id for m in chosen]
    assert [m.score for m in grown] == [m.score for m in chosen]
    assert _cost(grown) <= before + 60
    assert sum(len(m.metadata["turn_ids"]) for m in grown) > sum(len(m.metadata["turn_ids"]) for m in chosen)
    for m in grown:  # the ids a memory claims are the turns it shows
        assert m.metadata["msg_ids"] == [f"m{t[1:]}" for t in m.metadata["turn_ids"]]
        assert all(f"thing number {t[1:]} " in m.content for t in m.metadata["turn_ids"])


def test_no_budget_left_changes_nothing_and_windows_never_overlap() -> None:
    chosen, windows = _setup()
    assert _grow_windows(chosen, windows, max_tokens=_cost(chosen), language="en", now=NOW, tz=UTC) == chosen
    # Two hits close together: the second may not take the turns the first shows.
    turns = [_turn(i, f"turn {i} about the trip") for i in range(10)]
    a = _windowed(turns[3], [turns[3]])
    b = _windowed(turns[5], [turns[5]])
    grown = _grow_windows([a, b], {"t3": (turns[3], turns[0:8]), "t5": (turns[5], turns[1:10])},
                          max_tokens=10_000, language="en", now=NOW, tz=UTC)
    ids = [t for m in grown for t in m.metadata["turn_ids"]]
    assert len(ids) == len(set(ids)) and "t3" in grown[0].metadata["turn_ids"]
