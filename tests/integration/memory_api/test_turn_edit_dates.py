"""Editing a turn's words also re-dates it: the ``when`` a date search matches follows the new text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.recall.support import Seeder

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
