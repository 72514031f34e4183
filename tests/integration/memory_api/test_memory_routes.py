"""Memory routes: recall preview, paginated listings, edit/delete one item, forget a character, export."""

from __future__ import annotations

import time

from companion.models import ChatMessage

from tests.integration.recall.support import Seeder, event, fact, summary

from .conftest import Api

CH = "xiaoyu"


async def test_recall_preview_with_scores(api: Api, seeder: Seeder) -> None:
    u = api.user_id
    await seeder.put(u, CH, facts=[fact(u, CH, "job", "程序员"), fact(u, CH, "city", "杭州")])
    r = await api.call("POST", "/api/v1/memory/recall", json={"character_id": CH, "query": "我是做什么工作的？"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["memories"][0]["content"].endswith("程序员")
    first = body["memories"][0]
    assert first["score"] > 0 and {"relevance", "recency", "importance"} <= set(first["metadata"]["ranking"])
    assert "<memories>" in body["block"] and body["sources"] == ["knn", "bm25", "dynamodb"]
    r = await api.call("POST", "/api/v1/memory/recall", json={"character_id": CH, "query": "x", "top_k": 99})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


async def test_listings_paginate(api: Api, seeder: Seeder) -> None:
    u = api.user_id
    await seeder.put(u, CH, facts=[fact(u, CH, "job", "程序员"), fact(u, CH, "city", "杭州"),
                                   fact(u, CH, "name", "小林")],
                     events=[event(u, CH, "期末考试", date="2030-01-10")],
                     summaries=[summary(u, CH, "聊了考试", age_days=5), summary(u, CH, "聊了猫", age_days=1)])
    seen, cursor = [], None
    while True:
        r = await api.call("GET", "/api/v1/memory/facts", params={"character_id": CH, "limit": 2,
                                                                   **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        seen += [i["value"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(["程序员", "杭州", "小林"])
    ev = (await api.call("GET", "/api/v1/memory/events", params={"character_id": CH})).json()["items"]
    assert [e["title"] for e in ev] == ["期末考试"] and ev[0]["item_type"] == "event"
    sums = (await api.call("GET", "/api/v1/memory/summaries", params={"character_id": CH})).json()["items"]
    assert [s["summary"] for s in sums] == ["聊了猫", "聊了考试"]  # newest first
    bad = await api.call("GET", "/api/v1/memory/facts", params={"character_id": CH, "cursor": "!!"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"


async def test_edit_fact_everywhere(api: Api, seeder: Seeder) -> None:
    u = api.user_id
    job = fact(u, CH, "job", "程序员")
    await seeder.put(u, CH, facts=[job])
    r = await api.call("PATCH", f"/api/v1/memory/items/{job.fact_id}", json={"value": "设计师"})
    assert r.status_code == 200, r.text
    assert r.json()["value"] == "设计师" and r.json()["history"][-1]["value"] == "程序员"
    listed = (await api.call("GET", "/api/v1/memory/facts", params={"character_id": CH})).json()["items"]
    assert [i["value"] for i in listed] == ["设计师"]
    rec = (await api.call("POST", "/api/v1/memory/recall", json={"character_id": CH, "query": "我的工作"})).json()
    assert "设计师" in rec["block"] and "程序员" not in rec["block"]
    bad = await api.call("PATCH", f"/api/v1/memory/items/{job.fact_id}", json={"title": "x"})
    assert bad.status_code == 422


async def test_edit_and_delete_event_and_turn(api: Api, seeder: Seeder) -> None:
    u = api.user_id
    ev = event(u, CH, "期末考试", date="2030-01-10")
    [t1, _] = await seeder.put(u, CH, events=[ev], turns=[("user", "我家的猫叫团子"), ("assistant", "好可爱")])
    r = await api.call("PATCH", f"/api/v1/memory/items/{ev.event_id}", json={"date": "2030-01-12", "importance": 9})
    assert r.status_code == 200 and r.json()["date"] == "2030-01-12" and r.json()["importance"] == 9
    r = await api.call("PATCH", f"/api/v1/memory/items/{t1}", json={"content": "我家的猫叫年糕"})
    assert r.status_code == 200, r.text
    rec = (await api.call("POST", "/api/v1/memory/recall", json={"character_id": CH, "query": "我家的猫叫什么"})).json()
    assert "年糕" in rec["block"] and "团子" not in rec["block"]
    assert (await api.call("DELETE", f"/api/v1/memory/items/{t1}")).status_code == 200
    rec = (await api.call("POST", "/api/v1/memory/recall", json={"character_id": CH, "query": "我家的猫叫什么"})).json()
    assert "年糕" not in rec["block"]


async def test_delete_item_removes_it_from_listing_and_recall(api: Api, seeder: Seeder) -> None:
    u = api.user_id
    job = fact(u, CH, "job", "程序员")
    await seeder.put(u, CH, facts=[job, fact(u, CH, "city", "杭州")])
    r = await api.call("DELETE", f"/api/v1/memory/items/{job.fact_id}", params={"character_id": CH})
    assert r.status_code == 200 and r.json() == {"item_id": job.fact_id, "deleted": True}
    listed = (await api.call("GET", "/api/v1/memory/facts", params={"character_id": CH})).json()["items"]
    assert [i["value"] for i in listed] == ["杭州"]
    rec = (await api.call("POST", "/api/v1/memory/recall",
                          json={"character_id": CH, "query": "我是做什么工作的"})).json()
    assert "程序员" not in rec["block"]
    again = await api.call("DELETE", f"/api/v1/memory/items/{job.fact_id}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


async def test_another_users_items_answer_404(api: Api, seeder: Seeder) -> None:
    u = api.user_id
    job = fact(u, CH, "job", "程序员")
    [turn] = await seeder.put(u, CH, facts=[job], turns=[("user", "秘密")])
    other = u + "-other"
    for item in (job.fact_id, turn):
        r = await api.call("PATCH", f"/api/v1/memory/items/{item}", user=other, json={"value": "黑客"})
        assert r.status_code == 404, r.text
        r = await api.call("DELETE", f"/api/v1/memory/items/{item}", user=other)
        assert r.status_code == 404 and set(r.json()["error"]) >= {"code", "message"}
        r = await api.call("DELETE", f"/api/v1/memory/items/{item}", user=other, params={"character_id": CH})
        assert r.status_code == 404
    listed = (await api.call("GET", "/api/v1/memory/facts", user=other, params={"character_id": CH})).json()
    assert listed["items"] == []
    rec = (await api.call("POST", "/api/v1/memory/recall", user=other,
                          json={"character_id": CH, "query": "我是做什么工作的"})).json()
    assert rec["memories"] == []
    mine = (await api.call("GET", "/api/v1/memory/facts", params={"character_id": CH})).json()["items"]
    assert [i["value"] for i in mine] == ["程序员"]  # untouched
    index = api.container.memory_index
    assert index is not None and await index.get_doc(other, turn) is None
    assert (await index.get_doc(u, turn) or {}).get("content") == "秘密"


async def test_forget_a_character_removes_everything(api: Api, seeder: Seeder) -> None:
    u, c = api.user_id, api.container
    await seeder.put(u, CH, facts=[fact(u, CH, "job", "程序员")], turns=[("user", "我家的猫叫团子")],
                     summaries=[summary(u, CH, "聊了猫")])
    await seeder.put(u, "luna", facts=[fact(u, "luna", "city", "Paris")])
    msgs = [ChatMessage(role="user", content="我家的猫叫团子"), ChatMessage(role="assistant", content="好可爱")]
    await c.message_log.append(u, CH, "s1", msgs)
    await c.short_term.append(u, CH, msgs)
    assert c.archive is not None
    await c.archive.put(f"conversations/{u}/{CH}/2026/01/01/s1.json", {"messages": []})

    r = await api.call("DELETE", "/api/v1/memory", params={"character_id": CH})
    assert r.status_code == 200, r.text
    deleted = r.json()["deleted"]
    assert deleted["memories"] == 2 and deleted["index_documents"] >= 3 and deleted["archives"] == 1
    assert deleted["messages"] >= 2 and deleted["short_term_window"] is True
    assert await c.short_term.window(u, CH, 10) == []
    assert (await api.call("GET", "/api/v1/chat/history", params={"character_id": CH})).json()["messages"] == []
    assert (await api.call("GET", "/api/v1/memory/facts", params={"character_id": CH})).json()["items"] == []
    rec = (await api.call("POST", "/api/v1/memory/recall", json={"character_id": CH, "query": "我家的猫"})).json()
    assert rec["memories"] == []
    # The other character's memories stay.
    luna = (await api.call("GET", "/api/v1/memory/facts", params={"character_id": "luna"})).json()["items"]
    assert [i["value"] for i in luna] == ["Paris"]
    assert (await api.call("DELETE", "/api/v1/memory")).status_code == 422  # character_id is required


async def test_export_has_everything_of_the_user_and_nothing_else(api: Api, seeder: Seeder) -> None:
    u, c = api.user_id, api.container
    other = u + "-other"
    await seeder.put(u, CH, facts=[fact(u, CH, "job", "程序员")], events=[event(u, CH, "期末考试")],
                     turns=[("user", "我的秘密日记")])
    await seeder.put(other, CH, facts=[fact(other, CH, "job", "间谍")], turns=[("user", "别人的秘密")])
    await c.message_log.append(u, CH, "s1", [ChatMessage(role="user", content="你好呀", timestamp=time.time())])
    created = await api.call("POST", "/api/v1/characters", json={"name": "Mine"})
    assert created.status_code == 201
    r = await api.call("GET", "/api/v1/memory/export")
    assert r.status_code == 200
    doc = r.json()
    assert doc["user_id"] == u
    assert [f["value"] for f in doc["memories"]["facts"]] == ["程序员"]
    assert [e["title"] for e in doc["memories"]["events"]] == ["期末考试"]
    assert any(d["content"] == "我的秘密日记" for d in doc["index_documents"])
    assert [m["content"] for m in doc["conversations"][CH]] == ["你好呀"]
    assert [ch["name"] for ch in doc["characters"]] == ["Mine"]
    text = r.text
    assert "间谍" not in text and "别人的秘密" not in text and other not in text


async def test_errors_have_the_project_shape(api: Api) -> None:
    r = await api.http.get("/api/v1/memory/facts", params={"character_id": CH})
    assert r.status_code == 401 and set(r.json()["error"]) == {"code", "message"}
    r = await api.http.post("/api/v1/memory/recall", content=b"{not json",
                            headers={**api.auth(), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = await api.call("GET", "/api/v1/memory/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await api.call("PATCH", "/api/v1/memory/items/fact_x", json={"value": "a", "hack": 1})
    assert r.status_code == 422


async def test_an_edited_reply_is_embedded_again_after_the_turn_it_answers(api: Api, seeder: Seeder) -> None:
    u = api.user_id
    [_, reply] = await seeder.put(u, CH, turns=[("user", "你猜我周末去哪了"), ("assistant", "去爬山了吧")])
    r = await api.call("PATCH", f"/api/v1/memory/items/{reply}", json={"content": "去海边了吧"})
    assert r.status_code == 200, r.text
    c = api.container
    assert c.memory_index is not None and c.embedder is not None
    [doc] = [d for d in await c.memory_index.get_docs(u, CH, ["turn"]) if d["memory_id"] == reply]
    assert doc["content"] == "去海边了吧" and doc["metadata"]["context"] == "你猜我周末去哪了"
    [expected] = await c.embedder.embed_passages(["你猜我周末去哪了\n去海边了吧"])
    assert max(abs(a - b) for a, b in zip(doc["embedding"], expected, strict=True)) < 1e-4


async def test_deleting_or_editing_a_turn_reaches_the_next_turns_vector(api: Api, seeder: Seeder) -> None:
    """The reply after a turn was embedded after it: deleted words must not live on there."""
    u = api.user_id
    turns = [("user", "我的银行密码是1234"), ("assistant", "记住了，我会保密"), ("user", "谢谢你")]
    [secret, reply, _] = await seeder.put(u, CH, turns=turns)
    c = api.container
    assert c.memory_index is not None and c.embedder is not None

    async def doc(item: str) -> dict:
        return next(d for d in await c.memory_index.get_docs(u, CH, ["turn"]) if d["memory_id"] == item)

    assert (await doc(reply))["metadata"]["context"] == "我的银行密码是1234"
    r = await api.call("PATCH", f"/api/v1/memory/items/{secret}", json={"content": "我的银行密码是秘密"})
    assert r.status_code == 200, r.text
    assert (await doc(reply))["metadata"]["context"] == "我的银行密码是秘密"
    assert (await api.call("DELETE", f"/api/v1/memory/items/{secret}")).status_code == 200
    after = await doc(reply)
    assert "context" not in after["metadata"] and after["content"] == "记住了，我会保密"
    [alone] = await c.embedder.embed_passages(["记住了，我会保密"])
    assert max(abs(a - b) for a, b in zip(after["embedding"], alone, strict=True)) < 1e-4
    # The deleted words must be gone from every text field of every document (not the vectors'
    # digits, which may hold any sequence).
    for d in await c.memory_index.get_docs(u, CH):
        texts = [d.get("content", ""), *(str(v) for v in (d.get("metadata") or {}).values())]
        assert all("1234" not in t for t in texts), d["memory_id"]
