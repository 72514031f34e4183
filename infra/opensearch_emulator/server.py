"""Running the emulator: in a background thread (tests, ephemeral port, optional data dir) or in the foreground."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import uvicorn

from . import persistence
from .engine import Engine
from .http_app import EmulatorApp

log = logging.getLogger("infra.opensearch_emulator")


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT once ``serve()`` returns, so the final snapshot runs in shutdown."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        self._on_shutdown()


class EmulatorServer:
    """An OpenSearch-compatible HTTP server on ``host:port`` (``port=0`` picks a free port).

    With ``data_dir`` the state is restored at start, snapshotted every ``snapshot_interval`` seconds
    when something changed, and on ``stop()``. Without it everything stays in memory.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
        snapshot_interval: float = 30.0,
        log_level: str = "warning",
    ) -> None:
        self.host = host
        self.port = port
        self.data_dir = Path(data_dir) if data_dir else None
        self.snapshot_interval = snapshot_interval
        self.log_level = log_level
        self.engine = Engine()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._snapshotter: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._saved_marker: object = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _bind(self) -> socket.socket:
        # proto=IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted connections; without it Nagle's
        # algorithm delays every response body (written after its headers) by ~40 ms.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        return sock

    def _prepare(self) -> socket.socket:
        if self.data_dir is not None:
            loaded = persistence.load(self.engine, self.data_dir)
            self._saved_marker = self.engine.change_marker()
            log.info("opensearch emulator: %d documents restored from %s", loaded, self.data_dir)
        sock = self._bind()
        config = uvicorn.Config(
            EmulatorApp(self.engine),
            log_level=self.log_level,
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            timeout_keep_alive=75,
        )
        self._server = _Server(config, self._finish)
        self._sock = sock
        if self.data_dir is not None:
            self._snapshotter = threading.Thread(
                target=self._snapshot_loop, name="opensearch-emulator-snapshot", daemon=True
            )
            self._snapshotter.start()
        return sock

    def start(self) -> str:
        """Start in a background thread; returns the base URL once the server accepts connections."""
        sock = self._prepare()
        assert self._server is not None
        server = self._server
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), name="opensearch-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("opensearch emulator failed to start")
            time.sleep(0.01)
        return self.url

    def serve_forever(self) -> None:
        """Run in the foreground until SIGINT/SIGTERM (uvicorn handles the signals), then snapshot."""
        sock = self._prepare()
        assert self._server is not None
        log.warning("opensearch emulator listening on %s", self.url)
        try:
            asyncio.run(self._server.serve(sockets=[sock]))
        finally:
            self._finish()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._finish()

    def _finish(self) -> None:
        if self._stop_event.is_set():
            return
        self._stop_event.set()
        if self._snapshotter is not None:
            self._snapshotter.join(timeout=30)
            self._snapshotter = None
        self.snapshot()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def snapshot(self) -> bool:
        """Write the state to the data directory if it changed since the last snapshot."""
        if self.data_dir is None:
            return False
        marker = self.engine.change_marker()
        if marker == self._saved_marker:
            return False
        persistence.save(self.engine, self.data_dir)
        self._saved_marker = marker
        return True

    def _snapshot_loop(self) -> None:
        while not self._stop_event.wait(self.snapshot_interval):
            try:
                self.snapshot()
            except OSError:
                log.exception("opensearch emulator snapshot failed")

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
