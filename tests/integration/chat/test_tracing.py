"""CHAT_TRACING: the chat app under the web adapter sends X-Ray subsegments of the invocation's trace.

The app runs as its own uvicorn process with the environment Lambda gives it (LAMBDA_TASK_ROOT,
the daemon address); a UDP socket plays the X-Ray daemon, so what would reach X-Ray is checked.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

import httpx
from companion.auth import issue_token

from infra.local.services import ManagedProcess, free_port

from .conftest import JWT_SECRET

ROOT = Path(__file__).resolve().parents[3]
ROOT_ID, PARENT = "1-6740a1b2-0123456789abcdef01234567", "53995c3f42cd8ad8"


def _segments(udp: socket.socket, names: set[str], timeout_s: float) -> list[dict]:
    found: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not names <= {s.get("name") for s in found}:
        try:
            data = udp.recv(65536).decode()
        except TimeoutError:
            continue
        found.append(json.loads(data.split("\n", 1)[1]))  # '{"format": "json", "version": 1}\n{segment}'
    return found


def test_chat_turn_phases_reach_xray_under_the_invocations_trace(
        redis_url: str, moto_endpoint: str, aws_resources: dict[str, str], tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(0.2)
        port = free_port()
        # ManagedProcess starts from this process's environment (where the test suite turns tracing off).
        env = {"POWERTOOLS_TRACE_DISABLED": "false"}
        env.update({
            "LAMBDA_TASK_ROOT": str(tmp_path), "AWS_LAMBDA_FUNCTION_NAME": "companion-chat-test",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{udp.getsockname()[1]}", "CHAT_TRACING": "true",
            "APP_ENV": "test", "REDIS_URL": redis_url, "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
            "MEMORY_QUEUE_URL": aws_resources["memory_queue_url"], "JWT_SECRET": JWT_SECRET,
            "EMBEDDING_PROVIDER": "none", "OPENSEARCH_URL": "http://127.0.0.1:9",  # index down: recall degrades
            "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "companion"), str(ROOT)])})
        chat = ManagedProcess("chat", [sys.executable, "-m", "uvicorn", "app:app", "--app-dir",
                                       str(ROOT / "functions" / "chat"), "--host", "127.0.0.1", "--port", str(port)],
                              port, env=env, log_path=tmp_path / "chat.log").start(timeout_s=60)
        try:
            resp = httpx.post(f"http://127.0.0.1:{port}/api/v1/chat/stream", timeout=30,
                              json={"character_id": "luna", "message": "Do you remember my favorite food?"},
                              headers={"Authorization": f"Bearer {issue_token(JWT_SECRET, 'u-traced')}",
                                       "X-Amzn-Trace-Id": f"Root={ROOT_ID};Parent={PARENT};Sampled=1"})
            assert resp.status_code == 200 and '"done": true' in resp.text
            found = _segments(udp, {"recall", "model", "persist"}, timeout_s=10)
        finally:
            chat.stop()
    phases = {s["name"]: s for s in found if s.get("name") in ("recall", "model", "persist")}
    assert set(phases) == {"recall", "model", "persist"}, [s.get("name") for s in found]
    for seg in phases.values():
        assert seg["trace_id"] == ROOT_ID and seg["parent_id"] == PARENT and seg["type"] == "subsegment"
        assert seg["end_time"] >= seg["start_time"]
    assert all(s["trace_id"] == ROOT_ID for s in found)  # botocore/redis calls too, all in this trace
