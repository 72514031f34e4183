"""The chat function served by uvicorn over the shared stores (redis-server, moto's server, the OpenSearch
emulator), its model the fake OpenAI-compatible LLM server, driven from outside as SDKs and front-ends do.

One server per module (tests keep apart by user ids); ``serve`` starts another with other settings.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from companion.auth import issue_token
from companion.config import Settings

from infra.fake_llm import FakeLLMServer
from infra.local.services import free_port, wait_for_port
from tests.fixtures.stores import JWT_SECRET
from tests.served_apps import ROOT, server_env

MODEL = "primary"  # the fake LLM's model name in the chain


@dataclass
class Served:
    url: str

    def token(self, user_id: str) -> str:
        return issue_token(JWT_SECRET, user_id)

    def sdk(self, user_id: str, **kw: Any) -> openai.AsyncOpenAI:
        """The openai SDK as an app would use it; no retries unless asked (a retry would hide a status)."""
        return openai.AsyncOpenAI(base_url=f"{self.url}/v1", api_key=self.token(user_id),
                                  **{"max_retries": 0, "timeout": 30, **kw})

    def history(self, user_id: str, character_id: str) -> list[tuple[str, str]]:
        """The conversation as the chat app's history API shows it: (role, content), oldest first."""
        resp = httpx.get(f"{self.url}/api/v1/chat/history", params={"character_id": character_id},
                         headers={"Authorization": f"Bearer {self.token(user_id)}"}, timeout=30)
        assert resp.status_code == 200, resp.text
        return [(m["role"], m["content"]) for m in resp.json()["messages"]]


@contextlib.contextmanager
def served_chat(settings: Settings, fake_llm: FakeLLMServer, **env: str) -> Iterator[Served]:
    chain = [{"name": MODEL, "provider": "openai", "model": MODEL, "base_url": fake_llm.base_url, "api_key": "k"}]
    # A high breaker threshold: the failure tests must not open the fake model's breaker for the others.
    environ = server_env(settings, LLM_CHAIN=json.dumps(chain), BREAKER_FAILURE_THRESHOLD="1000", **env)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "companion.api.chat_app:create_app", "--factory", "--port", str(port),
         "--log-level", "warning"], cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, timeout_s=60, proc=proc)  # type: ignore[arg-type]
        yield Served(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def base_settings(redis_url: str, moto_endpoint: str, memory_resources: dict[str, str],
                  opensearch_url: str) -> Settings:
    return Settings(app_env="test", redis_url=redis_url, aws_endpoint_url=moto_endpoint, opensearch_url=opensearch_url,
                    opensearch_index="ltm-openai-api-tests", memory_queue_url=memory_resources["memory_queue_url"],
                    jwt_secret=JWT_SECRET)


@pytest.fixture(scope="module")
def chat_server(base_settings: Settings, fake_llm_server: FakeLLMServer) -> Iterator[Served]:
    with served_chat(base_settings, fake_llm_server) as served:
        yield served


@pytest.fixture()
def serve(base_settings: Settings, fake_llm_server: FakeLLMServer) -> Iterator[Callable[..., Served]]:
    """Another chat server, with environment overrides (e.g. a rate limit of one message a minute)."""
    with contextlib.ExitStack() as stack:
        yield lambda **env: stack.enter_context(served_chat(base_settings, fake_llm_server, **env))


@pytest.fixture()
def user() -> str:
    return f"oa-{uuid.uuid4().hex[:10]}"
