"""Characters in DynamoDB. Built-in characters carry owner_id "system" (the GSI key cannot be null)."""

from __future__ import annotations

from urllib.parse import unquote

from ..models import Character
from .dynamodb_codec import serialize
from .dynamodb_table import DynamoTable, Item

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
        data = await self._get({"character_id": character_id})
        return self._decode(data) if data is not None else None

    async def put(self, character: Character) -> None:
        item = character.model_dump()
        item["owner_id"] = owner_key(character.owner_id)
        await self._put(item)

    async def delete(self, character_id: str) -> None:
        await self._request("delete_item", Key=serialize({"character_id": character_id}))

    async def list(self, owner_id: str | None = None) -> list[Character]:
        """Built-in characters plus, when given, the ones ``owner_id`` created."""
        out: list[Character] = []
        for owner in [SYSTEM_OWNER] + ([owner_key(owner_id)] if owner_id else []):
            items = await self._query_all(IndexName="owner-index", KeyConditionExpression="owner_id = :o",
                                          ExpressionAttributeValues=serialize({":o": owner}))
            out.extend(self._decode(i) for i in items)
        return sorted(out, key=lambda c: (c.owner_id is not None, c.name))

    @staticmethod
    def _decode(data: Item) -> Character:
        data["owner_id"] = owner_of(str(data.get("owner_id") or SYSTEM_OWNER))
        return Character.model_validate(data)
