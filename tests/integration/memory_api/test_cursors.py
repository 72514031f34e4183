"""Pagination cursors are opaque and signed: only the listing that issued one can read it back."""

from __future__ import annotations

import base64
import json

import pytest
from companion.bootstrap import MemoryApiContainer

from tests.integration.recall.support import fact, summary

from .conftest import Api

CH = "xiaoyu"
FACTS = {"job": "程序员", "city": "杭州", "name": "小林", "pet": "cat"}


async def _seed(container: MemoryApiContainer, user_id: str, character_id: str = CH) -> None:
    assert container.memory_repo is not None
    await container.memory_repo.save([fact(user_id, character_id, k, v) for k, v in FACTS.items()],
                                     summary=[summary(user_id, character_id, f"chat {i}", age_days=i)
                                              for i in range(1, 4)])


async def _first_cursor(api: Api, route: str = "facts", user: str | None = None,
                        character_id: str = CH) -> str:
    r = await api.call("GET", f"/api/v1/memory/{route}", user=user, params={"character_id": character_id,
                                                                           "limit": 1})
    assert r.status_code == 200, r.text
    cursor = r.json()["next_cursor"]
    assert cursor
    return cursor


async def _status(api: Api, cursor: str, route: str = "facts", user: str | None = None,
                  character_id: str = CH) -> tuple[int, str]:
    r = await api.call("GET", f"/api/v1/memory/{route}", user=user,
                       params={"character_id": character_id, "limit": 1, "cursor": cursor})
    return r.status_code, r.json().get("error", {}).get("code", "") if r.status_code != 200 else ""


async def test_a_cursor_carries_neither_the_user_nor_the_partition_and_pages_through(api: Api) -> None:
    await _seed(api.container, api.user_id)
    cursor = await _first_cursor(api)
    # Decoded, not as text: base64 of random MAC bytes may spell any short word by chance.
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    for hidden in (api.user_id, CH):
        assert hidden.encode() not in raw  # whose data it is comes from the token, never from the cursor
    # Not a DynamoDB key as JSON (a single "{" byte can occur by chance in sealed bytes; JSON cannot).
    assert b'"pk"' not in raw and not raw.lstrip().startswith(b"{")
    with pytest.raises(ValueError):
        json.loads(raw)
    seen, nxt = [], None
    while True:
        params = {"character_id": CH, "limit": 1, **({"cursor": nxt} if nxt else {})}
        r = await api.call("GET", "/api/v1/memory/facts", params=params)
        assert r.status_code == 200, r.text
        seen += [i["value"] for i in r.json()["items"]]
        nxt = r.json()["next_cursor"]
        if not nxt:
            break
    assert sorted(seen) == sorted(FACTS.values())


@pytest.mark.parametrize("forged", [
    base64.urlsafe_b64encode(json.dumps({"pk": 5, "sk": None}).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps({"pk": {"S": "x#y"}, "sk": {"S": "FACT#"}}).encode()).decode(),
    "!!", "a", "AQ", "=" * 8, "é",
])
async def test_a_made_up_cursor_answers_invalid_cursor(api: Api, forged: str) -> None:
    await _seed(api.container, api.user_id)
    assert await _status(api, forged) == (400, "invalid_cursor")


async def test_a_cursor_with_any_byte_flipped_answers_invalid_cursor(api: Api) -> None:
    await _seed(api.container, api.user_id)
    cursor = await _first_cursor(api)
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    for i in range(len(raw)):
        flipped = bytearray(raw)
        flipped[i] ^= 0x01
        forged = base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode()
        assert await _status(api, forged) == (400, "invalid_cursor"), i


async def test_another_users_cursor_answers_invalid_cursor(api: Api) -> None:
    other = api.user_id + ":other"
    await _seed(api.container, api.user_id)
    await _seed(api.container, other)
    foreign = await _first_cursor(api, user=other)
    assert await _status(api, foreign) == (400, "invalid_cursor")
    assert await _status(api, foreign, user=other) == (200, "")


async def test_a_cursor_only_works_for_the_listing_that_issued_it(api: Api) -> None:
    await _seed(api.container, api.user_id)
    await _seed(api.container, api.user_id, "luna")
    facts_cursor = await _first_cursor(api)
    assert await _status(api, facts_cursor, route="summaries") == (400, "invalid_cursor")
    assert await _status(api, facts_cursor, route="events") == (400, "invalid_cursor")
    assert await _status(api, facts_cursor, character_id="luna") == (400, "invalid_cursor")
