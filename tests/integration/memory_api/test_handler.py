"""The Mangum handler driven by the sample API Gateway v2 events in events/, and the local HTTP API
(infra/local/http_api.py) that turns real HTTP requests into those events."""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from companion.auth import issue_token
from companion.bootstrap import build_container
from companion.config import Settings, get_settings

from infra.local.http_api import HttpApiServer, LambdaContext, routes_from_template
from tests.integration.recall.support import Seeder, fact
from tests.unit.cards.samples import pixels, text_chunks, v3_card

from .conftest import JWT_SECRET
from .test_cards import png_card

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "events"


def load_event(name: str, token: str, *, path: str | None = None) -> dict[str, Any]:
    event = json.loads((EVENTS / f"{name}.json").read_text())
    event["headers"]["authorization"] = f"Bearer {token}"
    if path:  # fill a placeholder id in the path
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
    return event


class LambdaRuntime:
    """Invokes a handler the way the Lambda runtime does: one thread, one loop kept between invocations."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, initializer=lambda: asyncio.set_event_loop(
            asyncio.new_event_loop()))

    def invoke(self, handler: Callable[..., Any], event: dict[str, Any]) -> dict[str, Any]:
        return self._pool.submit(handler, copy.deepcopy(event), LambdaContext("MemoryApiFunction")).result(60)

    def run(self, coro_fn: Callable[[], Any]) -> Any:
        return self._pool.submit(lambda: asyncio.get_event_loop().run_until_complete(coro_fn())).result(120)

    def close(self) -> None:
        self._pool.shutdown()


@pytest.fixture(scope="module")
def lambda_env(redis_url: str, moto_endpoint: str, memory_resources: dict[str, str], opensearch_url: str
               ) -> Iterator[dict[str, str]]:
    env = {"APP_ENV": "test", "REDIS_URL": redis_url, "AWS_ENDPOINT_URL": moto_endpoint,
           "OPENSEARCH_URL": opensearch_url, "OPENSEARCH_INDEX": "ltm-recall-tests",
           "MEMORY_QUEUE_URL": memory_resources["memory_queue_url"], "JWT_SECRET": JWT_SECRET, "LLM_CHAIN": "[]",
           "RECALL_BUDGET_MS": "8000"}
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    get_settings.cache_clear()
    yield env
    mp.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def runtime(lambda_env: dict[str, str]) -> Iterator[LambdaRuntime]:
    rt = LambdaRuntime()
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def handler(runtime: LambdaRuntime) -> Callable[..., Any]:
    """functions/memory_api/app.py loaded fresh, as a new execution environment would."""
    name = f"memory_api_app_{uuid.uuid4().hex[:6]}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / "memory_api" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.handler


def seed(runtime: LambdaRuntime, user_id: str, character_id: str, value: str) -> str:
    job = fact(user_id, character_id, "job", value)

    async def go() -> None:
        c = build_container(Settings())
        try:
            await Seeder(c).put(user_id, character_id, facts=[job])
        finally:
            await c.aclose()
    runtime.run(go)
    return job.fact_id


def body(resp: dict[str, Any]) -> Any:
    return json.loads(resp["body"])


def test_sample_events_drive_the_handler(runtime: LambdaRuntime, handler: Callable[..., Any]) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    token = issue_token(JWT_SECRET, user)
    seed(runtime, user, "default", "程序员")

    resp = runtime.invoke(handler, load_event("memory_api_list_facts", token))
    assert resp["statusCode"] == 200, resp
    assert [i["value"] for i in body(resp)["items"]] == ["程序员"]

    resp = runtime.invoke(handler, load_event("memory_api_recall", token))
    assert resp["statusCode"] == 200, resp
    assert body(resp)["language"] == "zh" and "memories" in body(resp)

    resp = runtime.invoke(handler, load_event("memory_api_list_characters", token))
    assert resp["statusCode"] == 200 and {"xiaoyu", "luna"} <= {c["character_id"] for c in body(resp)["characters"]}

    resp = runtime.invoke(handler, load_event("memory_api_chat_history", token))
    assert resp["statusCode"] == 200 and body(resp)["messages"] == []

    resp = runtime.invoke(handler, load_event("memory_api_import_character", token))
    assert resp["statusCode"] == 201 and body(resp)["name"] == "Aria" and body(resp)["owner_id"] == user

    resp = runtime.invoke(handler, load_event("memory_api_export", token))
    assert resp["statusCode"] == 200 and body(resp)["user_id"] == user


def test_item_events_edit_delete_and_forget(runtime: LambdaRuntime, handler: Callable[..., Any]) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    token = issue_token(JWT_SECRET, user)
    item = seed(runtime, user, "xiaoyu", "程序员")
    path = f"/api/v1/memory/items/{item}"

    other = runtime.invoke(handler, load_event("memory_api_patch_item", issue_token(JWT_SECRET, user + "x"),
                                               path=path))
    assert other["statusCode"] == 404 and body(other)["error"]["code"] == "not_found"
    resp = runtime.invoke(handler, load_event("memory_api_patch_item", token, path=path))
    assert resp["statusCode"] == 200 and body(resp)["value"] == "设计师"
    resp = runtime.invoke(handler, load_event("memory_api_list_events", token))
    assert resp["statusCode"] == 200 and body(resp)["items"] == []
    resp = runtime.invoke(handler, load_event("memory_api_delete_item", token, path=path))
    assert resp["statusCode"] == 200 and body(resp)["deleted"] is True

    seed(runtime, user, "xiaoyu", "老师")
    resp = runtime.invoke(handler, load_event("memory_api_forget_character", token))
    assert resp["statusCode"] == 200 and body(resp)["deleted"]["memories"] == 1


def test_handler_errors_and_missing_token(runtime: LambdaRuntime, handler: Callable[..., Any]) -> None:
    event = load_event("memory_api_list_facts", "x")
    del event["headers"]["authorization"]
    resp = runtime.invoke(handler, event)
    assert resp["statusCode"] == 401 and set(body(resp)["error"]) == {"code", "message"}
    event = load_event("memory_api_recall", issue_token(JWT_SECRET, "u-bad"))
    event["body"] = "{broken"
    resp = runtime.invoke(handler, event)
    assert resp["statusCode"] == 400 and body(resp)["error"]["code"] == "malformed_json"


def test_routes_follow_the_template() -> None:
    keys = {r.route_key for r in routes_from_template()}
    assert {"ANY /api/v1/memory/{proxy+}", "ANY /api/v1/characters", "ANY /api/v1/characters/{proxy+}",
            "ANY /api/v1/chat/history"} <= keys


def test_local_http_api_serves_the_routes_through_the_handler(lambda_env: dict[str, str]) -> None:
    server = HttpApiServer(port=0)
    url = server.start()
    try:
        user = f"u-{uuid.uuid4().hex[:8]}"
        headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, user)}"}
        with httpx.Client(base_url=url, timeout=60) as http:
            r = http.get("/api/v1/characters", headers=headers)
            assert r.status_code == 200 and any(c["character_id"] == "luna" for c in r.json()["characters"])
            r = http.post("/api/v1/characters", headers=headers, json={"name": "Momo"})
            assert r.status_code == 201, r.text
            cid = r.json()["character_id"]
            r = http.get(f"/api/v1/characters/{cid}", headers=headers)
            assert r.status_code == 200 and r.json()["owner_id"] == user
            r = http.get("/api/v1/memory/facts", params={"character_id": "xiaoyu", "limit": 5}, headers=headers)
            assert r.status_code == 200 and r.json()["items"] == []
            r = http.post("/api/v1/memory/recall", headers=headers,
                          json={"character_id": "luna", "query": "What's my favorite food?"})
            assert r.status_code == 200 and r.json()["language"] == "en"
            r = http.get("/api/v1/memory/facts", params={"character_id": "xiaoyu"})
            assert r.status_code == 401 and r.json()["error"]["code"] == "missing_token"
            r = http.get("/api/v1/not-a-route", headers=headers)
            assert r.status_code == 404 and r.json() == {"message": "Not Found"}

            # A PNG card as the raw body (base64 in the v2 event), and the exported PNG back (base64 in the result).
            image = png_card(v3_card())
            r = http.post("/api/v1/characters/import", content=image, headers={**headers, "Content-Type": "image/png"})
            assert r.status_code == 201, r.text
            assert r.json()["has_avatar"] is True and r.json()["name"] == "林月"
            out = http.get(f"/api/v1/characters/{r.json()['character_id']}/card", params={"format": "png"},
                           headers=headers)
            assert out.status_code == 200 and out.headers["content-type"] == "image/png"
            assert pixels(out.content) == pixels(image) and set(text_chunks(out.content)) == {"ccv3", "chara"}
            assert out.headers["content-disposition"].startswith("attachment; filename=")
    finally:
        server.stop()


def test_local_http_api_serves_the_docs_through_the_handler(lambda_env: dict[str, str]) -> None:
    """Locally only: template.yaml routes no docs path, the local HTTP API adds them (infra/local/http_api.py)."""
    server = HttpApiServer(port=0)
    url = server.start()
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            r = http.get("/openapi.json")
            assert r.status_code == 200 and "requestBody" in r.json()["paths"]["/api/v1/memory/recall"]["post"]
            page = http.get("/docs")
            assert page.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in page.text
            css = http.get("/docs/assets/swagger-ui.css")
            assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
            icon = http.get("/docs/assets/favicon-32x32.png")  # binary: base64 through the v2 event and back
            assert icon.status_code == 200 and icon.content.startswith(b"\x89PNG")
    finally:
        server.stop()

