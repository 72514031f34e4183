"""Request parsing shared by the APIs: JSON bodies with precise, machine-readable errors.

Every route that takes a body goes through ``parse_body``, so what is checked here holds on
both apps: the body is declared as JSON (415), fits the size limit (413), parses (400
``malformed_json``, also for nesting deeper than any request needs), every string in it can be
encoded as UTF-8 (400 ``invalid_text``: a lone surrogate such as ``"\\ud800"`` is valid JSON but
no store or model can take it), and it matches the route's model (422 ``invalid_request``,
with the field and what is expected, in the project's words rather than pydantic's).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError
from pydantic_core import PydanticCustomError
from starlette.requests import Request

from ..errors import AppError
from ..text import is_blank

M = TypeVar("M", bound=BaseModel)

MAX_BODY_BYTES = 64 * 1024
# Deeper than any request of the API (a character card is about six levels), and within
# DynamoDB's limit of 32 nested levels for what is stored as given.
MAX_JSON_DEPTH = 32

ID_PATTERN = r"^[A-Za-z0-9_\-.:]{1,64}$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_PATTERN_HINTS = {ID_PATTERN: "an id of 1 to 64 letters, digits, '_', '-', '.' or ':'",
                  DATE_PATTERN: "a date written YYYY-MM-DD"}


def _not_blank(value: str) -> str:
    if is_blank(value):
        raise PydanticCustomError("blank_text", "must hold visible text")
    return value


# A text field that must say something: whitespace and zero-width characters alone are empty.
VisibleText = Annotated[str, AfterValidator(_not_blank)]


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json``, in UTF-8 (the only charset JSON allows)."""
    if not content_type:
        return False
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if not (media == "application/json" or (media.startswith("application/") and media.endswith("+json"))):
        return False
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


async def parse_body(request: Request, model: type[M], *, max_bytes: int = MAX_BODY_BYTES) -> M:
    raw = await request.body()
    if len(raw) > max_bytes:
        raise AppError(f"the request body is larger than {max_bytes // 1024} KiB",
                       code="body_too_large", status=413)
    if not is_json_media_type(request.headers.get("content-type")):
        raise AppError("the request body must be JSON: send it with Content-Type: application/json",
                       code="unsupported_media_type", status=415)
    data = json_object(raw)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise AppError("the request is not valid", code="invalid_request", status=422,
                       details=describe_validation_errors(exc.errors())) from exc


def json_object(raw: bytes) -> dict[str, Any]:
    """A JSON body's bytes → the object it holds (400 ``malformed_json`` / ``invalid_text`` otherwise)."""
    try:
        data: Any = json.loads(raw or b"null")
    except RecursionError as exc:
        raise AppError(f"the request body is nested more than {MAX_JSON_DEPTH} levels deep",
                       code="malformed_json", status=400) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        # The decoder's position and reason stay in our logs; the caller learns what is wrong.
        raise AppError("the request body is not valid JSON (UTF-8)", code="malformed_json", status=400) from exc
    if not isinstance(data, dict):
        raise AppError("the request body must be a JSON object", code="malformed_json", status=400)
    check_json_tree(data)
    return data


def check_json_tree(data: Any) -> None:
    """Reject a parsed body nested too deeply or holding text that is not valid Unicode.

    Iterative, so a deep body cannot exhaust the interpreter's stack here either.
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        if len(loc) > MAX_JSON_DEPTH:
            raise AppError(f"the request body is nested more than {MAX_JSON_DEPTH} levels deep",
                           code="malformed_json", status=400)
        if isinstance(value, str):
            _check_text(value, loc)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, loc)
                stack.append((item, (*loc, key)))
        elif isinstance(value, list):
            stack.extend((item, (*loc, i)) for i, item in enumerate(value))


def _check_text(value: str, loc: tuple[str | int, ...]) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        where = field_name(loc) or "the request body"
        raise AppError(f"{where} holds text that is not valid Unicode (an unpaired surrogate such as \\ud800)",
                       code="invalid_text", status=400) from exc


# ------------------------------------------------------------------ validation messages

_REQUEST_PARTS = ("body", "query", "path", "header", "cookie")


def field_name(loc: Sequence[Any], *, located: bool = False) -> str:
    """``("data", "character_book", 3, "keys")`` → ``data.character_book[3].keys``.

    ``located``: ``loc`` starts with where the value was (FastAPI's ``("query", "limit")``).
    """
    parts = list(loc)
    if located and len(parts) > 1 and parts[0] in _REQUEST_PARTS:  # the parameter is what matters
        parts = parts[1:]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: dict[str, Any], located: bool) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    field = field_name(error.get("loc") or (), located=located) or "the request body"
    if kind == "string_too_short":
        return (f"{field} must not be empty" if ctx.get("min_length") == 1
                else f"{field} must be at least {ctx.get('min_length')} characters")
    if kind == "string_pattern_mismatch":
        return f"{field} must be {_PATTERN_HINTS.get(str(ctx.get('pattern')), 'in the documented format')}"
    if kind == "literal_error":
        return f"{field} must be one of {ctx.get('expected')}"
    templates = {
        "missing": "{field} is required",
        "extra_forbidden": "{field} is not a field of this request",
        "blank_text": "{field} must hold visible text",
        "string_type": "{field} must be a string",
        "string_too_long": "{field} must be at most {max_length} characters",
        "int_type": "{field} must be an integer", "int_parsing": "{field} must be an integer",
        "int_from_float": "{field} must be an integer",
        "float_type": "{field} must be a number", "float_parsing": "{field} must be a number",
        "bool_type": "{field} must be true or false", "bool_parsing": "{field} must be true or false",
        "greater_than_equal": "{field} must be at least {ge}", "less_than_equal": "{field} must be at most {le}",
        "greater_than": "{field} must be more than {gt}", "less_than": "{field} must be less than {lt}",
        "dict_type": "{field} must be a JSON object", "model_type": "{field} must be a JSON object",
        "model_attributes_type": "{field} must be a JSON object",
        "list_type": "{field} must be a list",
        "too_long": "{field} must have at most {max_length} items",
        "too_short": "{field} must have at least {min_length} items",
    }
    template = templates.get(kind, "{field} is not valid")
    try:
        return template.format(field=field, **ctx)
    except (KeyError, IndexError):
        return f"{field} is not valid"


def describe_validation_errors(errors: Iterable[Any], *, located: bool = False) -> list[dict[str, Any]]:
    """pydantic's errors as ``{"loc", "msg"}`` in the project's words (never its raw messages or inputs)."""
    return [{"loc": list(e.get("loc") or ()), "msg": _message(e, located)} for e in errors if isinstance(e, dict)]
