"""The project's errors in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, on the
OpenAI-compatible routes only (the rest of the chat app keeps ``{"error": {"code", "message"}}``).

``openai_error`` is the one mapping: the exception handlers of the ``/v1`` routes, a failed
non-streamed completion and an ``error`` line of a stream all go through it, so the SDKs raise
the exception their users expect (``AuthenticationError``, ``NotFoundError``, ``BadRequestError``,
``RateLimitError``, ``InternalServerError``; ``APIError`` mid-stream).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..chat.events import TurnFailed
from ..errors import AppError, StoreUnavailable
from ..observability import logger
from .errors import Handler, routing_handlers
from .openai_models import ErrorBody, ErrorDetail
from .requests import field_name

# OpenAI's names for our codes, where OpenAI has one for the case.
_CODES = {"unknown_character": "model_not_found", "rate_limited": "rate_limit_exceeded"}
# A failed turn has already stored the message and what was said of the reply: its status, and
# no retry (``x-should-retry``, which the SDKs obey), or the message would be stored twice.
_FAILED_STATUS = {"request_rejected": 400, "model_error": 502, "store_unavailable": 503}
NO_RETRY = {"x-should-retry": "false"}


def _type(status: int) -> str:
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 429:
        return "rate_limit_error"
    return "server_error" if status >= 500 else "invalid_request_error"


def openai_error(status: int, code: str, message: str, *, details: Any = None) -> tuple[int, ErrorBody]:
    """Our status, code and message (and validation ``details``) as OpenAI's status and error body."""
    param: str | None = None
    if status == 422:  # OpenAI answers an invalid parameter with 400, naming it
        status = 400
    if isinstance(details, list) and details and isinstance(details[0], dict):
        param = field_name(details[0].get("loc") or ()) or None
        message = str(details[0].get("msg") or message)
    if code == "unknown_character":
        param = "model"
        message += " (GET /v1/models lists the characters you can talk to)"
    openai_code = "invalid_api_key" if status == 401 else _CODES.get(code, code)
    return status, ErrorBody(error=ErrorDetail(message=message, type=_type(status), param=param, code=openai_code))


def error_response(status: int, code: str, message: str, *, details: Any = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    status, body = openai_error(status, code, message, details=details)
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def failed_turn_response(failure: TurnFailed) -> JSONResponse:
    return error_response(_FAILED_STATUS.get(failure.code, 500), failure.code, failure.message, headers=NO_RETRY)


def stream_error(failure: TurnFailed) -> dict[str, Any]:
    """A failure after the stream started: a ``data:`` line the SDKs raise as ``APIError``."""
    return openai_error(_FAILED_STATUS.get(failure.code, 500), failure.code, failure.message)[1].model_dump(mode="json")


async def _app_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return error_response(exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers)


async def _store_unavailable(_: Request, exc: Exception) -> Response:
    logger.warning("store unavailable: %s", exc)
    return error_response(503, "store_unavailable", "a data store is unavailable, please retry")


def openai_exception_handlers() -> dict[Any, Handler]:
    http_error, unexpected = routing_handlers(error_response)
    return {AppError: _app_error, StoreUnavailable: _store_unavailable, HTTPException: http_error,
            Exception: unexpected}
