"""Characters (built-in, custom, card import) and chat history through the memory API (cards: test_cards.py)."""

from __future__ import annotations

from companion.models import ChatMessage

from .conftest import Api

CARD = {
    "spec": "chara_card_v2", "spec_version": "2.0",
    "data": {
        "name": "Aria", "description": "A starship navigator.", "personality": "calm, precise",
        "scenario": "On the bridge of the Aurora.", "first_mes": "Course plotted, captain.",
        "mes_example": "<START>\n{{user}}: Status?\n{{char}}: All green.", "system_prompt": "You are Aria.",
        "post_history_instructions": "Stay in character.", "creator_notes": "ignored", "tags": ["scifi"],
        "character_book": {"entries": [
            {"keys": ["Aurora"], "content": "The Aurora is a deep-space cruiser.", "enabled": True,
             "insertion_order": 1},
            {"keys": ["secret"], "content": "disabled entry", "enabled": False},
        ]},
    },
}


async def test_list_get_and_builtins_are_read_only(api: Api) -> None:
    r = await api.call("GET", "/api/v1/characters")
    assert r.status_code == 200
    ids = {c["character_id"] for c in r.json()["characters"]}
    assert {"xiaoyu", "luna"} <= ids
    r = await api.call("GET", "/api/v1/characters/xiaoyu")
    assert r.status_code == 200 and r.json()["builtin"] is True
    r = await api.call("PUT", "/api/v1/characters/xiaoyu", json={"name": "hacked"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "builtin_character"
    assert (await api.call("DELETE", "/api/v1/characters/luna")).status_code == 403
    assert (await api.call("GET", "/api/v1/characters/nope")).status_code == 404


async def test_custom_character_is_owned_by_the_caller(api: Api) -> None:
    r = await api.call("POST", "/api/v1/characters", json={"name": "Momo", "personality": "cheerful", "language": "zh"})
    assert r.status_code == 201, r.text
    char = r.json()
    cid = char["character_id"]
    assert char["owner_id"] == api.user_id and char["builtin"] is False
    assert cid in {c["character_id"] for c in (await api.call("GET", "/api/v1/characters")).json()["characters"]}

    other = api.user_id + "-other"
    assert (await api.call("GET", f"/api/v1/characters/{cid}", user=other)).status_code == 404
    assert (await api.call("PUT", f"/api/v1/characters/{cid}", user=other, json={"name": "x"})).status_code == 404
    assert (await api.call("DELETE", f"/api/v1/characters/{cid}", user=other)).status_code == 404
    others = (await api.call("GET", "/api/v1/characters", user=other)).json()["characters"]
    assert cid not in {c["character_id"] for c in others}

    r = await api.call("PUT", f"/api/v1/characters/{cid}", json={"name": "Momo 2", "personality": "calm"})
    assert r.status_code == 200 and r.json()["name"] == "Momo 2" and r.json()["owner_id"] == api.user_id
    assert (await api.call("GET", f"/api/v1/characters/{cid}")).json()["personality"] == "calm"
    assert (await api.call("DELETE", f"/api/v1/characters/{cid}")).status_code == 200
    assert (await api.call("GET", f"/api/v1/characters/{cid}")).status_code == 404
    bad = await api.call("POST", "/api/v1/characters", json={"name": ""})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


async def test_import_character_card_v2(api: Api) -> None:
    r = await api.call("POST", "/api/v1/characters/import", json=CARD)
    assert r.status_code == 201, r.text
    ch = r.json()
    assert ch["name"] == "Aria" and ch["owner_id"] == api.user_id
    assert ch["first_mes"] == "Course plotted, captain." and ch["post_history_instructions"] == "Stay in character."
    assert ch["system_prompt"] == "You are Aria." and "{{user}}" in ch["mes_example"]
    # Every entry is kept, a disabled one too (the prompt skips it), so an export gives the card back.
    assert [(e["content"], e["enabled"]) for e in ch["character_book"]] == [
        ("The Aurora is a deep-space cruiser.", True), ("disabled entry", False)]
    assert ch["creator_notes"] == "ignored" and ch["tags"] == ["scifi"] and ch["warnings"] == []
    got = (await api.call("GET", f"/api/v1/characters/{ch['character_id']}")).json()
    assert got["scenario"] == "On the bridge of the Aurora."
    r = await api.call("POST", "/api/v1/characters/import", json={**CARD, "spec": "chara_card_v1"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_card"
    r = await api.call("POST", "/api/v1/characters/import", json={"spec": "chara_card_v2", "data": {}})
    assert r.status_code == 422 and r.json()["error"]["message"] == "data.name is required and must hold visible text"


async def test_chat_history_pages_and_is_private(api: Api) -> None:
    c = api.container
    msgs = [ChatMessage(role="user" if i % 2 == 0 else "assistant", content=f"m{i}") for i in range(5)]
    await c.message_log.append(api.user_id, "luna", "s1", msgs)
    r = await api.call("GET", "/api/v1/chat/history", params={"character_id": "luna", "limit": 3})
    assert r.status_code == 200
    body = r.json()
    assert [m["content"] for m in body["messages"]] == ["m2", "m3", "m4"] and body["next_before_seq"] == 3
    r = await api.call("GET", "/api/v1/chat/history", params={"character_id": "luna", "before_seq": 3})
    assert [m["content"] for m in r.json()["messages"]] == ["m0", "m1"]
    other = await api.call("GET", "/api/v1/chat/history", user=api.user_id + "-x", params={"character_id": "luna"})
    assert other.json()["messages"] == []
    assert (await api.call("GET", "/api/v1/chat/history")).status_code == 422
