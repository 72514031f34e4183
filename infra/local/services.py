"""Start and stop the local backing services (redis-server, moto's server).

Used by both the local stack runner and the test suite, so the tests run against the
same processes a developer gets from ``make dev``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, host: str = "127.0.0.1", timeout_s: float = 20.0,
                  proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout_s}s")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


def _started_at(pid: int) -> str | None:
    """The process's start time (clock ticks since boot; /proc/<pid>/stat field 22): with the pid
    it identifies one process, even after the pid is reused. None when gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def record_processes(path: Path, procs: list[ManagedProcess]) -> None:
    """Remember the runner and its children (pid + start time), so a later run can tell a live
    runner from a dead one and stop only what a dead one left."""
    rows = [{"name": p.name, "pid": p.proc.pid, "started": _started_at(p.proc.pid)}
            for p in procs if p.proc is not None]
    me = {"pid": os.getpid(), "started": _started_at(os.getpid())}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"runner": me, "processes": rows}))
    os.replace(tmp, path)


def recorded_runner(path: Path) -> dict[str, Any] | None:
    """The runner recorded in ``path`` if that very process still runs, else None."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    runner = data.get("runner") if isinstance(data, dict) else None
    if not runner or not runner.get("started") or _started_at(int(runner.get("pid", 0))) != runner["started"]:
        return None
    return dict(runner)


class CheckoutLock:
    """``<data_dir>/runner.lock``, held with flock for the runner's lifetime: the kernel drops it
    when the runner dies, however it dies, so a held lock means a live runner. Children do not
    inherit it (Popen closes other descriptors), so orphans of a killed runner do not hold it."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "runner.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def reap_recorded(path: Path, timeout_s: float = 5.0) -> list[str]:
    """Stop the processes a previous run recorded and left running (it was SIGKILLed, or its
    terminal vanished): each runs in its own session, so nothing else would. A pid now used by
    another process (another start time) is left alone. Returns the names stopped."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    rows = data.get("processes", []) if isinstance(data, dict) else data  # a list: written before the runner row
    stopped = []
    for row in rows:
        pid, started = int(row.get("pid", 0)), row.get("started")
        if pid > 0 and started and _started_at(pid) == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
                stopped.append((str(row.get("name")), pid, started))
    deadline = time.monotonic() + timeout_s
    for _, pid, started in stopped:
        while _started_at(pid) == started and time.monotonic() < deadline:
            time.sleep(0.05)
        if _started_at(pid) == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    return [name for name, _, _ in stopped]


@dataclass
class ManagedProcess:
    """A child process in its own process group, so stopping it leaves nothing behind."""

    name: str
    args: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    started_mono: float = 0.0  # when it was last spawned (a restart's backoff resets once it has lasted)

    def start(self, timeout_s: float = 20.0, on_spawn: Callable[[], None] | None = None) -> ManagedProcess:
        """Spawn and wait until it listens; ``on_spawn`` runs right after the spawn (before the wait)."""
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env}, start_new_session=True,
        )
        self.started_mono = time.monotonic()
        if on_spawn is not None:
            on_spawn()
        if self.port:
            wait_for_port(self.port, timeout_s=timeout_s, proc=self.proc)
        else:  # a worker with no port: it is up when it has not died straight away
            time.sleep(0.5)
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} at start")
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout_s)


REDIS_MISSING = (
    "redis-server was not found. Install it with `sudo apt-get install redis-server` "
    "(Debian/Ubuntu) or `brew install redis` (macOS), then run the command again."
)


def ensure_redis_server() -> str:
    """Path of redis-server; installs Debian's package when missing and running as root."""
    path = shutil.which("redis-server")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        path = shutil.which("redis-server")
        if path:
            return path
    raise SystemExit(REDIS_MISSING)


def redis_process(port: int, data_dir: Path | None = None, log_path: Path | None = None) -> ManagedProcess:
    args = [ensure_redis_server(), "--port", str(port), "--bind", "127.0.0.1",
            "--protected-mode", "yes", "--daemonize", "no"]
    if data_dir is None:
        args += ["--save", "", "--appendonly", "no"]
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["--dir", str(data_dir), "--save", "60 1", "--appendonly", "no"]
    return ManagedProcess("redis", args, port, log_path=log_path)


def moto_process(port: int, log_path: Path | None = None) -> ManagedProcess:
    """moto's standalone server: DynamoDB, S3 and SQS over the real AWS wire protocol, with
    DynamoDB's conditional writes atomic (``infra.local.moto_server``)."""
    args = [sys.executable, str(Path(__file__).with_name("moto_server.py")), "-H", "127.0.0.1", "-p", str(port)]
    return ManagedProcess("moto", args, port, log_path=log_path)
