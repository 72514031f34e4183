"""The chat app's OpenAPI document and docs page, and its import staying light."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

from tests.served_apps import ROOT

from .conftest import Served


def test_openapi_describes_the_chat_and_openai_routes(chat_server: Served) -> None:
    spec = httpx.get(f"{chat_server.url}/openapi.json", timeout=30).json()
    assert spec["openapi"].startswith("3.1")
    assert {"/api/v1/chat/stream", "/api/v1/chat/history", "/v1/models", "/v1/chat/completions"} <= set(spec["paths"])
    body = spec["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schemas = spec["components"]["schemas"]
    request = schemas[body["$ref"].rsplit("/", 1)[1]]
    assert {"model", "messages", "stream", "companion"} <= set(request["properties"])
    assert request["examples"][0]["model"] == "xiaoyu"
    assert "history" in schemas["CompanionOptions"]["properties"]
    page = httpx.get(f"{chat_server.url}/docs", timeout=30)
    assert page.status_code == 200 and "swagger-ui" in page.text


def test_importing_the_chat_app_loads_neither_fastapi_nor_the_openai_sdk_nor_the_v1_models() -> None:
    heavy = ("fastapi", "openai", "companion.api.chat_openapi", "companion.api.openai_models", "PIL")
    code = f"import sys, json, companion.api.chat_app; print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "companion"), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []
