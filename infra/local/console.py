"""The runner's console: what it prints also goes to ``<data_dir>/logs/stack.log``, and a
terminal that went away (EIO, EPIPE) never aborts a stop half-way."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import IO


class SafeConsole:
    """A text stream that copies lines to a log file and swallows write errors of the terminal."""

    def __init__(self, stream: IO[str], log: IO[str] | None) -> None:
        self._stream: IO[str] | None = stream
        self._log = log
        self._line_start = True

    def _drop_stream(self) -> None:
        # Point the file descriptor at /dev/null too: the interpreter's own flush at exit must not fail.
        stream, self._stream = self._stream, None
        with contextlib.suppress(Exception):
            fd = stream.fileno() if stream is not None else -1
            if fd >= 0:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, fd)
                os.close(devnull)

    def write(self, text: str) -> int:
        if self._stream is not None:
            try:
                self._stream.write(text)
            except OSError:
                self._drop_stream()
        if self._log is not None and text:
            with contextlib.suppress(OSError, ValueError):
                stamped = "".join((time.strftime("%Y-%m-%dT%H:%M:%S ") if self._line_start and line.strip()
                                   else "") + line for line in text.splitlines(keepends=True))
                self._line_start = text.endswith("\n")
                self._log.write(stamped)
                self._log.flush()
        return len(text)

    def flush(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush()
            except OSError:
                self._drop_stream()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno() if self._stream is not None else -1


def install(log_path: Path | None) -> None:
    """Route ``print`` (stdout and stderr) through SafeConsole, logging to ``log_path``."""
    log = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - open for the runner's lifetime
    sys.stdout = SafeConsole(sys.stdout, log)  # type: ignore[assignment]
    sys.stderr = SafeConsole(sys.stderr, log)  # type: ignore[assignment]
