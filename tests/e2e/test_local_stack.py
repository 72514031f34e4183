"""The local stack end to end: start it as `make dev` does, stream a reply over HTTP, stop it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
import pytest

from infra.local.services import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc), so the test can prove none survives."""
    out: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent and int(entry.name) not in out:
                out.add(int(entry.name))
                frontier.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_make_dev_stack_streams_and_stops_cleanly(tmp_path: Path) -> None:
    port, redis_port, moto_port, os_port, api_port = (free_port() for _ in range(5))
    token_file = tmp_path / "token"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT", "REDIS_", "MEMORY_QUEUE"))}
    # A loaded 2-core CI machine can take seconds for the first query embedding; the test is
    # about the memory loop working, not about recall's latency budget (benchmarks measure that).
    env["RECALL_BUDGET_MS"] = "10000"
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "--port", str(port), "--redis-port", str(redis_port),
         "--moto-port", str(moto_port), "--opensearch-port", str(os_port),
         "--api-port", str(api_port), "--data-dir", str(tmp_path / "data"),
         "--token-file", str(token_file)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, timeout_s=120, proc=proc)  # type: ignore[arg-type]
        for _ in range(100):
            if token_file.exists() and token_file.read_text():
                break
            time.sleep(0.1)
        token = token_file.read_text()
        children = _children(proc.pid)
        assert len(children) >= 3  # redis, moto, the chat function (and what the stack adds)

        headers = {"Authorization": f"Bearer {token}"}
        url = f"http://127.0.0.1:{port}/api/v1/chat/stream"
        chunks: list[str] = []
        with httpx.Client(timeout=30) as http:
            with http.stream("POST", url, headers=headers,
                             json={"character_id": "xiaoyu", "message": "你好，我叫小林"}) as resp:
                assert resp.status_code == 200
                assert resp.headers["content-type"].startswith("text/event-stream")
                for chunk in resp.iter_text():
                    chunks.append(chunk)
            body = "".join(chunks)
            events = [json.loads(block.split("data: ", 1)[1]) for block in body.split("\n\n") if block.strip()]
            assert events[-1]["done"] is True and events[-1]["model"] == "offline"
            first_reply = "".join(e["content"] for e in events[:-1])
            assert "离线" in first_reply

            # the second message is answered with the first in context
            resp = http.post(url, headers=headers, json={"character_id": "xiaoyu", "message": "我今天有点累"})
            second = "".join(json.loads(b.split("data: ", 1)[1])["content"]
                             for b in resp.text.split("\n\n") if b.strip())
            assert "小林" in second

            # ending the session turns it into long-term memory through SQS and the worker
            end = http.post(f"http://127.0.0.1:{port}/api/v1/chat/sessions/xiaoyu/end", headers=headers)
            assert end.status_code == 200 and end.json()["messages"] == 4
            ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{moto_port}", region_name="us-east-1",
                               aws_access_key_id="local", aws_secret_access_key="local")
            facts: list[dict] = []
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not facts:
                facts = ddb.query(TableName="companion-memory", KeyConditionExpression="pk = :pk",
                                  ExpressionAttributeValues={":pk": {"S": "dev-user#xiaoyu"}})["Items"]
                time.sleep(0.5)
            names = [i for i in facts if i["sk"]["S"].startswith("FACT#") and "name" in i["sk"]["S"]]
            assert names and names[0]["value"]["S"] == "小林"
            # …and the memory API (HTTP API → Mangum) shows it to the user
            listed = http.get(f"http://127.0.0.1:{api_port}/api/v1/memory/facts", headers=headers,
                              params={"character_id": "xiaoyu"})
            assert listed.status_code == 200
            assert "小林" in listed.text
            # a new session days later: the reply uses the recalled facts
            resp = http.post(url, headers=headers, json={"character_id": "xiaoyu", "message": "你还记得我叫什么吗？"})
            done = json.loads(resp.text.strip().split("\n\n")[-1].split("data: ", 1)[1])
            assert done["memories"] >= 1, done
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in children):
        time.sleep(0.1)
    assert [p for p in children if _alive(p)] == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
    # the clean stop snapshotted moto's in-memory data, so the next start brings the facts back
    snapshot = json.loads((tmp_path / "data" / "moto" / "snapshot.json").read_text())
    assert any(i["sk"]["S"] == names[0]["sk"]["S"] for i in snapshot["tables"]["companion-memory"])


def _start_stack(tmp_path: Path, ports: tuple[int, ...], *, after: set[int] = frozenset()) -> subprocess.Popen[str]:
    """Start the stack; ``after``: processes of an earlier run that must be gone before its ports count."""
    port, redis_port, moto_port, os_port, api_port = ports
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT", "REDIS_", "MEMORY_QUEUE"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "--port", str(port), "--redis-port", str(redis_port),
         "--moto-port", str(moto_port), "--opensearch-port", str(os_port), "--api-port", str(api_port),
         "--data-dir", str(tmp_path / "data")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in after) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert [p for p in after if _alive(p)] == []  # the old run's processes no longer hold the ports
    wait_for_port(port, timeout_s=120, proc=proc)  # type: ignore[arg-type]
    wait_for_port(api_port, timeout_s=60, proc=proc)  # type: ignore[arg-type]
    return proc


def test_a_killed_stacks_leftovers_are_stopped_by_the_next_start_and_sighup_stops_cleanly(tmp_path: Path) -> None:
    """SIGKILL leaves the children running (each has its own session); the next `make dev` with the
    same data dir stops them instead of talking to them, and a closed terminal (SIGHUP) stops all."""
    ports = tuple(free_port() for _ in range(5))
    first = _start_stack(tmp_path, ports)
    pids = tmp_path / "data" / "pids.json"
    deadline = time.monotonic() + 30  # all six started: redis, moto, emulator, chat, memory API, worker
    while time.monotonic() < deadline and len(json.loads(pids.read_text() or "[]")) < 6:
        time.sleep(0.1)
    orphans = _children(first.pid)
    assert len(orphans) >= 6
    first.kill()
    first.wait(timeout=10)
    assert any(_alive(p) for p in orphans)  # still serving the ports

    second = _start_stack(tmp_path, ports, after=orphans)
    try:
        assert second.poll() is None
        children = _children(second.pid)
    finally:
        second.send_signal(signal.SIGHUP)
        try:
            out, _ = second.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            second.kill()
            raise
    assert "previous run left behind" in out
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in children):
        time.sleep(0.1)
    assert [p for p in children if _alive(p)] == []
    assert not (tmp_path / "data" / "pids.json").exists()


def test_a_port_taken_by_another_program_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    ports = tuple(free_port() for _ in range(5))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports[2]))  # the redis port
        squatter.listen()
        proc = subprocess.run(
            [sys.executable, "-m", "infra.local", "--port", str(ports[0]), "--redis-port", str(ports[2]),
             "--moto-port", str(ports[1]), "--opensearch-port", str(ports[3]), "--api-port", str(ports[4]),
             "--data-dir", str(tmp_path / "data")],
            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert f"port already in use: redis :{ports[2]}" in proc.stdout + proc.stderr
