"""A retrieved turn's window of neighbouring turns: token-sized, contiguous, never repeating a turn."""

from __future__ import annotations

from companion.memory.recall.service import _fit_window
from companion.models import RecalledMemory


def _turn(i: int, text: str) -> RecalledMemory:
    return RecalledMemory(memory_id=f"t{i}", memory_type="turn", content=text, timestamp=float(i),
                          metadata={"role": "user" if i % 2 else "assistant", "seq": i})


def test_window_grows_both_ways_and_stops_a_side_at_the_first_turn_that_does_not_fit() -> None:
    window = [_turn(0, "short"), _turn(1, "x " * 300), _turn(2, "the hit"), _turn(3, "ok"), _turn(4, "fine")]
    got = [t.memory_id for t in _fit_window(window[2], window, max_tokens=60)]
    # t1 is too long, so t0 (short) must not join either: the line would skip a turn.
    assert got == ["t2", "t3", "t4"]


def test_turns_an_earlier_window_shows_are_not_repeated() -> None:
    window = [_turn(i, f"turn {i}") for i in range(5)]
    got = [t.memory_id for t in _fit_window(window[2], window, max_tokens=500, taken={"t1"})]
    assert got == ["t2", "t3", "t4"]
    assert [t.memory_id for t in _fit_window(window[2], window, max_tokens=500)] == ["t0", "t1", "t2", "t3", "t4"]


def test_a_hit_missing_from_its_window_stands_alone() -> None:
    hit = _turn(9, "lonely")
    assert _fit_window(hit, [_turn(0, "a"), _turn(1, "b")], max_tokens=500) == [hit]
