"""Plain dicts <-> DynamoDB attribute values, and one call helper that maps failures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any, TypeVar

from ..errors import StoreUnavailable
from . import aws

T = TypeVar("T")


@lru_cache(maxsize=1)
def _codec() -> tuple[Any, Any]:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def _to_ddb(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_ddb(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_to_ddb(v) for v in value]
    return value


def _from_ddb(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_ddb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_ddb(v) for v in value]
    if isinstance(value, set):
        return sorted(_from_ddb(v) for v in value)
    return value


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    ser, _ = _codec()
    return {k: ser.serialize(_to_ddb(v)) for k, v in item.items() if v is not None}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    _, de = _codec()
    return {k: _from_ddb(de.deserialize(v)) for k, v in item.items()}


def is_conditional_failure(exc: BaseException) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


# boto3 is blocking; a dedicated pool sized for I/O keeps many concurrent turns from queueing
# behind asyncio's small default executor (min(32, cpus + 4) threads).
_POOL = ThreadPoolExecutor(max_workers=64, thread_name_prefix="aws")


async def call(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a blocking boto3 call off the event loop; connection failures become StoreUnavailable."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return await asyncio.get_running_loop().run_in_executor(_POOL, partial(fn, **kwargs))
    except ClientError as exc:
        if is_conditional_failure(exc):
            raise
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ValidationException":
            raise  # a bug in the request, not an outage
        raise StoreUnavailable(f"aws: {code or exc}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"aws: {exc}") from exc


class DynamoTable:
    """Base of the DynamoDB adapters: one table, the environment's shared client."""

    def __init__(self, table: str, endpoint_url: str | None = None) -> None:
        self._table = table
        self._endpoint = endpoint_url

    @property
    def _ddb(self) -> Any:
        return aws.client("dynamodb", endpoint_url=self._endpoint)
