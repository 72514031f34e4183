"""Characters in DynamoDB. Built-in characters carry owner_id "system" (the GSI key cannot be null)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from ..models import Character
from .dynamodb_codec import DynamoTable, call, deserialize, serialize

SYSTEM_OWNER = "system"


def owner_key(owner_id: str | None) -> str:
    """The stored owner: SYSTEM_OWNER for built-ins, never for a user, even one whose id is "system"."""
    if owner_id is None:
        return SYSTEM_OWNER
    encoded = owner_id.replace("%", "%25")
    return "%73" + encoded[1:] if encoded == SYSTEM_OWNER else encoded


def owner_of(stored: str) -> str | None:
    return None if stored == SYSTEM_OWNER else unquote(stored)


class DynamoCharacterRepository(DynamoTable):
    async def get(self, character_id: str) -> Character | None:
        resp = await call(self._ddb.get_item, TableName=self._table,
                          Key=serialize({"character_id": character_id}))
        return self._decode(resp["Item"]) if "Item" in resp else None

    async def put(self, character: Character) -> None:
        item = character.model_dump()
        item["owner_id"] = owner_key(character.owner_id)
        await call(self._ddb.put_item, TableName=self._table, Item=serialize(item))

    async def delete(self, character_id: str) -> None:
        await call(self._ddb.delete_item, TableName=self._table,
                   Key=serialize({"character_id": character_id}))

    async def list(self, owner_id: str | None = None) -> list[Character]:
        """Built-in characters plus, when given, the ones ``owner_id`` created."""
        out: list[Character] = []
        for owner in [SYSTEM_OWNER] + ([owner_key(owner_id)] if owner_id else []):
            kwargs: dict[str, Any] = dict(TableName=self._table, IndexName="owner-index",
                                          KeyConditionExpression="owner_id = :o",
                                          ExpressionAttributeValues=serialize({":o": owner}))
            while True:
                resp = await call(self._ddb.query, **kwargs)
                out.extend(self._decode(i) for i in resp.get("Items", []))
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return sorted(out, key=lambda c: (c.owner_id is not None, c.name))

    @staticmethod
    def _decode(item: dict[str, Any]) -> Character:
        data = deserialize(item)
        data["owner_id"] = owner_of(str(data.get("owner_id") or SYSTEM_OWNER))
        return Character.model_validate(data)
