"""Corrections that stick: after a fact is corrected (PATCH), deleted, or superseded by the worker,
what the companion is told follows it, in Chinese and English, through the real stores (DynamoDB in
moto, the OpenSearch emulator, redis-server) and the real recall, memory API and chat stream.

The seeded memories are what the rule extractor made of the issue's session ("我最喜欢吃火锅",
"我家的猫叫豆豆，今年三岁了"): a favourite food, the cat's age stored as the user's, and a summary
stating both.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from companion.bootstrap import Container
from companion.memory.extraction.schema import ExtractedFact
from companion.memory.merge import merge_fact

from tests.fixtures.turns import stream_turn
from tests.integration.recall.support import DAY, Seeder, fact, summary

from .conftest import Api

CH = "xiaoyu"
EN = "luna"


async def recall(api: Api, character_id: str, query: str) -> dict[str, Any]:
    r = await api.call("POST", "/api/v1/memory/recall", json={"character_id": character_id, "query": query})
    assert r.status_code == 200, r.text
    return r.json()


def lines(block: str) -> list[str]:
    """The memory lines of the block (the upcoming-dates part is not recall's ranking)."""
    memories = block.split("</memories>")[0]
    return [ln for ln in memories.splitlines() if ln.startswith("- ")]


def index_of(block_lines: list[str], text: str) -> int:
    return next(i for i, ln in enumerate(block_lines) if text in ln)


async def summaries(api: Api, character_id: str) -> list[str]:
    r = await api.call("GET", "/api/v1/memory/summaries", params={"character_id": character_id})
    return [i["summary"] for i in r.json()["items"]]


async def say(container: Container, user_id: str, character_id: str, message: str) -> dict[str, Any]:
    done = (await stream_turn(container, user_id, character_id, message))[-1][1]
    assert done["done"] is True, done
    return done


async def seed_zh(seeder: Seeder, u: str) -> tuple[str, str, list[str]]:
    food = fact(u, CH, "favorite_food", "火锅", type_="preference", age_days=3)
    age = fact(u, CH, "age", "3", age_days=3)
    turns = await seeder.put(u, CH, facts=[food, age],
                             summaries=[summary(u, CH, "用户叫小林；最喜欢吃火锅；今年3岁。", topics=["美食"])],
                             turns=[("user", "我叫小林，我最喜欢吃火锅"), ("assistant", "火锅好香！"),
                                    ("user", "我家的猫叫豆豆，今年三岁了")])
    return food.fact_id, age.fact_id, turns


async def seed_en(seeder: Seeder, u: str) -> tuple[str, str, list[str]]:
    food = fact(u, EN, "favorite_food", "hotpot", type_="preference", age_days=3)
    age = fact(u, EN, "age", "3", age_days=3)
    turns = await seeder.put(u, EN, facts=[food, age],
                             summaries=[summary(u, EN, "User: my name is Lin; favorite food is hotpot; is 3 years old.",
                                                topics=["food"])],
                             turns=[("user", "I'm Lin and my favorite food is hotpot"), ("assistant", "Yum!"),
                                    ("user", "My cat Mochi is 3 years old")])
    return food.fact_id, age.fact_id, turns


PATCHED = {  # language: (character, new value, the summary after, question, current line, its label, the note,
    #            the old turn, its label)
    "zh": (CH, "麻辣火锅", "用户叫小林；最喜欢吃麻辣火锅；今年3岁。", "我最喜欢吃什么", "favorite food: 麻辣火锅",
           "[用户资料，最新]", "以最新的为准", "我最喜欢吃火锅", "较旧：favorite food 已更新"),
    "en": (EN, "spicy hotpot", "User: my name is Lin; favorite food is spicy hotpot; is 3 years old.",
           "What is my favorite food?", "favorite food: spicy hotpot", "[profile, current]",
           "the current fact is what is true now", "my favorite food is hotpot",
           "older: favorite food has changed since"),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_patched_fact_outranks_older_text_and_the_summary_follows(
        api: Api, seeder: Seeder, lang: str) -> None:
    character_id, new, summary_after, question, current_line, current_label, note, old_text, old_label = PATCHED[lang]
    u = api.user_id
    food_id, _, turns = await (seed_zh if lang == "zh" else seed_en)(seeder, u)
    said = (await api.container.memory_index.get_doc(u, turns[0]))["content"]  # type: ignore[union-attr, index]
    before = lines((await recall(api, character_id, question))["block"])
    assert any(old_text in ln for ln in before) and not any(current_label in ln or old_label in ln for ln in before)

    r = await api.call("PATCH", f"/api/v1/memory/items/{food_id}", json={"value": new})
    assert r.status_code == 200, r.text
    # The summary is derived text: it now states the correction (and nothing else changed in it).
    assert await summaries(api, character_id) == [summary_after]

    block = (await recall(api, character_id, question))["block"]
    after = lines(block)
    current = index_of(after, current_line)
    assert current_label in after[current] and note in block
    # The raw turn still says the old value (a stored message is never rewritten): marked older, ranked below.
    old_turn = index_of(after, old_text)
    assert old_label in after[old_turn] and current < old_turn
    stored = await api.container.memory_index.get_doc(u, turns[0])  # type: ignore[union-attr]
    assert stored is not None and stored["content"] == said and old_text in said


async def test_a_deleted_fact_leaves_the_summary_zh_and_en(api: Api, seeder: Seeder) -> None:
    u = api.user_id
    _, age_zh, _ = await seed_zh(seeder, u)
    _, age_en, _ = await seed_en(seeder, u)
    assert "今年3岁" in (await recall(api, CH, "我今年几岁"))["block"]
    for character_id, age_id in ((CH, age_zh), (EN, age_en)):
        r = await api.call("DELETE", f"/api/v1/memory/items/{age_id}", params={"character_id": character_id})
        assert r.status_code == 200, r.text
    assert await summaries(api, CH) == ["用户叫小林；最喜欢吃火锅。"]
    assert await summaries(api, EN) == ["User: my name is Lin; favorite food is hotpot."]
    zh = (await recall(api, CH, "我今年几岁"))["block"]
    en = (await recall(api, EN, "How old am I?"))["block"]
    # The summary no longer says it; the raw turns (the cat's age, in the person's words) are kept.
    assert "今年3岁" not in zh and "age: 3" not in zh
    assert "hotpot; is 3 years old" not in en and "age: 3" not in en
    # The search index holds the corrected summary too (what BM25 and k-NN find).
    docs = await api.container.memory_index.get_docs(u, CH, None, size=100)  # type: ignore[union-attr]
    assert [d["content"] for d in docs if d["memory_type"] == "summary"] == ["用户叫小林；最喜欢吃火锅。"]


async def test_a_summary_that_only_stated_a_deleted_fact_goes(api: Api, seeder: Seeder) -> None:
    u = api.user_id
    age = fact(u, CH, "age", "3")
    only = summary(u, CH, "用户今年3岁。")
    await seeder.put(u, CH, facts=[age], summaries=[only, summary(u, CH, "用户聊到：考试没考好")])
    assert (await api.call("DELETE", f"/api/v1/memory/items/{age.fact_id}")).status_code == 200
    assert await summaries(api, CH) == ["用户聊到：考试没考好"]
    assert await api.container.memory_index.get_doc(u, only.summary_id) is None  # type: ignore[union-attr]


async def test_a_fact_the_worker_superseded_outranks_what_was_said_before_zh_and_en(
        api: Api, seeder: Seeder) -> None:
    u = api.user_id
    now = time.time()
    for character_id, old, new, said, question in (
            (CH, "上海", "杭州", "我住在上海，每天坐地铁上班", "我住在哪里"),
            (EN, "Shanghai", "Porto", "I live in Shanghai and take the metro to work", "Where do I live?")):
        first = fact(u, character_id, "city", old, age_days=20)
        moved = merge_fact(first, ExtractedFact(type="basic_info", key="city", value=new, confidence=0.9),
                           task_id="t-moved", now=now - DAY, user_id=u, character_id=character_id)
        assert moved is not None and moved.history[-1].value == old
        await seeder.put(u, character_id, facts=[moved], turns=[("user", said)], turns_age_days=10,
                         summaries=[summary(u, character_id, said, age_days=10)])
        after = lines((await recall(api, character_id, question))["block"])
        current = index_of(after, f"city: {new}")
        assert ("最新" if character_id == CH else "current") in after[current]
        older = [i for i, ln in enumerate(after) if old in ln]
        assert older and all(current < i for i in older)
        assert all(("较旧" if character_id == CH else "older") in after[i] for i in older)


async def test_text_said_after_the_change_is_not_marked(api: Api, seeder: Seeder) -> None:
    """"I used to live in Shanghai", said after the move, is not out of date."""
    u = api.user_id
    now = time.time()
    moved = merge_fact(fact(u, EN, "city", "Shanghai", age_days=20),
                       ExtractedFact(type="basic_info", key="city", value="Porto", confidence=0.9),
                       task_id="t-moved", now=now - 5 * DAY, user_id=u, character_id=EN)
    assert moved is not None
    await seeder.put(u, EN, facts=[moved], turns=[("user", "I used to live in Shanghai, the food was great")],
                     turns_age_days=1)
    block = (await recall(api, EN, "Shanghai food"))["block"]
    assert "Shanghai" in block and "older" not in block


async def test_done_event_names_the_memories_used_and_they_can_be_corrected(
        api: Api, seeder: Seeder, container: Container) -> None:
    u = api.user_id
    food_id, _, _ = await seed_zh(seeder, u)
    done = await say(container, u, CH, "你还记得我最喜欢吃什么吗？")
    used = done["memories_used"]
    assert done["memories"] == len(used) >= 1 and "dynamodb" in done["memory_sources"]
    assert {m["type"] for m in used} <= {"fact", "event", "summary", "turn"}
    by_id = {m["id"]: m for m in used}
    assert food_id in by_id and by_id[food_id]["type"] == "fact" and by_id[food_id]["text"] == "favorite food: 火锅"
    for m in used:
        assert len(m["date"]) == 10 and m["date"][4] == "-"
    # Every id is one the memory API takes: a fact/event/summary record or a turn's document.
    for m in used:
        if m["type"] == "fact":
            body = {"value": "麻辣火锅" if m["id"] == food_id else m["text"].split(": ", 1)[1]}
        else:
            body = {"content": "我最喜欢吃麻辣火锅"} if m["type"] == "turn" else {"summary": "用户最喜欢吃麻辣火锅。"}
        r = await api.call("PATCH", f"/api/v1/memory/items/{m['id']}", json=body)
        assert r.status_code == 200, (m, r.text)
    again = {m["id"]: m for m in (await say(container, u, CH, "你还记得我最喜欢吃什么吗？"))["memories_used"]}
    assert again[food_id]["text"] == "favorite food: 麻辣火锅"
    assert all("麻辣火锅" in m["text"] for m in again.values() if m["type"] == "summary")


async def test_done_event_marks_the_current_fact_and_older_text_en(
        api: Api, seeder: Seeder, container: Container) -> None:
    u = api.user_id
    food_id, _, _ = await seed_en(seeder, u)
    patched = await api.call("PATCH", f"/api/v1/memory/items/{food_id}", json={"value": "spicy hotpot"})
    assert patched.status_code == 200
    used = (await say(container, u, EN, "Do you remember my favorite food?"))["memories_used"]
    status = {m["id"]: m["status"] for m in used}
    assert status[food_id] == "current"
    assert any(s == "older" for i, s in status.items() if i != food_id), used
