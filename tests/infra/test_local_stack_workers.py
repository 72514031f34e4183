"""The local stack's chat function with several uvicorn workers: started as `make dev` starts it, each
worker serving turns, a dead worker or a dead parent replaced, and nothing left once it stops."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
import redis

from infra.local.stack import WARMUP_USER, chat_command, default_chat_workers
from tests.fixtures.local_stack import descendants, free_ports, launch, still_running, stop, wait_up

WORKERS = 2


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def chat_processes(runner: int) -> tuple[int, list[int]]:
    """(uvicorn's parent, its worker processes) among the runner's descendants."""
    procs = descendants(runner)
    parents = [p for p in procs if "uvicorn app:app" in _cmdline(p)]
    assert len(parents) == 1, [_cmdline(p) for p in procs]
    workers = [p for p in procs if _ppid(p) == parents[0] and "spawn_main" in _cmdline(p)]
    return parents[0], workers


def wait_for_workers(runner: int, count: int, timeout_s: float = 90) -> tuple[int, list[int]]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            parent, workers = chat_processes(runner)
        except AssertionError:  # between a dead parent and its replacement
            parent, workers = 0, []
        if len(workers) == count or time.monotonic() > deadline:
            return parent, workers
        time.sleep(0.2)


def reply(url: str, token: str, message: str, timeout_s: float = 90) -> dict[str, object]:
    """One turn's final event; retried while the chat function is (re)starting."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            resp = httpx.post(f"{url}/api/v1/chat/stream", headers={"Authorization": f"Bearer {token}"},
                              json={"character_id": "luna", "message": message}, timeout=60)
            blocks = [b for b in resp.text.split("\n\n") if b.strip()]
            final: dict[str, object] = json.loads(blocks[-1].split("data: ", 1)[1])
            return final
        except (httpx.TransportError, IndexError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_workers_default_to_the_cores_capped_and_follow_chat_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAT_WORKERS", raising=False)
    assert default_chat_workers() == max(1, min(4, len(os.sched_getaffinity(0))))
    monkeypatch.setenv("CHAT_WORKERS", "3")
    assert default_chat_workers() == 3
    assert chat_command("127.0.0.1", 8000, 3)[-2:] == ["--workers", "3"]
    assert "--workers" not in chat_command("127.0.0.1", 8000, 1)  # one process, as the Lambda web adapter runs it


@pytest.mark.e2e
def test_the_stack_runs_chat_workers_replaces_dead_ones_and_leaves_none(tmp_path: Path,
                                                                         reaper: set[int]) -> None:
    ports = free_ports()
    url = f"http://127.0.0.1:{ports[0]}"
    data_dir = tmp_path / "data"
    proc = launch(data_dir, ports, CHAT_WORKERS=str(WORKERS), RECALL_BUDGET_MS="10000")
    try:
        token = wait_up(data_dir, proc, reaper)
        parent, workers = wait_for_workers(proc.pid, WORKERS)
        assert len(workers) == WORKERS
        finals = [reply(url, token, f"hello {i}") for i in range(4)]
        assert all(f["done"] is True and f["model"] == "offline" for f in finals)
        # The warm-up turns of the reserved users left nothing behind.
        with redis.Redis(port=ports[1]) as r:
            assert list(r.scan_iter(match=f"*{WARMUP_USER}*")) == []

        # A worker that dies is replaced by uvicorn's parent.
        os.kill(workers[0], signal.SIGKILL)
        _, again = wait_for_workers(proc.pid, WORKERS)
        assert len(again) == WORKERS and workers[0] not in again
        assert reply(url, token, "after a worker died")["done"] is True

        # The parent that dies is replaced by the runner, with all its workers (the orphans freed the port).
        os.kill(parent, signal.SIGKILL)
        deadline = time.monotonic() + 90
        new_parent, renewed = 0, []
        while time.monotonic() < deadline and not (new_parent not in (0, parent) and len(renewed) == WORKERS):
            new_parent, renewed = wait_for_workers(proc.pid, WORKERS, timeout_s=1)
        assert new_parent != parent and len(renewed) == WORKERS
        assert not set(again) & set(renewed)
        assert reply(url, token, "after the parent died")["done"] is True
        chat_pids = {new_parent, *renewed}
    finally:
        stop(proc)
    assert still_running(chat_pids | set(again)) == []
