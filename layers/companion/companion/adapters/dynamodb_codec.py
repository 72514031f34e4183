"""Plain dicts <-> DynamoDB attribute values.

An item's top-level attribute that is None is left out (absent, as every table's readers
expect); a None inside a map or a list is stored as DynamoDB's NULL and read back as None, so
nested data given as is (a character card's ``extensions``, a lore entry) round-trips unchanged.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _codec() -> tuple[Any, Any]:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def _to_ddb(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_ddb(v) for k, v in value.items()}
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
