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
import redis

from infra.local.services import wait_for_port
from tests.fixtures.local_stack import ROOT, alive, descendants, free_ports, launch, still_running, stop, wait_up

pytestmark = pytest.mark.e2e


def test_make_dev_stack_streams_and_stops_cleanly(tmp_path: Path) -> None:
    ports = free_ports()
    port, _, moto_port, _, api_port = ports
    # A loaded 2-core CI machine can take seconds for the first query embedding; the test is
    # about the memory loop working, not about recall's latency budget (benchmarks measure that).
    proc = launch(tmp_path / "data", ports, RECALL_BUDGET_MS="10000")
    try:
        token = wait_up(tmp_path / "data", proc, set())
        children = descendants(proc.pid)
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
            assert end.status_code == 200 and end.json()["messages"] == 5  # the greeting and two turns
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
        stop(proc, timeout_s=30)
    assert still_running(children, timeout_s=10) == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
    # the clean stop snapshotted moto's in-memory data, so the next start brings the facts back
    snapshot = json.loads((tmp_path / "data" / "moto" / "snapshot.json").read_text())
    assert any(i["sk"]["S"] == names[0]["sk"]["S"] for i in snapshot["tables"]["companion-memory"])


def _recorded(tmp_path: Path) -> dict[str, int]:
    data = json.loads((tmp_path / "data" / "pids.json").read_text())
    return {row["name"]: row["pid"] for row in data["processes"]}


def _turn(http: httpx.Client, port: int, token: str, message: str) -> dict:
    resp = http.post(f"http://127.0.0.1:{port}/api/v1/chat/stream", headers={"Authorization": f"Bearer {token}"},
                     json={"character_id": "xiaoyu", "message": message})
    assert resp.status_code == 200, resp.text
    return json.loads(resp.text.strip().split("\n\n")[-1].split("data: ", 1)[1])


def _facts(http: httpx.Client, api_port: int, token: str) -> str:
    resp = http.get(f"http://127.0.0.1:{api_port}/api/v1/memory/facts", headers={"Authorization": f"Bearer {token}"},
                    params={"character_id": "xiaoyu"})
    assert resp.status_code == 200, resp.text
    return resp.text


@pytest.mark.timeout(300)  # three starts of the whole stack, each warming every chat worker
def test_the_stack_keeps_the_users_data_through_a_second_start_signals_and_a_crash(tmp_path: Path,
                                                                                   reaper: set[int]) -> None:
    """Items 12-15 of issue 9 in one life of a data dir (three starts, to keep the suite short)."""
    ports = free_ports()
    port, redis_port, _, _, api_port = ports
    first = launch(tmp_path / "data", ports, ignore_sigint=True, LOCAL_SNAPSHOT_INTERVAL_S="1")
    with httpx.Client(timeout=60) as http:
        try:
            token = wait_up(tmp_path / "data", first, reaper)
            assert _turn(http, port, token, "你好，我叫小林")["done"] is True
            end = http.post(f"http://127.0.0.1:{port}/api/v1/chat/sessions/xiaoyu/end",
                            headers={"Authorization": f"Bearer {token}"})
            assert end.status_code == 200
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and "小林" not in _facts(http, api_port, token):
                time.sleep(0.5)
            assert "小林" in _facts(http, api_port, token)
            children = descendants(first.pid)
            assert len(children) >= 6

            # A second start in the same data dir refuses, stops nothing, and the first keeps serving.
            other = free_ports()
            second = subprocess.run(
                [sys.executable, "-m", "infra.local", "--port", str(other[0]), "--redis-port", str(other[1]),
                 "--moto-port", str(other[2]), "--opensearch-port", str(other[3]), "--api-port", str(other[4]),
                 "--data-dir", str(tmp_path / "data")], cwd=ROOT, capture_output=True, text=True, timeout=60)
            assert second.returncode != 0
            assert f"already running (pid {first.pid})" in second.stderr + second.stdout
            assert all(alive(p) for p in children) and first.poll() is None
            assert "小林" in _facts(http, api_port, token)

            # redis-server dies: reported, restarted, and the stack keeps serving.
            old_redis = _recorded(tmp_path)["redis"]
            os.kill(old_redis, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _recorded(tmp_path)["redis"] == old_redis:
                time.sleep(0.2)
            assert _recorded(tmp_path)["redis"] != old_redis and first.poll() is None
            wait_for_port(redis_port, timeout_s=30)
            assert _turn(http, port, token, "我回来了")["done"] is True
            log = (tmp_path / "data" / "logs" / "stack.log").read_text()
            assert "redis exited" in log and "redis is back" in log

            # moto dies (its data lives in memory only): restarted, and filled from the latest snapshot.
            old_moto = _recorded(tmp_path)["moto"]
            os.kill(old_moto, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _recorded(tmp_path)["moto"] == old_moto:
                time.sleep(0.2)
            assert _recorded(tmp_path)["moto"] != old_moto and first.poll() is None
            assert "小林" in _facts(http, api_port, token)
            assert _turn(http, port, token, "还在吗")["done"] is True
            children = descendants(first.pid)
            reaper.update(children)
        finally:
            # The terminal goes away (stdout closed), then Ctrl-C, and more signals while it stops: one complete stop.
            first.stdout.close()  # type: ignore[union-attr]
            first.send_signal(signal.SIGINT)
            log_file = tmp_path / "data" / "logs" / "stack.log"
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and "stopping the local stack" not in log_file.read_text():
                time.sleep(0.02)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGINT):  # during the stop
                first.send_signal(sig)
                time.sleep(0.05)
            try:
                first.wait(timeout=60)
            except subprocess.TimeoutExpired:
                first.kill()
                raise
        assert first.returncode == 0
        assert still_running(children) == []
        assert not (tmp_path / "data" / "pids.json").exists()
        log = (tmp_path / "data" / "logs" / "stack.log").read_text()
        assert "already stopping" in log and "saved " in log and log.rstrip().endswith("stopped")

        # The next start has everything, and its first turn already recalls (warmed up, default budget).
        again = launch(tmp_path / "data", ports, LOCAL_SNAPSHOT_INTERVAL_S="1")
        try:
            token = wait_up(tmp_path / "data", again, reaper)
            assert "小林" in _facts(http, api_port, token)
            done = _turn(http, port, token, "你还记得我叫什么吗？")
            assert done["memories"] >= 1 and "recall_timeout" not in done["degraded"], done
            _turn(http, port, token, "被杀之前的最后一句")
            snapshot = tmp_path / "data" / "moto" / "snapshot.json"
            deadline = time.monotonic() + 30  # the periodic snapshot (every second here) takes it
            while time.monotonic() < deadline and "被杀之前的最后一句" not in snapshot.read_text(encoding="utf-8"):
                time.sleep(0.3)
            assert "被杀之前的最后一句" in snapshot.read_text(encoding="utf-8")
            orphans = descendants(again.pid)
        finally:
            again.kill()  # kill -9: no stop, no final snapshot, the children left running
            again.wait(timeout=10)

    # After the crash: leftovers stopped, moto restored from the periodic snapshot, Redis kept.
    third = launch(tmp_path / "data", ports, LOCAL_SNAPSHOT_INTERVAL_S="1")
    try:
        token = wait_up(tmp_path / "data", third, reaper)
        assert still_running(orphans) == []
        with httpx.Client(timeout=60) as http:
            history = http.get(f"http://127.0.0.1:{api_port}/api/v1/chat/history",
                               headers={"Authorization": f"Bearer {token}"}, params={"character_id": "xiaoyu"})
            assert "被杀之前的最后一句" in history.text
            assert "小林" in _facts(http, api_port, token)
        kept = redis.Redis(port=redis_port)
        assert any(b"dev-user" in k for k in kept.scan_iter()), "Redis was cleared"
        # the warm-up turns of three starts left nothing of their reserved user behind
        assert [k for k in kept.scan_iter() if b"local-warmup" in k] == []
        kept.close()
        ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{ports[2]}", region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local")
        for table in ddb.list_tables()["TableNames"]:
            items = ddb.scan(TableName=table)["Items"]
            assert [i for i in items if "local-warmup" in json.dumps(i)] == [], table
        children = descendants(third.pid)
    finally:
        third.send_signal(signal.SIGHUP)
        try:
            out, _ = third.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            third.kill()
            raise
    assert "previous run left behind" in out and "cleared" not in out
    assert still_running(children) == []


def test_a_port_taken_by_another_program_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    ports = free_ports()
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
