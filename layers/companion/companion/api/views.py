"""JSON views of domain objects that both HTTP apps return."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..models import ChatMessage

MESSAGE_FIELDS = {"msg_id", "role", "content", "timestamp", "session_id", "seq"}


def message_view(message: ChatMessage) -> dict[str, Any]:
    """A stored message as clients see it (metadata and token counts stay inside)."""
    return message.model_dump(include=MESSAGE_FIELDS)


def history_page(character_id: str, messages: Sequence[ChatMessage]) -> dict[str, Any]:
    """One page of the message log, oldest first, with the position to ask for the page before."""
    return {"character_id": character_id, "messages": [message_view(m) for m in messages],
            "next_before_seq": messages[0].seq if messages and messages[0].seq > 1 else None}
