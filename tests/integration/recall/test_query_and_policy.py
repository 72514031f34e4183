"""BM25 keyword expansion and the RECALL_POLICY setting wired through build_container."""

from __future__ import annotations

from collections.abc import Callable

from companion.bootstrap import Container
from companion.memory.recall.expansion import expand_english
from companion.memory.recall.service import MemoryRecaller

from .support import Seeder, fact


def test_expansion_adds_inflections_and_leaves_chinese_alone() -> None:
    words = expand_english("melanie paint sunrise").split()
    assert words[:3] == ["melanie", "paint", "sunrise"]
    assert {"painted", "painting", "paints"} <= set(words)
    assert {"studied", "study"} <= set(expand_english("studies").split())
    assert expand_english("用户 喜欢 火锅") == "用户 喜欢 火锅"
    many = "walk talk jump paint cook bake swim read write climb hike draw sing play work"
    assert len(expand_english(many).split()) == 40  # capped: the original words always stay


async def test_recall_policy_setting(container_factory: Callable[..., Container], user_id: str) -> None:
    always = container_factory(recall_policy="always")
    assert isinstance(always.recaller, MemoryRecaller) and always.recaller.config.policy == "always"
    await Seeder(always).put(user_id, "luna", facts=[fact(user_id, "luna", "favorite_food", "sushi")])
    # "sushi tonight?" has no recall cue: the intent policy skips the search, "always" searches.
    assert (await always.recaller.recall(user_id, "luna", "sushi tonight?", language="en")).memories
    intent = container_factory()
    assert isinstance(intent.recaller, MemoryRecaller)
    assert not (await intent.recaller.recall(user_id, "luna", "sushi tonight?", language="en")).memories
