"""The terminal client (`companion chat`) driven as a subprocess against the chat function and the
memory API, each served by uvicorn over the real stores (redis-server, moto's server, the emulator)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable

import pytest
from companion.bootstrap import Container

from infra.local.services import free_port
from tests.integration.recall.support import Seeder, fact
from tests.served_apps import ROOT, Stack, server_env


@pytest.fixture()
def servers(stack: Stack) -> tuple[str, str, dict[str, str]]:
    return stack.chat_url, stack.memory_url, server_env(stack.settings)


def run_cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "companion_cli", *args], input=stdin, env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


async def test_a_session_streams_shows_history_ends_and_reads_memory(
        servers: tuple[str, str, dict[str, str]], container_factory: Callable[..., Container]) -> None:
    chat_url, memory_url, env = servers
    user = f"cli-{uuid.uuid4().hex[:8]}"
    await Seeder(container_factory()).put(user, "xiaoyu", facts=[fact(user, "xiaoyu", "favorite_food", "火锅")])

    got = run_cli(env, "chat", "xiaoyu", "--url", chat_url, "--memory-url", memory_url, "--user", user,
                  stdin="你好，我叫小林\n/history\n/memory\n/end\n/quit\n")

    assert got.returncode == 0, got.stderr
    lines = got.stdout.splitlines()
    assert lines[0].startswith("Chatting with 小雨.")
    reply = next(line for line in lines if line.startswith("小雨> "))
    assert len(reply) > len("小雨> ")  # the offline model answered, streamed into one line
    assert any(line.endswith("you: 你好，我叫小林") for line in lines)  # /history shows the stored turn
    assert any(line.startswith("  - favorite food: 火锅") for line in lines)  # /memory
    assert "Session ended; 3 messages go to long-term memory." in lines  # the greeting and a turn


async def test_forget_deletes_the_memories(servers: tuple[str, str, dict[str, str]],
                                           container_factory: Callable[..., Container]) -> None:
    chat_url, memory_url, env = servers
    user = f"cli-{uuid.uuid4().hex[:8]}"
    container = container_factory()
    await Seeder(container).put(user, "luna", facts=[fact(user, "luna", "city", "Porto")])

    got = run_cli(env, "chat", "luna", "--url", chat_url, "--memory-url", memory_url, "--user", user,
                  stdin="/forget\n/memory\n")

    assert got.returncode == 0, got.stderr
    assert "Luna has forgotten you: 1 memories and 0 messages deleted." in got.stdout
    assert "Luna remembers nothing about you yet" in got.stdout
    assert container.memory_repo is not None
    facts, _, _ = await container.memory_repo.load(user, "luna")
    assert facts == {}


def test_a_stack_that_is_not_running_is_a_clear_error() -> None:
    port = free_port()
    got = run_cli(dict(os.environ), "chat", "xiaoyu", "--url", f"http://127.0.0.1:{port}",
                  "--memory-url", f"http://127.0.0.1:{port}", stdin="hi\n")
    assert got.returncode == 2
    assert "Companion is not reachable" in got.stderr and "make dev" in got.stderr


def test_a_deployment_needs_a_token() -> None:
    got = run_cli(dict(os.environ), "chat", "xiaoyu", "--url", "https://chat.example.com")
    assert got.returncode == 2
    assert "needs --token" in got.stderr


def test_token_prints_a_token_for_the_user() -> None:
    import jwt
    from companion.auth import LOCAL_DEV_SECRET

    env = {k: v for k, v in os.environ.items() if k != "JWT_SECRET"}
    got = run_cli(env, "token", "alice@example.com")
    claims = jwt.decode(got.stdout.strip(), LOCAL_DEV_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice@example.com"
