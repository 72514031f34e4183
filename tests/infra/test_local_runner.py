"""The runner's own parts: the data dir's lock, its record of who runs, a console that survives its terminal."""

from __future__ import annotations

import json
import os
from pathlib import Path

from infra.local.console import SafeConsole
from infra.local.services import CheckoutLock, ManagedProcess, record_processes, recorded_runner


def test_a_live_runners_lock_refuses_a_second_until_released(tmp_path: Path) -> None:
    first, second = CheckoutLock(tmp_path), CheckoutLock(tmp_path)
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_the_record_names_the_live_runner_and_not_a_dead_one(tmp_path: Path) -> None:
    pids = tmp_path / "pids.json"
    record_processes(pids, [ManagedProcess("none", ["true"], 0)])
    runner = recorded_runner(pids)
    assert runner is not None and runner["pid"] == os.getpid() and runner["started"]
    pids.write_text(json.dumps({"runner": {"pid": os.getpid(), "started": "1"}, "processes": []}))  # pid reused
    assert recorded_runner(pids) is None


def test_a_closed_terminal_does_not_break_the_console(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    stream = os.fdopen(write_end, "w")
    os.close(read_end)  # the terminal went away: every write now fails with EPIPE
    log_path = tmp_path / "stack.log"
    with open(log_path, "a", encoding="utf-8") as log:
        console = SafeConsole(stream, log)
        console.write("stopping the local stack…\n")
        console.flush()
        console.write("saved 3 items\n")
        console.flush()
    assert log_path.read_text(encoding="utf-8").splitlines()[-2:][0].endswith("stopping the local stack…")
    assert log_path.read_text(encoding="utf-8").rstrip().endswith("saved 3 items")
    stream.write("x")
    stream.flush()  # the descriptor now points at /dev/null: the interpreter's exit flush cannot fail either
