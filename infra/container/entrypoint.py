"""The container image's command: the chat app or the memory API under uvicorn, as a long-running service.

    python -m infra.container.entrypoint           # serve APP_ROLE on 0.0.0.0:$PORT
    python -m infra.container.entrypoint --check   # the health check: GET /health on $PORT, exit 0 if 200

One image, two services (``APP_ROLE=chat`` or ``memory_api``) rather than one combined ASGI app:
both apps serve ``/health``, ``/docs`` and ``/api/v1/chat/history`` with their own error shapes and
CORS, the chat service holds long streams while the memory API answers short requests (each scales
on its own and drains for its own time), and each task role keeps its Lambda function's permissions.

Stopping (ECS sends SIGTERM once the load balancer has drained the task): uvicorn closes the
listening socket at once, so new connections are refused, lets open responses (SSE streams) finish
for up to ``GRACEFUL_SHUTDOWN_S``, cancels what is left, runs the apps' lifespan shutdown (their
clients closed) and returns. One process per task: the service scales by tasks, and the stop signal
reaches the one process that holds the streams.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from types import FrameType

APPS = {"chat": "companion.api.chat_app:create_app", "memory_api": "companion.api.memory_api.app:create_app"}
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class Options:
    role: str
    host: str
    port: int
    graceful_shutdown_s: float
    keep_alive_s: float
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Options:
        role = env.get("APP_ROLE", "chat")
        if role not in APPS:
            raise SystemExit(f"APP_ROLE must be one of {sorted(APPS)}, not {role!r}")
        return cls(role=role, host=env.get("HOST", "0.0.0.0"), port=int(env.get("PORT", "8080")),
                   graceful_shutdown_s=float(env.get("GRACEFUL_SHUTDOWN_S", "90")),
                   keep_alive_s=float(env.get("KEEP_ALIVE_S", "130")),
                   log_level=env.get("POWERTOOLS_LOG_LEVEL", "INFO").lower())


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the stop signal once its graceful shutdown is done, to the handler it found:
    this one, so a drained process exits 0 instead of dying by SIGTERM (143). A signal before uvicorn
    took over (nothing served yet) ends the process at once, also with 0."""
    raise SystemExit(0)


def serve(opts: Options) -> int:
    import uvicorn  # not on the health check's path

    config = uvicorn.Config(
        APPS[opts.role], factory=True, host=opts.host, port=opts.port, lifespan="on",
        timeout_graceful_shutdown=int(opts.graceful_shutdown_s),
        # Longer than the load balancer's idle timeout: if the app closed an idle keep-alive
        # connection first, the balancer could send a request into it and answer 502.
        timeout_keep_alive=int(opts.keep_alive_s),
        # Only the load balancer's security group reaches the port: trust its X-Forwarded-* headers.
        proxy_headers=True, forwarded_allow_ips="*",
        access_log=False, log_level=opts.log_level, server_header=False)
    server = uvicorn.Server(config)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _exit_cleanly)
    server.run()
    return 0 if server.started else 1


def check(opts: Options, timeout_s: float = 3.0) -> int:
    """The container health check (Dockerfile HEALTHCHECK, the task definition's healthCheck): the
    image has no curl, and Python is already there."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{opts.port}/health", timeout=timeout_s) as resp:
            return 0 if resp.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.container.entrypoint", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="GET /health on $PORT: exit 0 if it answers 200")
    args = parser.parse_args(argv)
    opts = Options.from_env(os.environ)
    return check(opts) if args.check else serve(opts)


if __name__ == "__main__":
    sys.exit(main())
