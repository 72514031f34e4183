"""The container's command run as a process here, as the image would run it (Docker is not available on
these machines): the Dockerfile's CMD verbatim, its final stage's ENV with the image's two paths mapped
onto this checkout (/venv/bin -> this venv, /app -> the package and infra/container), and the stores of
the tests (redis-server, moto's server, the OpenSearch emulator, the fake model) where the task
definition would give the AWS endpoints. What this does not show: the image builds, runs as uid 10001
on arm64 Python 3.12, and that ECS and the load balancer send SIGTERM only after draining.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from companion.auth import issue_token
from companion.config import Settings

from infra.container import dockerfile
from infra.fake_llm import FakeLLMServer
from infra.local.services import free_port
from tests.fixtures.stores import JWT_SECRET
from tests.served_apps import server_env

ROOT = Path(__file__).resolve().parents[2]
IMAGE = dockerfile.load(ROOT / "Dockerfile")
# Where the image's directories are in this checkout (the Dockerfile's COPY lines; checked in
# test_container_dockerfile.py).
IMAGE_PATHS = {"/venv/bin": str(Path(sys.executable).parent),
               "/app": os.pathsep.join([str(ROOT / "layers" / "companion"), str(ROOT)])}
SLOW = "container-slow"
# More than 8 words: the fake model streams the echo in 8 pieces, one every CHUNK_DELAY_S.
MESSAGE = "tell me a story about the sea and the stars 请讲 一个 关于 大海 的 故事"
CHUNK_DELAY_S = 0.6


def image_env() -> dict[str, str]:
    """The final stage's ENV as it would be inside the image, its paths mapped onto this checkout."""
    env: dict[str, str] = {}
    for key, value in IMAGE.final.env().items():
        parts = []
        for part in value.split(":"):
            if part.startswith("$"):
                parts.append(os.environ.get(part[1:], ""))
            elif part.startswith("/"):
                assert part in IMAGE_PATHS, f"ENV {key}: no local stand-in for the image path {part}"
                parts.append(IMAGE_PATHS[part])
            else:
                parts.append(part)
        env[key] = ":".join(parts)
    return env


def container_env(settings: Settings, **extra: str) -> dict[str, str]:
    # The image has no web page (the chat function has none either).
    return {**server_env(settings, WEB_ROOT=""), **image_env(), **extra}


def healthcheck_command() -> list[str]:
    (ins,) = IMAGE.final.all("HEALTHCHECK")
    _, _, command = ins.args.partition(" CMD ")
    value: list[str] = json.loads(command)
    return value


class Container:
    """The entrypoint as a process, its output in a file (shown when a test fails)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log_path = env, log
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        # The command as written: Popen finds "python" on the PATH of ``env``, as the image would.
        venv_python = shutil.which("python", path=IMAGE_PATHS["/venv/bin"])
        assert shutil.which(IMAGE.command()[0], path=env["PATH"]) == venv_python
        self.log = log.open("wb")
        self.proc = subprocess.Popen(IMAGE.command(), cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_healthy(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"exited with {self.proc.returncode}:\n{self.output()}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"/health did not answer within {timeout_s}s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture()
def start(tmp_path: Path) -> Iterator[Callable[..., Container]]:
    started: list[Container] = []

    def run(env: dict[str, str]) -> Container:
        c = Container(env, tmp_path / f"container-{len(started)}.log")
        started.append(c)
        return c

    yield run
    for c in started:
        c.stop()


@pytest.fixture()
def slow_model(fake_llm: FakeLLMServer) -> str:
    fake_llm.configure(SLOW, mode="slow", first_token_delay_s=0.3, chunk_delay_s=CHUNK_DELAY_S, chunks=8)
    chain = [{"name": SLOW, "provider": "openai", "model": SLOW, "base_url": fake_llm.base_url, "api_key": "k"}]
    return json.dumps(chain)


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    event = ""
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])


def test_sigterm_mid_stream_finishes_the_stream_refuses_new_connections_and_exits_0(
        start: Callable[..., Container], recall_settings: Callable[..., Settings], slow_model: str) -> None:
    settings = recall_settings()
    env = container_env(settings, PORT=str(free_port()), LLM_CHAIN=slow_model,
                        LLM_FIRST_TOKEN_TIMEOUT_S="10", LLM_STREAM_IDLE_TIMEOUT_S="10")
    assert env["APP_ROLE"] == "chat"  # the image's default role
    graceful_s = float(env["GRACEFUL_SHUTDOWN_S"])
    chat = start(env)
    chat.wait_healthy()
    user = f"u-{uuid.uuid4().hex[:10]}"
    headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, user)}"}
    events: list[tuple[str, dict[str, Any]]] = []
    signalled_at = refused_at = done_at = 0.0
    with httpx.Client(base_url=chat.url, headers=headers, timeout=30) as http, http.stream(
            "POST", "/api/v1/chat/stream", json={"character_id": "xiaoyu", "message": MESSAGE}) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream")
        for event, data in sse_events(resp.iter_lines()):
            events.append((event, data))
            if event == "message" and data["done"]:
                done_at = time.monotonic()
            if signalled_at == 0 and event == "message" and not data["done"]:
                chat.proc.send_signal(signal.SIGTERM)  # the first token is out: the stream is open
                signalled_at = time.monotonic()
                while not refused(chat.port) and time.monotonic() - signalled_at < 3:
                    time.sleep(0.05)
                refused_at = time.monotonic()
                assert refused(chat.port), "a new connection was accepted after SIGTERM"
    assert signalled_at, f"no token before the stream ended: {events}"
    assert events[-1][0] == "message" and events[-1][1]["done"], f"the stream did not finish: {events[-3:]}"
    assert not any(e == "error" for e, _ in events), events
    reply = "".join(d["content"] for e, d in events if e == "message" and not d["done"])
    assert reply == f"echo: {MESSAGE}"
    assert refused_at < done_at, "the stream had already ended when new connections were refused"
    rc = chat.proc.wait(timeout=graceful_s + 10)
    exited_at = time.monotonic()
    assert rc == 0, chat.output()
    assert exited_at - done_at < 10, "the process waited on after its last stream ended"
    assert "timeout graceful shutdown exceeded" not in chat.output()

    # The turn was stored before the done event: the memory API (the same command, the other role)
    # shows both messages.
    api = start({**env, "APP_ROLE": "memory_api", "PORT": str(free_port())})
    api.wait_healthy()
    history = httpx.get(f"{api.url}/api/v1/chat/history", params={"character_id": "xiaoyu"}, headers=headers,
                        timeout=30)
    assert history.status_code == 200, history.text
    contents = [m["content"] for m in history.json()["messages"]]
    assert contents[-2:] == [MESSAGE, f"echo: {MESSAGE}"], contents
    api.proc.send_signal(signal.SIGTERM)
    assert api.proc.wait(timeout=graceful_s + 10) == 0, api.output()


def test_a_stream_longer_than_the_grace_period_is_cut_and_the_process_still_exits_in_time(
        start: Callable[..., Container], recall_settings: Callable[..., Settings], slow_model: str) -> None:
    """The bound ECS's stopTimeout relies on: at most GRACEFUL_SHUTDOWN_S after SIGTERM, the process
    is gone even if a stream is still open (then it is cancelled, without its done event)."""
    settings = recall_settings()
    grace_s = 1
    chat = start(container_env(settings, PORT=str(free_port()), LLM_CHAIN=slow_model, GRACEFUL_SHUTDOWN_S=str(grace_s),
                               LLM_FIRST_TOKEN_TIMEOUT_S="10", LLM_STREAM_IDLE_TIMEOUT_S="10"))
    chat.wait_healthy()
    headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, f'u-{uuid.uuid4().hex[:10]}')}"}
    events: list[tuple[str, dict[str, Any]]] = []
    signalled_at = 0.0
    with contextlib.suppress(httpx.HTTPError), httpx.Client(base_url=chat.url, headers=headers, timeout=30) as http, \
            http.stream("POST", "/api/v1/chat/stream", json={"character_id": "xiaoyu", "message": MESSAGE}) as resp:
        for event, data in sse_events(resp.iter_lines()):
            events.append((event, data))
            if not signalled_at:
                chat.proc.send_signal(signal.SIGTERM)
                signalled_at = time.monotonic()
    assert signalled_at, events
    rc = chat.proc.wait(timeout=grace_s + 15)
    assert rc == 0, chat.output()
    # The remaining pieces take several CHUNK_DELAY_S longer than the grace period.
    assert time.monotonic() - signalled_at < grace_s + 3 * CHUNK_DELAY_S + 2, chat.output()
    assert not any(e == "message" and d["done"] for e, d in events), "the stream was not cut"
    assert "timeout graceful shutdown exceeded" in chat.output()


def test_the_health_check_command(start: Callable[..., Container], recall_settings: Callable[..., Settings]) -> None:
    """The image's HEALTHCHECK (and the task definition's) as a command: 0 while /health answers 200, 1 when
    nothing listens; an idle service stops at once on SIGTERM with 0."""
    env = container_env(recall_settings(), PORT=str(free_port()))
    command = healthcheck_command()
    assert subprocess.run(command, cwd=ROOT, env=env, timeout=30, check=False).returncode == 1  # not started yet
    chat = start(env)
    chat.wait_healthy()
    assert httpx.get(f"{chat.url}/health", timeout=5).json() == {"status": "ok"}
    assert subprocess.run(command, cwd=ROOT, env=env, timeout=30, check=False).returncode == 0
    started = time.monotonic()
    chat.proc.send_signal(signal.SIGTERM)
    assert chat.proc.wait(timeout=15) == 0, chat.output()
    assert time.monotonic() - started < 5
    assert subprocess.run(command, cwd=ROOT, env=env, timeout=30, check=False).returncode == 1


def test_an_unknown_role_fails_to_start(recall_settings: Callable[..., Settings]) -> None:
    env = container_env(recall_settings(), PORT=str(free_port()), APP_ROLE="worker")
    done = subprocess.run(IMAGE.command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "APP_ROLE must be one of" in done.stderr
