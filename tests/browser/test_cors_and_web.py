"""CORS exactly as template.yaml configures it, the page's files, and local sign-in (no browser needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from companion.api.chat_app import create_app as create_chat_app
from companion.api.cors import CHAT_FUNCTION_URL, HTTP_API
from companion.api.memory_api.app import create_app as create_memory_app
from companion.config import Settings
from samtranslator.yaml_helper import yaml_parse
from starlette.testclient import TestClient

from tests.integration.recall.conftest import JWT_SECRET

from .conftest import ROOT, Stack

TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))


def _template_cors() -> dict[str, dict[str, Any]]:
    res = TEMPLATE["Resources"]
    return {"chat": res["ChatFunction"]["Properties"]["FunctionUrlConfig"]["Cors"],
            "memory": res["HttpApi"]["Properties"]["CorsConfiguration"]}


@pytest.mark.parametrize(("name", "rules"), [("chat", CHAT_FUNCTION_URL), ("memory", HTTP_API)])
def test_the_apps_cors_rules_are_the_templates(name: str, rules: Any) -> None:
    cors = _template_cors()[name]
    assert list(rules.methods) == cors["AllowMethods"]
    assert list(rules.headers) == cors["AllowHeaders"]
    assert list(rules.expose) == cors["ExposeHeaders"]
    assert rules.max_age == cors["MaxAge"]
    assert cors["AllowOrigins"] == {"Ref": "AllowedOrigins"}
    assert "AllowCredentials" not in cors  # false, as the middleware is configured
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert env["CORS_ALLOW_ORIGINS"] == {"Fn::Join": [",", {"Ref": "AllowedOrigins"}]}


def _preflight(url: str, method: str, headers: str = "authorization,content-type",
               origin: str = "https://chat.example.com") -> httpx.Response:
    return httpx.options(url, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                       "Access-Control-Request-Headers": headers})


def test_both_apps_answer_a_preflight_as_the_template_configures(stack: Stack) -> None:
    for url, rules, method in [(f"{stack.chat_url}/api/v1/chat/stream", CHAT_FUNCTION_URL, "POST"),
                               (f"{stack.memory_url}/api/v1/memory/items/x", HTTP_API, "PATCH")]:
        got = _preflight(url, method)
        assert got.status_code == 200, got.text
        assert got.headers["access-control-allow-origin"] == "*"  # AllowedOrigins' default
        assert [m.strip() for m in got.headers["access-control-allow-methods"].split(",")] == list(rules.methods)
        assert set(got.headers["access-control-allow-headers"].lower().replace(" ", "").split(",")) >= \
            set(rules.headers)
        assert got.headers["access-control-max-age"] == "600"
        assert "access-control-allow-credentials" not in got.headers
    # What the template does not allow is refused: PATCH on the Function URL, an unlisted header.
    assert _preflight(f"{stack.chat_url}/api/v1/chat/stream", "PATCH").status_code == 400
    assert _preflight(f"{stack.memory_url}/api/v1/characters", "GET", headers="x-custom").status_code == 400
    # A real (non-preflight) response carries the origin and exposes Retry-After.
    got = httpx.get(f"{stack.memory_url}/api/v1/characters", headers={"Origin": "https://chat.example.com"})
    assert got.status_code == 401
    assert got.headers["access-control-allow-origin"] == "*"
    assert "retry-after" in got.headers["access-control-expose-headers"].lower()


def test_a_listed_origin_is_allowed_and_another_is_not() -> None:
    settings = Settings(app_env="test", cors_allow_origins="https://chat.example.com, https://app.example.com")
    for app in (create_chat_app(_lazy(settings)), create_memory_app(_lazy(settings))):
        with TestClient(app) as client:
            ok = client.options("/api/v1/chat/history", headers={
                "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
            assert ok.status_code == 200
            assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
            bad = client.options("/api/v1/chat/history", headers={
                "Origin": "https://evil.example.net", "Access-Control-Request-Method": "GET"})
            assert bad.status_code == 400
            assert "access-control-allow-origin" not in bad.headers


class _lazy:  # stands in for a Container: these requests never reach a store
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def aclose(self) -> None:
        return None


def test_the_page_is_served_and_the_api_still_answers_as_before(stack: Stack) -> None:
    page = httpx.get(f"{stack.chat_url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="app.js">' in page.text
    assert httpx.get(f"{stack.chat_url}/config.js").status_code == 200
    # The page's files are the fallback: the API's own answers do not change.
    wrong_method = httpx.get(f"{stack.chat_url}/api/v1/chat/stream")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"
    missing = httpx.get(f"{stack.chat_url}/nope.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_dev_token_signs_any_name_with_the_verifiers_key_and_refuses_bad_ones(stack: Stack) -> None:
    for name in ["小林", "Sam", "Zoë O'Neil", "a" * 64]:
        got = httpx.post(f"{stack.chat_url}/dev/token", json={"user": name})
        assert got.status_code == 200, got.text
        claims = jwt.decode(got.json()["token"], JWT_SECRET, algorithms=["HS256"])
        assert claims["sub"] == name
        # The chat app accepts it: the history of a fresh user is empty, not a 401.
        history = httpx.get(f"{stack.chat_url}/api/v1/chat/history", params={"character_id": "luna"},
                            headers={"Authorization": f"Bearer {got.json()['token']}"})
        assert history.status_code == 200 and history.json()["messages"] == []
    for body in [{"user": ""}, {"user": "   "}, {"user": "a" * 65}, {"user": "bad\nname"}, {"user": 7},
                 {"name": "x"}]:
        got = httpx.post(f"{stack.chat_url}/dev/token", json=body)
        assert got.status_code == 422, body
        assert got.json()["error"]["code"] == "invalid_request"


def test_dev_token_exists_only_in_local_mode(tmp_path: Path) -> None:
    for env, status in (("prod", 404), ("dev", 404), ("local", 200)):
        settings = Settings(app_env=env, jwt_secret="s3cret-for-this-test", web_root="")
        with TestClient(create_chat_app(_lazy(settings))) as client:  # type: ignore[arg-type]
            got = client.post("/dev/token", json={"user": "mallory"})
            assert got.status_code == status, (env, got.text)


def test_a_wrong_web_root_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        create_chat_app(_lazy(Settings(app_env="test", web_root=str(tmp_path / "missing"))))  # type: ignore[arg-type]
