"""Bad input gets a clear 4xx with a machine-readable code, and changes nothing."""

from __future__ import annotations

import json

import pytest

from infra.local.services import ManagedProcess, free_port

from .conftest import ChatClient, parse_sse

STREAM = "/api/v1/chat/stream"


async def _post(client: ChatClient, body: object = None, *, raw: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict]:
    h = {"Content-Type": "application/json", **(client.auth() if headers is None else headers)}
    resp = await client.http.post(STREAM, content=raw, headers=h) if raw is not None else \
        await client.http.post(STREAM, json=body, headers=h)
    return resp.status_code, resp.json()


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"character_id": "xiaoyu", "message": ""}, 400, "empty_message"),
    ({"character_id": "xiaoyu", "message": "   \n "}, 400, "empty_message"),
    ({"character_id": "xiaoyu", "message": "长" * 2001}, 413, "message_too_long"),
    ({"character_id": "no-such-character", "message": "hi"}, 404, "unknown_character"),
    ({"character_id": "bad id with spaces", "message": "hi"}, 422, "invalid_request"),
    ({"message": "hi"}, 422, "invalid_request"),
    ({"character_id": "xiaoyu", "message": 42}, 422, "invalid_request"),
])
async def test_bad_bodies(client: ChatClient, body: dict, status: int, code: str) -> None:
    got_status, got = await _post(client, body)
    assert (got_status, got["error"]["code"]) == (status, code)
    assert got["error"]["message"]
    assert await client.container.message_log.history(client.user_id, "xiaoyu", limit=5) == []


async def test_message_of_exactly_2000_characters_is_accepted(client: ChatClient) -> None:
    status, _ = await client.say("好" * 2000)
    assert status == 200


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", "\xff".encode("latin-1")])
async def test_malformed_json(client: ChatClient, raw: bytes) -> None:
    status, body = await _post(client, raw=raw)
    assert status == 400 and body["error"]["code"] == "malformed_json"


async def test_tokens(client: ChatClient) -> None:
    ok = {"character_id": "xiaoyu", "message": "hi"}
    assert (await _post(client, ok, headers={}))[1]["error"]["code"] == "missing_token"
    status, body = await _post(client, ok, headers={"Authorization": "Bearer not-a-jwt"})
    assert (status, body["error"]["code"]) == (401, "invalid_token")
    expired = client.token(ttl_s=-60)
    status, body = await _post(client, ok, headers={"Authorization": f"Bearer {expired}"})
    assert (status, body["error"]["code"]) == (401, "token_expired")
    from companion.auth import issue_token
    forged = issue_token("some-other-secret", client.user_id)
    status, body = await _post(client, ok, headers={"Authorization": f"Bearer {forged}"})
    assert (status, body["error"]["code"]) == (401, "invalid_token")
    status, body = await _post(client, ok, headers={"Authorization": f"Basic {client.token()}"})
    assert (status, body["error"]["code"]) == (401, "invalid_token")


async def test_history_requires_a_token(client: ChatClient) -> None:
    resp = await client.http.get("/api/v1/chat/history", params={"character_id": "xiaoyu"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "missing_token"


async def test_rate_limit_61st_request_gets_429(client_factory) -> None:  # type: ignore[no-untyped-def]
    c = client_factory(llm_chain=[])
    for i in range(60):
        status, _ = await c.say(f"message {i}", character_id="luna")
        assert status == 200, i
    resp = await c.http.post(STREAM, json={"character_id": "luna", "message": "one too many"}, headers=c.auth())
    assert resp.status_code == 429
    assert resp.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    other = await c.say("a different user is not limited", character_id="luna", user_id="another-user")
    assert other[0] == 200


# -- issue 9: hostile input and faults get a clear 4xx/503, never a 500 ---------------------

ZERO_WIDTH = ["\u200b", "\u200c\u200d", "\u2060 \ufeff", " \u200b\n\u200d\t\ufeff ", "\u3000\u200b"]


@pytest.mark.parametrize("message", ZERO_WIDTH)
async def test_a_message_of_zero_width_characters_is_empty(client: ChatClient, message: str) -> None:
    status, body = await _post(client, {"character_id": "xiaoyu", "message": message})
    assert (status, body["error"]["code"]) == (400, "empty_message")
    assert await client.container.message_log.history(client.user_id, "xiaoyu", limit=5) == []


async def test_a_zero_width_joiner_inside_real_text_is_kept(client: ChatClient) -> None:
    status, _ = await client.say("我们👨\u200d👩\u200d👧一家", character_id="xiaoyu")
    assert status == 200
    [_greeting, user_msg, _] = await client.container.message_log.history(client.user_id, "xiaoyu", limit=5)
    assert user_msg.content == "我们👨\u200d👩\u200d👧一家"


@pytest.mark.parametrize("field", ["message", "character_id"])
async def test_a_lone_surrogate_is_refused_with_invalid_text(client: ChatClient, field: str) -> None:
    body = {"character_id": "xiaoyu", "message": "hi", field: "hi \ud800 x"}
    status, got = await _post(client, raw=json.dumps(body).encode("ascii"))
    assert (status, got["error"]["code"]) == (400, "invalid_text")
    assert got["error"]["message"].startswith(field)


@pytest.mark.parametrize("raw", [b"[" * 5000 + b"]" * 5000, b'{"a": ' * 5000 + b"1" + b"}" * 5000,
                                 b'{"character_id": "xiaoyu", "message": "hi", "x": ' + b"[" * 40 + b"]" * 40 + b"}"],
                         ids=["5000-arrays", "5000-objects", "40-levels-in-a-valid-request"])
async def test_deeply_nested_json_is_a_400(client: ChatClient, raw: bytes) -> None:
    status, body = await _post(client, raw=raw)
    assert (status, body["error"]["code"]) == (400, "malformed_json")
    assert "nested" in body["error"]["message"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data; boundary=x",
                                          "application/x-www-form-urlencoded", "application/json; charset=latin-1"])
async def test_a_body_not_declared_as_json_is_a_415(client: ChatClient, content_type: str | None) -> None:
    headers = {**client.auth(), **({"Content-Type": content_type} if content_type else {})}
    resp = await client.http.post(STREAM, content=json.dumps({"character_id": "xiaoyu", "message": "hi"}),
                                  headers=headers)
    assert resp.status_code == 415 and resp.json()["error"]["code"] == "unsupported_media_type"
    assert await client.container.message_log.history(client.user_id, "xiaoyu", limit=5) == []


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/json;charset=UTF-8",
                                          "application/vnd.companion+json"])
async def test_json_media_types_are_accepted(client: ChatClient, content_type: str) -> None:
    resp = await client.http.post(STREAM, content=json.dumps({"character_id": "luna", "message": "hi"}),
                                  headers={**client.auth(), "Content-Type": content_type})
    assert resp.status_code == 200 and parse_sse(resp.text)[-1][1]["done"] is True


async def test_errors_say_what_is_wrong_without_library_internals(client: ChatClient) -> None:
    status, body = await _post(client, raw=b'{"character_id": "xiaoyu", "message": "hi",}')
    assert status == 400 and body["error"]["message"] == "the request body is not valid JSON (UTF-8)"
    status, body = await _post(client, {"character_id": "bad id", "message": 42, "extra": 1})
    assert status == 422
    messages = {tuple(d["loc"]): d["msg"] for d in body["error"]["details"]}
    assert messages[("character_id",)] == "character_id must be an id of 1 to 64 letters, digits, '_', '-', '.' or ':'"
    assert messages[("message",)] == "message must be a string"
    status, body = await _post(client, {"character_id": "xiaoyu"})
    assert body["error"]["details"] == [{"loc": ["message"], "msg": "message is required"}]


async def test_unknown_routes_and_methods_answer_in_the_error_shape(client: ChatClient) -> None:
    resp = await client.http.get("/api/v1/chat/nothing-here", headers=client.auth())
    assert resp.status_code == 404
    assert resp.json() == {"error": {"code": "not_found", "message": "there is no route GET /api/v1/chat/nothing-here"}}
    resp = await client.http.put(STREAM, headers=client.auth())
    assert resp.status_code == 405 and resp.json()["error"]["code"] == "method_not_allowed"
    assert "POST" in resp.headers["allow"]


async def test_dynamodb_unreachable_gives_503_store_unavailable(
        client_factory, own_redis: ManagedProcess) -> None:  # type: ignore[no-untyped-def]
    c = client_factory(aws_endpoint_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
                       redis_url=f"redis://127.0.0.1:{own_redis.port}/0")
    for method, path, params in [("POST", "/api/v1/chat/sessions/xiaoyu/end", None),
                                 ("DELETE", "/api/v1/chat/history", {"character_id": "xiaoyu"})]:
        resp = await c.http.request(method, path, params=params, headers=c.auth())
        assert resp.status_code == 503, (path, resp.text)
        assert resp.json()["error"]["code"] == "store_unavailable"
