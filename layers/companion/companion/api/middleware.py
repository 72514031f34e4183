"""ASGI middleware both HTTP apps install."""

from __future__ import annotations

import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..observability import logger, telemetry


class CorrelationMiddleware:
    """Tags the request's logs with a correlation id, echoes it as ``x-request-id``, and
    flushes the request's metrics before the response's last byte.

    Pure ASGI: Starlette's ``BaseHTTPMiddleware`` would wrap every streamed chunk. The flush
    happens before the final body message is passed on, because Lambda may freeze the
    environment as soon as the response ends (no work after it).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"x-request-id") or headers.get(b"x-amzn-trace-id")
        cid = raw.decode("latin-1")[:128] if raw else uuid.uuid4().hex
        logger.set_correlation_id(cid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", cid.encode("latin-1"))]}
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                telemetry.flush()
            await send(message)

        await self.app(scope, receive, send_with_id)
