"""Bad input to the memory API gets a clear 4xx in the project's shape and words, and changes nothing.

Through the FastAPI app over the real stores (moto's server, redis-server, the OpenSearch emulator).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from companion.api.memory_api.app import create_app
from companion.bootstrap import MemoryApiContainer

from infra.local.services import free_port
from tests.integration.recall.support import Seeder, fact

from .conftest import Api

CH = "xiaoyu"
SURROGATE = "hi \ud800 x"
CARD: dict[str, Any] = {"spec": "chara_card_v2", "data": {"name": "Aria", "description": "A navigator."}}

# (method, path, a valid body): every route that takes a JSON body.
BODY_ROUTES = [
    ("POST", "/api/v1/memory/recall", {"character_id": CH, "query": "我的工作"}),
    ("PATCH", "/api/v1/memory/items/fact_x", {"value": "设计师"}),
    ("POST", "/api/v1/characters", {"name": "Momo"}),
    ("POST", "/api/v1/characters/import", CARD),
    ("PUT", "/api/v1/characters/c_missing", {"name": "Momo"}),
]


async def _send(api: Api, method: str, path: str, raw: bytes, content_type: str | None = "application/json"
                ) -> httpx.Response:
    headers = {**api.auth(), **({"Content-Type": content_type} if content_type else {})}
    return await api.http.request(method, path, content=raw, headers=headers)


async def _own_characters(api: Api) -> list[dict[str, Any]]:
    r = await api.call("GET", "/api/v1/characters")
    return [c for c in r.json()["characters"] if not c["builtin"]]


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/api/v1/memory/recall", {"character_id": CH, "query": SURROGATE}, "query"),
    ("PATCH", "/api/v1/memory/items/{fact_id}", {"value": SURROGATE}, "value"),
    ("POST", "/api/v1/characters", {"name": "Momo", "description": SURROGATE}, "description"),
    ("POST", "/api/v1/characters/import",
     {"spec": "chara_card_v2", "data": {"name": SURROGATE}}, "data.name"),
    ("POST", "/api/v1/characters/import",
     {"spec": "chara_card_v2", "data": {"name": "Aria", "character_book": {"entries": [
         {"keys": ["k"], "content": SURROGATE}]}}}, "data.character_book.entries[0].content"),
    ("POST", "/api/v1/characters", {"name": "Momo", "character_book": [{SURROGATE: "key"}]}, "character_book[0]"),
])
async def test_lone_surrogates_are_refused_on_every_text_route(api: Api, seeder: Seeder, method: str, path: str,
                                                              body: dict[str, Any], field: str) -> None:
    job = fact(api.user_id, CH, "job", "程序员")
    await seeder.put(api.user_id, CH, facts=[job])
    r = await _send(api, method, path.format(fact_id=job.fact_id), json.dumps(body).encode("ascii"))
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_text"
    assert r.json()["error"]["message"].startswith(f"{field} holds text that is not valid Unicode")
    listed = (await api.call("GET", "/api/v1/memory/facts", params={"character_id": CH})).json()["items"]
    assert [i["value"] for i in listed] == ["程序员"]
    assert await _own_characters(api) == []


async def test_a_character_can_still_be_updated_with_valid_text_after_a_refusal(api: Api) -> None:
    r = await api.call("POST", "/api/v1/characters", json={"name": "Momo"})
    cid = r.json()["character_id"]
    bad = await _send(api, "PUT", f"/api/v1/characters/{cid}",
                      json.dumps({"name": "Momo", "scenario": SURROGATE}).encode("ascii"))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_text"
    assert (await api.call("GET", f"/api/v1/characters/{cid}")).json()["scenario"] == ""
    good = await api.call("PUT", f"/api/v1/characters/{cid}", json={"name": "Momo", "scenario": "在咖啡馆"})
    assert good.status_code == 200 and good.json()["scenario"] == "在咖啡馆"


@pytest.mark.parametrize(("method", "path", "_"), BODY_ROUTES)
async def test_deeply_nested_bodies_are_a_400(api: Api, method: str, path: str, _: Any) -> None:
    r = await _send(api, method, path, b'{"a": ' * 5000 + b"1" + b"}" * 5000)
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = await _send(api, method, path, b"[" * 5000 + b"]" * 5000)
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"


async def test_a_character_book_deeper_than_the_stores_take_is_a_400(api: Api) -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = {"k": deep}
    r = await api.call("POST", "/api/v1/characters", json={"name": "Momo", "character_book": [deep]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    assert await _own_characters(api) == []


@pytest.mark.parametrize(("method", "path", "body"), BODY_ROUTES)
@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data; boundary=xyz"])
async def test_bodies_not_declared_as_json_are_a_415(api: Api, method: str, path: str, body: dict[str, Any],
                                                    content_type: str | None) -> None:
    r = await _send(api, method, path, json.dumps(body).encode(), content_type)
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert await _own_characters(api) == []


async def test_json_with_a_charset_or_a_json_suffix_is_accepted(api: Api) -> None:
    r = await _send(api, "POST", "/api/v1/characters", json.dumps({"name": "Momo"}).encode(),
                    "application/json; charset=utf-8")
    assert r.status_code == 201, r.text
    r = await _send(api, "POST", "/api/v1/characters/import", json.dumps(CARD).encode(),
                    "application/vnd.chara-card+json")
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/memory/recall", {"character_id": CH, "query": "\u200b\u200c\u200d\u2060\ufeff "}, "query"),
    ("/api/v1/characters", {"name": " \u200b "}, "name"),
])
async def test_zero_width_text_counts_as_empty(api: Api, path: str, body: dict[str, Any], field: str) -> None:
    r = await api.call("POST", path, json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert r.json()["error"]["details"] == [{"loc": [field], "msg": f"{field} must hold visible text"}]


async def test_errors_are_in_the_projects_words(api: Api) -> None:
    r = await _send(api, "POST", "/api/v1/memory/recall", b'{"character_id": "xiaoyu", "query": }')
    assert r.status_code == 400 and r.json()["error"]["message"] == "the request body is not valid JSON (UTF-8)"
    r = await api.call("POST", "/api/v1/memory/recall", json={"character_id": "x y", "query": "q", "top_k": 99,
                                                                "policy": "sometimes"})
    assert r.status_code == 422
    msgs = {tuple(d["loc"]): d["msg"] for d in r.json()["error"]["details"]}
    assert msgs == {("character_id",): "character_id must be an id of 1 to 64 letters, digits, '_', '-', '.' or ':'",
                    ("top_k",): "top_k must be at most 20",
                    ("policy",): "policy must be one of 'intent' or 'always'"}
    r = await api.call("GET", "/api/v1/memory/facts", params={"character_id": CH, "limit": "lots"})
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [{"loc": ["query", "limit"], "msg": "limit must be an integer"}]
    r = await api.call("PATCH", "/api/v1/memory/items/fact_x", json={"value": "a", "hack": 1})
    assert r.json()["error"]["details"] == [{"loc": ["hack"], "msg": "hack is not a field of this request"}]


async def test_unknown_routes_and_methods_answer_in_the_error_shape(api: Api) -> None:
    r = await api.call("GET", "/api/v1/memory/nothing-here")
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "there is no route GET /api/v1/memory/nothing-here"}}
    r = await api.call("GET", "/no/such/route")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await api.call("POST", "/api/v1/memory/export")
    assert r.status_code == 405
    assert r.json() == {"error": {"code": "method_not_allowed",
                                  "message": "POST is not allowed on /api/v1/memory/export"}}


async def test_dynamodb_unreachable_gives_503_store_unavailable_everywhere(
        memory_api_container_factory: Callable[..., MemoryApiContainer], user_id: str) -> None:
    dead = memory_api_container_factory(aws_endpoint_url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(dead)),
                                 base_url="http://api.test", timeout=60) as http:
        api = Api(dead, http, user_id)
        for method, path, params in [("POST", "/api/v1/chat/sessions/xiaoyu/end", None),
                                     ("DELETE", "/api/v1/chat/history", {"character_id": CH}),
                                     ("GET", "/api/v1/memory/facts", {"character_id": CH})]:
            r = await api.call(method, path, params=params)
            assert r.status_code == 503, (path, r.text)
            assert r.json()["error"]["code"] == "store_unavailable"
