"""moto's standalone server with DynamoDB's atomicity: one DynamoDB request at a time.

moto serves each request on its own thread and checks a ``ConditionExpression`` and then
writes without a lock, so two concurrent conditional updates can both succeed, which real
DynamoDB never allows (the scheduler's claim relies on it). DynamoDB requests (JSON with an
``X-Amz-Target: DynamoDB_…`` header) are therefore serialized here; S3 and SQS stay
concurrent, so an SQS long poll never holds up a table write.

Run: ``python -m infra.local.moto_server -H 127.0.0.1 -p 5000``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerializedDynamoDB:
    """WSGI middleware: DynamoDB requests run, body included, under one lock."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


def main(argv: list[str] | None = None) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto's own main does
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))
    run_simple(args.host, args.port, SerializedDynamoDB(DomainDispatcherApplication(create_backend_app)),
               threaded=True)


if __name__ == "__main__":
    main()
