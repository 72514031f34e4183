"""The Docker-free local stack: plays what SAM and Lambda do, against local services.

Starts redis-server, moto's server (DynamoDB, S3, SQS), creates the resources that
template.yaml declares, seeds the built-in characters, and serves the chat function's
ASGI app with uvicorn exactly as the Lambda Web Adapter runs it (with ``--workers N`` processes
sharing the port: ``CHAT_WORKERS``, by default one per core up to four). One runner owns a data dir
(a flock on ``<data_dir>/runner.lock``): a second start with the same data dir refuses. It
supervises its children (one that dies is reported and restarted with backoff), snapshots
moto's in-memory data to ``<data_dir>/moto`` periodically, and on SIGINT/SIGTERM/SIGHUP (any
number of them) stops everything once, in order, snapshot first (infra/local/snapshot.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.local import console
from infra.local.services import (
    CheckoutLock,
    ManagedProcess,
    free_port,
    moto_process,
    port_in_use,
    reap_recorded,
    record_processes,
    recorded_runner,
    redis_process,
)
from infra.local.snapshot import (
    SNAPSHOT_FILE,
    collect_snapshot,
    reset_if_inconsistent,
    restore_snapshot,
    snapshot_digest,
    write_snapshot,
)

if TYPE_CHECKING:
    from companion.config import Settings

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "companion"
LEGACY_SNAPSHOT = "snapshot.restored.json"  # what runs before periodic snapshots kept after a restore
WARMUP_USER = "local-warmup"  # the reserved user whose turn warms the chat function; its history is deleted
MAX_RESTART_DELAY_S = 30.0
STABLE_AFTER_S = 60.0  # a child that has run this long starts its backoff afresh when it dies again
MAX_DEFAULT_CHAT_WORKERS = 4  # more processes than this only add memory (a model each) on a developer's machine


def default_chat_workers() -> int:
    """``CHAT_WORKERS``, else one uvicorn worker per core this process may run on, capped: a worker is
    one event loop, so more streams than one core's worth of turns need more processes."""
    raw = os.environ.get("CHAT_WORKERS", "").strip()
    if raw:
        return max(1, int(raw))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_DEFAULT_CHAT_WORKERS, cores))


def chat_command(host: str, port: int, workers: int) -> list[str]:
    """The chat function as the web adapter runs it (functions/chat/run.sh); with several workers
    uvicorn's parent binds the port and supervises them (restarts one that dies, passes SIGTERM on)."""
    args = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(ROOT / "functions" / "chat"),
            "--host", host, "--port", str(port), "--no-access-log", "--timeout-graceful-shutdown", "5"]
    return args + (["--workers", str(workers)] if workers > 1 else [])


class AlreadyRunning(SystemExit):
    """Another live runner owns the data dir."""


def _port_or_free(value: int) -> int:
    return value if value else free_port()


def stack_env(*, redis_port: int, moto_port: int, opensearch_port: int | None, queue_url: str = "") -> dict[str, str]:
    env = {
        "APP_ENV": os.environ.get("APP_ENV", "local"),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "CompanionLocal",
        "PYTHONPATH": os.pathsep.join([str(LAYER), str(ROOT)]),
    }
    if opensearch_port:
        env["OPENSEARCH_URL"] = f"http://127.0.0.1:{opensearch_port}"
    if queue_url:
        env["MEMORY_QUEUE_URL"] = queue_url
    return env


async def seed_characters(env: dict[str, str]) -> int:
    from companion.adapters.dynamodb_characters import DynamoCharacterRepository
    from companion.characters import BUILTIN_CHARACTERS
    from companion.config import Settings

    settings = Settings()
    repo = DynamoCharacterRepository(settings.characters_table, endpoint_url=env["AWS_ENDPOINT_URL"])
    for character in BUILTIN_CHARACTERS.values():
        await repo.put(character)
    return len(BUILTIN_CHARACTERS)


async def ensure_memory_index(settings: Settings) -> None:
    from companion.adapters.opensearch_index import OpenSearchMemoryIndex

    index = OpenSearchMemoryIndex(settings.opensearch_url, settings.opensearch_index, dim=settings.embedding_dim)
    try:
        await index.ensure_index()
    finally:
        await index.aclose()


class LocalStack:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 8000, redis_port: int = 6379,
                 moto_port: int = 5000, opensearch_port: int = 9200, data_dir: Path | None = None,
                 quiet: bool = False, sweep_interval_s: float = 60.0, api_port: int = 8001,
                 snapshot_interval_s: float = 30.0, warm_up: bool = True, chat_workers: int | None = None) -> None:
        self.chat_workers = chat_workers or default_chat_workers()
        self.sweep_interval_s = sweep_interval_s
        self.snapshot_interval_s = snapshot_interval_s
        self.warm_up = warm_up
        self._lock = CheckoutLock(data_dir) if data_dir is not None else None
        self._last_digest: str | None = None
        self._next_snapshot = 0.0
        self._restarts: dict[str, tuple[int, float]] = {}  # name -> (failed restarts, when to try next)
        self.api_port = _port_or_free(api_port)
        self.host, self.port = host, port
        self.redis_port, self.moto_port = _port_or_free(redis_port), _port_or_free(moto_port)
        self.opensearch_port = _port_or_free(opensearch_port)
        self.data_dir = data_dir
        self.quiet = quiet
        self.procs: list[ManagedProcess] = []
        self.env: dict[str, str] = {}
        self.token = ""
        # Set once moto holds the restored (or deliberately empty) data: only then may stop() snapshot it.
        self._snapshot_args: dict[str, Any] | None = None

    def _log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, flush=True)

    def _logfile(self, name: str) -> Path | None:
        if self.data_dir is None:
            return None
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        return self.data_dir / "logs" / f"{name}.log"

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def _pids_file(self) -> Path | None:
        return self.data_dir / "pids.json" if self.data_dir else None

    def _add(self, proc: ManagedProcess, timeout_s: float = 20.0) -> None:
        self.procs.append(proc)
        pids = self._pids_file
        # Recorded as soon as it exists: a kill during its start must not leave it unknown.
        proc.start(timeout_s=timeout_s, on_spawn=(lambda: record_processes(pids, self.procs)) if pids else None)

    def _check_ports(self) -> None:
        """A port already taken would look like a service that started (we would talk to a stranger)."""
        wanted = {"chat": self.port, "memory API": self.api_port, "redis": self.redis_port, "moto": self.moto_port,
                  "OpenSearch emulator": self.opensearch_port}
        taken = [f"{name} :{port}" for name, port in wanted.items() if port and port_in_use(port)]
        if taken:
            raise SystemExit(f"port already in use: {', '.join(taken)}. Stop what holds it, or pick other ports "
                             "(PORT, API_PORT, REDIS_PORT, MOTO_PORT, OPENSEARCH_PORT).")

    def _claim(self) -> None:
        """Own the data dir, or refuse: a live runner's processes are never taken for leftovers."""
        if self._lock is None or self._lock.acquire():
            return
        runner = recorded_runner(self._pids_file) if self._pids_file else None
        who = f" (pid {runner['pid']})" if runner else ""
        kill = f", or `kill {runner['pid']}`" if runner else ""
        raise AlreadyRunning(
            f"the local stack is already running{who} with data dir {self.data_dir}; nothing was stopped and "
            f"its data is untouched. Use that one (stop it with Ctrl-C in its terminal{kill}), "
            "or start another with its own --data-dir and ports.")

    def _start(self) -> None:
        self._claim()
        if self._pids_file:
            left = reap_recorded(self._pids_file)
            if left:
                self._log(f"stopped {len(left)} processes a previous run left behind: {', '.join(left)}")
        self._check_ports()
        redis_dir = self.data_dir / "redis" if self.data_dir else None
        self._log(f"starting redis-server on :{self.redis_port}")
        self._add(redis_process(self.redis_port, redis_dir, self._logfile("redis")))
        self._log(f"starting moto server (DynamoDB, S3, SQS) on :{self.moto_port}")
        self._add(moto_process(self.moto_port, self._logfile("moto")), timeout_s=60)
        os_dir = self.data_dir / "opensearch" if self.data_dir else None
        os_args = [sys.executable, "-m", "infra.opensearch_emulator", "--host", "127.0.0.1", "--port",
                   str(self.opensearch_port)] + (["--data-dir", str(os_dir)] if os_dir else [])
        self._log(f"starting the OpenSearch emulator on :{self.opensearch_port}")
        self._add(ManagedProcess("opensearch", os_args, self.opensearch_port, env={"PYTHONPATH": str(ROOT)},
                                 log_path=self._logfile("opensearch")), timeout_s=60)
        self.env = stack_env(redis_port=self.redis_port, moto_port=self.moto_port,
                             opensearch_port=self.opensearch_port)
        os.environ.update(self.env)  # resource creation and seeding below use the same settings
        for p in (str(LAYER), str(ROOT)):
            if p not in sys.path:
                sys.path.insert(0, p)
        from companion.config import Settings

        from infra.local.resources import create_local_resources

        created = create_local_resources(Settings())
        queue_url = created.get("memory_queue_url", "")
        self.env["MEMORY_QUEUE_URL"] = queue_url
        os.environ["MEMORY_QUEUE_URL"] = queue_url
        if self.data_dir is not None:
            self._restore_or_reset(Settings())
        # After the restore: seeding rewrites only the built-in characters' items (their fixed
        # ids), so they follow the code, and users' characters (ids c_<uuid>) stay as restored.
        count = asyncio.run(seed_characters(self.env))
        asyncio.run(ensure_memory_index(Settings()))
        self._log(f"created tables, queues, bucket and the memory index; seeded {count} characters")

        from companion.auth import LOCAL_DEV_SECRET, issue_token

        secret = os.environ.get("JWT_SECRET") or LOCAL_DEV_SECRET
        self.env["JWT_SECRET"] = secret
        self.token = issue_token(secret, os.environ.get("DEV_USER_ID", "dev-user"), ttl_s=30 * 86400)

        chat = ManagedProcess("chat", chat_command(self.host, self.port, self.chat_workers), self.port,
                              env={**self.env, "WEB_ROOT": str(ROOT / "web")},  # the chat page at /
                              log_path=self._logfile("chat"))
        workers = f", {self.chat_workers} workers" if self.chat_workers > 1 else ""
        self._log(f"starting the chat function (uvicorn{workers}) on http://{self.host}:{self.port}")
        log = chat.log_path
        log_start = log.stat().st_size if log is not None and log.exists() else 0
        self._add(chat, timeout_s=60)
        self._wait_for_workers(log, log_start)
        # The HTTP API routes of template.yaml, each request invoking the memory API's Mangum handler.
        api = ManagedProcess("memory_api", [sys.executable, "-m", "infra.local.http_api", "--host", self.host,
                                            "--port", str(self.api_port), "--quiet"], self.api_port,
                             env=self.env, log_path=self._logfile("memory_api"))
        self._log(f"starting the memory API (HTTP API → Mangum) on http://{self.host}:{self.api_port}")
        self._add(api, timeout_s=60)
        # The worker's SQS event source mapping and the sweeper's schedule, played locally.
        worker = ManagedProcess(
            "worker", [sys.executable, "-m", "infra.local.worker_poller",
                       "--sweep-interval", str(self.sweep_interval_s), "--retry-visibility", "10"], 0,
            env=self.env, log_path=self._logfile("worker"))
        self._log(f"starting the memory worker poller and the session sweeper (every {self.sweep_interval_s:.0f} s)")
        self._add(worker)
        if self.data_dir is not None:
            self._save_snapshot()  # from now on a kill always finds a snapshot of this run
        if self.warm_up:
            self._warm_up()

    def _wait_for_workers(self, log: Path | None, offset: int, timeout_s: float = 60.0) -> None:
        """The port answers once the first worker listens; the others may still be starting (and would
        miss the warm-up). Each worker's uvicorn logs its start-up's end: wait for all of them."""
        if log is None or self.chat_workers < 2:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with open(log, "rb") as f:
                f.seek(offset)
                if f.read().count(b"Application startup complete.") >= self.chat_workers:
                    return
            time.sleep(0.1)
        self._log(f"not every chat worker had started after {timeout_s:.0f} s; going on")

    def _warm_up(self) -> None:
        """Run turns for reserved users, so the first real turn finds the embedding model loaded and
        the index searched once (a cold recall times out), then delete what the turns stored.

        With several workers the turns go at once, each on its own connection: a worker busy with
        one (its cold start) leaves the next connection to another, so each is likely to get one.
        Only the app's own start-up (its ASGI lifespan) can warm every worker for certain."""
        import concurrent.futures

        users = [WARMUP_USER] + [f"{WARMUP_USER}-{i}" for i in range(1, self.chat_workers)]
        started = time.monotonic()
        try:
            with concurrent.futures.ThreadPoolExecutor(len(users)) as pool:
                list(pool.map(self._warm_one, users))
            self._forget_warm_up_keys()
        except Exception as exc:  # best effort: a cold first turn is slower, not broken
            self._log(f"warm-up failed ({exc}); the first turn may recall nothing")
            return
        self._log(f"warmed up the embedding model and the memory index in {time.monotonic() - started:.1f} s")

    def _warm_one(self, user: str) -> None:
        import httpx
        from companion.auth import issue_token

        headers = {"Authorization": f"Bearer {issue_token(self.env['JWT_SECRET'], user, ttl_s=600)}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=60) as http:
            for _ in range(3):  # the first may still time out its recall while the model loads
                resp = http.post("/api/v1/chat/stream", json={"character_id": "xiaoyu", "message": "你好"})
                if "recall_timeout" not in resp.text:
                    break
            http.delete("/api/v1/chat/history", params={"character_id": "xiaoyu"}).raise_for_status()
        if user == WARMUP_USER:
            httpx.post(f"http://{self.host}:{self.api_port}/api/v1/memory/recall", headers=headers,
                       json={"character_id": "xiaoyu", "query": "你好"}, timeout=60)

    def _snapshot_path(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "moto" / SNAPSHOT_FILE

    def _forget_warm_up_keys(self) -> None:
        """The caches and counters of the warm-up turn (its rate-limit window, its memory bundle)."""
        import redis

        client = redis.Redis.from_url(self.env["REDIS_URL"])
        try:
            keys = list(client.scan_iter(match=f"*{WARMUP_USER}*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()

    def _restore_or_reset(self, settings: Settings) -> None:
        """Bring DynamoDB/S3 back from the last clean stop, or empty Redis/OpenSearch to match."""
        from infra.local.resources import TABLES

        path = self._snapshot_path()
        if not path.exists() and path.with_name(LEGACY_SNAPSHOT).exists():
            path = path.with_name(LEGACY_SNAPSHOT)  # the latest an older runner left: still better than nothing
        cleared = reset_if_inconsistent(path, settings.redis_url, settings.opensearch_url, settings.opensearch_index)
        if cleared:
            self._log(f"no moto snapshot at {path}, so DynamoDB and S3 start empty: cleared "
                      f"{' and '.join(cleared)} to match")
        tables = [getattr(settings, attr) for attr in TABLES.values()]
        if path.exists():
            try:
                counts = restore_snapshot(self.env["AWS_ENDPOINT_URL"], path, tables=tables,
                                          buckets=[settings.archive_bucket], tasks_table=settings.tasks_table,
                                          region=settings.aws_region)
            except Exception as exc:
                raise RuntimeError(f"could not restore {path} ({exc}); `rm -rf {self.data_dir}` starts fresh") from exc
            skipped = f"; skipped {', '.join(counts['skipped'])} (no longer created)" if counts["skipped"] else ""
            self._log(f"restored {counts['items']} items and {counts['objects']} objects from {path} "
                      f"({counts['requeued']} queued memory tasks left for the sweeper to resend){skipped}")
        self._snapshot_args = {"tables": tables, "buckets": [settings.archive_bucket], "region": settings.aws_region}

    def _save_snapshot(self, *, if_changed: bool = False) -> None:
        if self._snapshot_args is None:  # never restored (start failed early): keep the old snapshot as is
            return
        path = self._snapshot_path()
        try:
            data = collect_snapshot(self.env["AWS_ENDPOINT_URL"], **self._snapshot_args)
            digest = snapshot_digest(data)
            if if_changed and digest == self._last_digest:
                return
            counts = write_snapshot(path, data)
        except Exception as exc:  # stopping the other processes matters more; the last snapshot stays
            print(f"could not snapshot moto to {path}: {exc}", file=sys.stderr, flush=True)
            return
        self._last_digest = digest
        if not if_changed:
            self._log(f"saved {counts['items']} items and {counts['objects']} objects to {path}")

    def supervise_once(self) -> None:
        """One round of the runner's watch: restart children that died, snapshot moto when due."""
        now = time.monotonic()
        for proc in self.procs:
            if not proc.running:
                self._revive(proc, now)
        moto = next((p for p in self.procs if p.name == "moto"), None)
        if self.data_dir is not None and moto is not None and moto.running and now >= self._next_snapshot:
            self._next_snapshot = now + self.snapshot_interval_s
            self._save_snapshot(if_changed=True)

    def _revive(self, proc: ManagedProcess, now: float) -> None:
        failures, next_at = self._restarts.get(proc.name, (0, 0.0))
        if next_at == 0.0:  # just noticed
            # What it left in its process group (uvicorn's workers when their parent died) would hold
            # its port, and the restart would fail to bind it.
            if proc.proc is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.proc.pid, signal.SIGKILL)
            if now - proc.started_mono >= STABLE_AFTER_S:
                failures = 0
            code = proc.proc.returncode if proc.proc is not None else None
            delay = min(MAX_RESTART_DELAY_S, 2.0 ** failures)
            print(f"{proc.name} exited (code {code}); restarting it in {delay:.0f} s "
                  f"(see {self._logfile(proc.name) or 'its log'})", file=sys.stderr, flush=True)
            self._restarts[proc.name] = (failures, now + delay)
            return
        if now < next_at:
            return
        try:
            proc.start(timeout_s=60)
            if proc.name == "moto":
                self._refill_moto()
        except Exception as exc:
            proc.stop()
            failures += 1
            delay = min(MAX_RESTART_DELAY_S, 2.0 ** failures)
            print(f"could not restart {proc.name} ({exc}); trying again in {delay:.0f} s", file=sys.stderr,
                  flush=True)
            self._restarts[proc.name] = (failures, time.monotonic() + delay)
            return
        self._restarts[proc.name] = (failures + 1, 0.0)
        if self._pids_file:
            record_processes(self._pids_file, self.procs)
        self._log(f"{proc.name} is back")

    def _refill_moto(self) -> None:
        """A restarted moto is empty: recreate the resources and restore the latest snapshot."""
        from companion.config import Settings

        from infra.local.resources import create_local_resources

        create_local_resources(Settings())
        if self.data_dir is not None:
            self._restore_or_reset(Settings())
        asyncio.run(seed_characters(self.env))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._restarts.clear()
        for proc in reversed(self.procs):
            if proc.name == "moto" and proc.running:
                # Reverse start order: the functions have stopped writing by now, moto still runs.
                self._save_snapshot()
            proc.stop()
        self.procs.clear()
        self._snapshot_args = None
        if self._pids_file and self._lock is not None and self._lock._fd is not None:
            self._pids_file.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.release()

    def banner(self) -> str:
        api = f"http://{self.host}:{self.api_port}"
        return f"""
Companion local stack is up.
  Web page:    {self.url}/
  Terminal:    uv run companion chat xiaoyu
  Chat URL:    {self.url}/api/v1/chat/stream  ({self.chat_workers} uvicorn worker{'s' if self.chat_workers > 1 else ''})
  Memory API:  {api}/api/v1/memory/facts?character_id=xiaoyu
  Dev token:   {self.token}

Try it:
  curl -N {self.url}/api/v1/chat/stream \\
    -H "Authorization: Bearer {self.token}" -H "Content-Type: application/json" \\
    -d '{{"character_id": "xiaoyu", "message": "你好，我叫小林"}}'

End the session to turn it into long-term memory, then see what the companion remembers:
  curl -X POST {self.url}/api/v1/chat/sessions/xiaoyu/end -H "Authorization: Bearer {self.token}"
  curl "{api}/api/v1/memory/facts?character_id=xiaoyu" -H "Authorization: Bearer {self.token}"

Characters: xiaoyu (中文), luna (English). Ctrl-C stops everything.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Companion stack locally (no Docker, no cloud).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--redis-port", type=int, default=int(os.environ.get("REDIS_PORT", 6379)))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)))
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", 8001)))
    parser.add_argument("--opensearch-port", type=int, default=int(os.environ.get("OPENSEARCH_PORT", 9200)))
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".local")
    parser.add_argument("--token-file", type=Path, default=None, help="also write the dev token here")
    parser.add_argument("--chat-workers", type=int, default=None,
                        help="uvicorn worker processes for the chat function (default: CHAT_WORKERS, else one per "
                             f"core up to {MAX_DEFAULT_CHAT_WORKERS})")
    parser.add_argument("--snapshot-interval", type=float,
                        default=float(os.environ.get("LOCAL_SNAPSHOT_INTERVAL_S", 30)),
                        help="seconds between moto snapshots while running (written only when data changed)")
    args = parser.parse_args()
    console.install(args.data_dir / "logs" / "stack.log")

    stack = LocalStack(host=args.host, port=args.port, redis_port=args.redis_port, moto_port=args.moto_port,
                       opensearch_port=args.opensearch_port, api_port=args.api_port, data_dir=args.data_dir,
                       snapshot_interval_s=args.snapshot_interval, chat_workers=args.chat_workers,
                       warm_up=os.environ.get("LOCAL_WARM_UP", "1") != "0")
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:  # one stop, completed: later signals (a second Ctrl-C, uv's forward) only say so
            print(f"{signal.Signals(signum).name}: already stopping, please wait", file=sys.stderr, flush=True)
            return
        stopping = True
        raise KeyboardInterrupt

    # Set explicitly, SIGINT included: a shell starting `make dev &` leaves it ignored otherwise.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    code = 0
    try:
        stack.start()
        if args.token_file:
            args.token_file.write_text(stack.token)
        print(stack.banner(), flush=True)
        while True:  # only a signal ends this: children that die are restarted
            stack.supervise_once()
            time.sleep(0.5)
    except KeyboardInterrupt:
        stopping = True
        print("\nstopping the local stack…", flush=True)
    except AlreadyRunning as exc:
        stopping = True
        print(exc, file=sys.stderr, flush=True)
        code = 3
    except BaseException:
        stopping = True
        raise
    finally:
        stopping = True
        stack.stop()
        if code == 0:
            print("stopped", flush=True)
    raise SystemExit(code)
