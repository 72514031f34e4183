"""The chat turn with recall wired in by default: done event counts and the offline model's reply."""

from __future__ import annotations

from companion.bootstrap import Container

from tests.fixtures.turns import stream_turn
from tests.integration.chat.conftest import reply_text

from .support import Seeder, fact


async def test_done_event_reports_recall_and_offline_reply_shows_facts_zh(
        container: Container, seeder: Seeder, user_id: str) -> None:
    await seeder.put(user_id, "xiaoyu", facts=[fact(user_id, "xiaoyu", "job", "程序员"),
                                               fact(user_id, "xiaoyu", "city", "杭州")])
    events = await stream_turn(container, user_id, "xiaoyu", "你还记得我是做什么工作的吗？")
    done = events[-1][1]
    assert done["done"] is True and done["memories"] >= 1
    assert "dynamodb" in done["memory_sources"] and done["recall_ms"] > 0
    assert "我记得这些关于你的事" in reply_text(events) and "程序员" in reply_text(events)


async def test_done_event_en_and_small_talk_skips_recall(container: Container, seeder: Seeder,
                                                         user_id: str) -> None:
    await seeder.put(user_id, "luna", facts=[fact(user_id, "luna", "favorite_food", "sushi", type_="preference")])
    events = await stream_turn(container, user_id, "luna", "Do you remember my favorite food?")
    assert events[-1][1]["memories"] >= 1 and "sushi" in reply_text(events)
    events = await stream_turn(container, user_id, "luna", "thanks!")
    assert events[-1][1]["memories"] == 0 and "sushi" not in reply_text(events)


async def test_recall_failure_never_fails_the_turn(container_factory, user_id: str) -> None:  # type: ignore[no-untyped-def]
    # Nothing listens on this port: the index is down, the turn still streams and says so.
    c = container_factory(opensearch_url="http://127.0.0.1:9")
    events = await stream_turn(c, user_id, "luna", "Do you remember my favorite food?")
    done = events[-1][1]
    assert done["done"] is True and "recall_knn" in done["degraded"] and "recall_bm25" in done["degraded"]


async def test_a_bare_follow_up_recalls_with_the_previous_question(container: Container, seeder: Seeder,
                                                                   user_id: str) -> None:
    """"and then?" alone asks for nothing; after "do you remember my trip…" it continues that search."""
    await seeder.put(user_id, "luna", turns=[("user", "I spent a week in Lisbon with my sister Ana."),
                                             ("assistant", "Lisbon in spring sounds wonderful!"),
                                             ("user", "We ate pastel de nata every single morning.")])
    cold = await stream_turn(container, user_id + "-new", "luna", "and then?")
    assert cold[-1][1]["memories"] == 0  # no earlier question to follow up on
    first = await stream_turn(container, user_id, "luna", "Do you remember my trip to Lisbon?")
    assert first[-1][1]["memories"] >= 1
    follow = await stream_turn(container, user_id, "luna", "and then?")
    assert follow[-1][1]["memories"] >= 1, follow[-1][1]
    assert "Lisbon" in reply_text(follow) or "nata" in reply_text(follow)
