"""Editing a turn's words also re-dates it: the ``when`` a date search matches follows the new text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.recall.support import Seeder, fact

from .conftest import Api


async def test_an_edited_turn_speaks_about_the_dates_of_its_new_words(api: Api, seeder: Seeder) -> None:
    u = api.user_id
    [turn] = await seeder.put(u, "luna", turns=[("user", "I went hiking yesterday")], turns_age_days=10)
    index = api.container.memory_index
    assert index is not None
    before = await index.get_doc(u, turn)
    assert before is not None
    said = datetime.fromtimestamp(before["timestamp"] / 1000, UTC).date()
    assert (said - timedelta(days=1)).isoformat() in before["when"]

    r = await api.call("PATCH", f"/api/v1/memory/items/{turn}", json={"content": "我前天去爬山了"})
    assert r.status_code == 200, r.text
    after = await index.get_doc(u, turn)
    assert after is not None and after["content"] == "我前天去爬山了"
    assert (said - timedelta(days=2)).isoformat() in after["when"]
    assert (said - timedelta(days=1)).isoformat() not in after["when"]


async def test_a_fact_the_person_corrected_no_longer_claims_the_turns_of_the_old_value(
        api: Api, seeder: Seeder) -> None:
    u = api.user_id
    [said] = await seeder.put(u, "luna", turns=[("user", "My favorite food is hotpot")])
    food = fact(u, "luna", "favorite_food", "hotpot", type_="preference").model_copy(
        update={"source_turn_ids": [said]})
    await seeder.put(u, "luna", facts=[food])
    listed = (await api.call("GET", "/api/v1/memory/facts", params={"character_id": "luna"})).json()["items"]
    assert [i["source_turn_ids"] for i in listed if i["value"] == "hotpot"] == [[said]]
    r = await api.call("PATCH", f"/api/v1/memory/items/{food.fact_id}", json={"value": "spicy hotpot"})
    assert r.status_code == 200, r.text
    listed = (await api.call("GET", "/api/v1/memory/facts", params={"character_id": "luna"})).json()["items"]
    assert [(i["value"], i["source_turn_ids"]) for i in listed] == [("spicy hotpot", [])]
