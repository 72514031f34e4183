"""Bad input gets a clear 4xx with a machine-readable code, and changes nothing."""

from __future__ import annotations

import pytest

from .conftest import ChatClient

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
