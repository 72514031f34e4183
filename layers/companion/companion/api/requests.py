"""Request parsing shared by the APIs: JSON bodies with precise, machine-readable errors."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from ..errors import AppError

M = TypeVar("M", bound=BaseModel)

MAX_BODY_BYTES = 64 * 1024


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise AppError("request body is too large", code="body_too_large", status=413)
    try:
        data: Any = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AppError(f"request body is not valid JSON: {exc}", code="malformed_json", status=400) from exc
    if not isinstance(data, dict):
        raise AppError("request body must be a JSON object", code="malformed_json", status=400)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        raise AppError("the request is not valid", code="invalid_request", status=422, details=details) from exc
