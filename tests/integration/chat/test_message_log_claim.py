"""The memory watermark of the durable log (moto's DynamoDB): a claim moves it once, and a
conversation stays in the sweeper's index exactly while some of its messages are unclaimed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from companion.adapters.dynamodb_messages import DynamoMessageLog
from companion.config import Settings
from companion.models import ChatMessage


def _log(settings_factory: Callable[..., Settings]) -> DynamoMessageLog:
    s = settings_factory()
    return DynamoMessageLog(s.messages_table, endpoint_url=s.aws_endpoint_url)


def _turn(n: int) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=f"message {n}"), ChatMessage(role="assistant", content=f"reply {n}")]


async def _pending(log: DynamoMessageLog, user: str) -> bool:
    found = await log.pending_conversations(idle_before=time.time() + 60, limit=1000)
    return any(c.get("user_id") == user for c in found)


async def test_claiming_everything_leaves_the_sweepers_index(settings_factory: Callable[..., Settings]) -> None:
    log, user = _log(settings_factory), f"u-{uuid.uuid4().hex[:10]}"
    await log.append(user, "luna", "s1", _turn(1) + _turn(2))
    assert await _pending(log, user)
    assert await log.claim(user, "luna", 0, 4)
    conv = await log.conversation(user, "luna")
    assert conv is not None and int(conv["processed_upto"]) == 4 and "pending_shard" not in conv
    assert not await _pending(log, user)
    await log.append(user, "luna", "s1", _turn(3))  # new messages: pending again
    assert await _pending(log, user)


async def test_a_partial_claim_keeps_the_conversation_pending(settings_factory: Callable[..., Settings]) -> None:
    log, user = _log(settings_factory), f"u-{uuid.uuid4().hex[:10]}"
    await log.append(user, "luna", "s1", _turn(1) + _turn(2))
    assert await log.claim(user, "luna", 0, 2)
    conv = await log.conversation(user, "luna")
    assert conv is not None and int(conv["processed_upto"]) == 2 and int(conv["next_seq"]) == 4
    assert await _pending(log, user)


async def test_a_claim_from_a_stale_watermark_or_beyond_the_log_fails(
        settings_factory: Callable[..., Settings]) -> None:
    log, user = _log(settings_factory), f"u-{uuid.uuid4().hex[:10]}"
    await log.append(user, "luna", "s1", _turn(1))
    assert await log.claim(user, "luna", 0, 2)
    assert not await log.claim(user, "luna", 0, 2)  # another trigger already took it
    assert not await log.claim(user, "luna", 2, 3)  # no message 3 yet
    conv = await log.conversation(user, "luna")
    assert conv is not None and int(conv["processed_upto"]) == 2
