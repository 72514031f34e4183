"""A question naming a date finds the turn that spoke of that day as "yesterday" / "上周五", through the
worker's own documents (``task_documents`` fills ``when``) in the OpenSearch emulator; zh and en."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from companion.bootstrap import Container
from companion.memory.documents import task_documents
from companion.memory.recall.service import MemoryRecaller
from companion.models import ChatMessage, MemoryTask


def _ts(y: int, m: int, d: int, hour: int = 20) -> float:
    return datetime(y, m, d, hour, tzinfo=UTC).timestamp()


NOW = _ts(2026, 12, 10, 12)  # a Thursday


async def _sessions(c: Container, user_id: str, character_id: str,
                    sessions: list[tuple[float, str]]) -> list[str]:
    """One session per (time, user text), each with an assistant reply; the user turns' ids back."""
    assert c.memory_index is not None
    ids, docs = [], []
    for n, (ts, text) in enumerate(sessions):
        sid = f"s{n}-{uuid.uuid4().hex[:6]}"
        messages = [ChatMessage(role="user", content=text, timestamp=ts, seq=2 * n + 1, session_id=sid),
                    ChatMessage(role="assistant", content="That sounds lovely! 听起来很棒！", timestamp=ts + 30,
                                seq=2 * n + 2, session_id=sid)]
        task = MemoryTask(task_id=uuid.uuid4().hex, user_id=user_id, character_id=character_id, session_id=sid,
                          trigger="session_end", from_seq=messages[0].seq, to_seq=messages[-1].seq, messages=messages)
        made = task_documents(task, messages)
        ids.append(made[0].memory_id)
        docs.extend(made)
    if c.embedder is not None:
        vectors = await c.embedder.embed_passages([d.embedding_text() for d in docs])
        for d, v in zip(docs, vectors, strict=True):
            d.embedding = v
    await c.memory_index.bulk_upsert(docs, refresh=True)
    return ids


def _recaller(c: Container, **changes: object) -> MemoryRecaller:
    assert isinstance(c.recaller, MemoryRecaller)
    base = c.recaller
    config = dataclasses.replace(base.config, policy="always", max_memories=1, **changes)  # type: ignore[arg-type]
    return MemoryRecaller(index=base.index, store=base.store, embedder=base.embedder, config=config,
                          turn_context=base.turn_context, clock=lambda: NOW)


async def test_a_named_day_finds_the_turn_that_said_yesterday_en(container: Container, user_id: str) -> None:
    # Three hikes, alike in words; only the day the question names tells them apart. The newest one
    # would win on recency alone.
    ids = await _sessions(container, user_id, "luna", [
        (_ts(2026, 11, 5), "Yesterday I went hiking up Mount Tam with my sister."),
        (_ts(2026, 10, 20), "I went hiking up Mount Diablo with my sister today."),
        (_ts(2026, 12, 1), "I went hiking up Lake Tahoe's ridge with my sister last weekend."),
    ])
    question = "Where did I go hiking with my sister on 4 November?"
    result = await _recaller(container).recall(user_id, "luna", question, language="en")
    assert result.memories and result.memories[0].memory_id == ids[0], result.memories
    assert "dates" in result.memories[0].source and "dates" in result.sources
    # "last weekend" said on Tuesday 1 December is 28-29 November: a question naming that weekend finds it.
    weekend = await _recaller(container).recall(user_id, "luna", "Where did I go hiking on 29 November?",
                                                language="en")
    assert weekend.memories[0].memory_id == ids[2], weekend.memories


async def test_a_named_day_finds_the_turn_that_said_last_friday_zh(container: Container, user_id: str) -> None:
    ids = await _sessions(container, user_id, "xiaoyu", [
        (_ts(2026, 11, 24), "上周五我和妹妹去香山爬山了。"),  # said on a Tuesday: Friday 20 November
        (_ts(2026, 11, 2), "今天我和妹妹去香山爬山了。"),
        (_ts(2026, 12, 8), "昨天我和妹妹去香山爬山了。"),
    ])
    result = await _recaller(container).recall(user_id, "xiaoyu", "我11月20日和妹妹去哪儿爬山了？", language="zh")
    assert result.memories and result.memories[0].memory_id == ids[0], result.memories
    # A question in relative terms resolves against the day it is asked (Thursday 10 December):
    # "前天" is 8 December, the day the third turn was written.
    day_before = await _recaller(container).recall(user_id, "xiaoyu", "前天我跟你说了什么？", language="zh")
    shown = day_before.memories[0].metadata.get("turn_ids") or [day_before.memories[0].memory_id]
    assert ids[2] in shown, day_before.memories  # that day's window (its reply may be the hit)


async def test_without_the_date_search_the_day_is_not_told_apart(container: Container, user_id: str) -> None:
    """The lever is what finds it: the same question without the date search ranks another hike first."""
    ids = await _sessions(container, user_id, "luna", [
        (_ts(2026, 11, 5), "Yesterday I went hiking up Mount Tam with my sister."),
        (_ts(2026, 12, 1), "I went hiking up Lake Tahoe's ridge with my sister last weekend."),
    ])
    question = "Where did I go hiking with my sister on 4 November?"
    off = await _recaller(container, date_search=False).recall(user_id, "luna", question, language="en")
    assert "dates" not in off.sources
    on = await _recaller(container).recall(user_id, "luna", question, language="en")
    assert on.memories[0].memory_id == ids[0]
    assert off.memories[0].memory_id != ids[0]
