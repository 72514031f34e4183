"""Which text the worker embeds for each indexed memory (turns are read after the turn before them)."""

from __future__ import annotations

from companion.adapters.opensearch_index import TURN_CONTEXT_CHARS
from companion.memory.generation import MemoryGenerator
from companion.models import ChatMessage, MemoryTask


def _task(messages: list[ChatMessage]) -> MemoryTask:
    return MemoryTask(task_id="t1", user_id="u1", character_id="luna", session_id="s1", trigger="manual",
                      from_seq=messages[0].seq, to_seq=messages[-1].seq, messages=messages)


def test_a_turn_is_embedded_after_the_previous_turn_of_its_session() -> None:
    long_question = "Q" * (TURN_CONTEXT_CHARS + 100) + " did you go hiking?"
    messages = [
        ChatMessage(role="user", content="我周末去爬山了", timestamp=1.0, seq=1, session_id="s1"),
        ChatMessage(role="assistant", content="哪座山？", timestamp=2.0, seq=2, session_id="s1"),
        ChatMessage(role="user", content=long_question, timestamp=3.0, seq=3, session_id="s1"),
        ChatMessage(role="assistant", content="Yes, last Sunday!", timestamp=4.0, seq=4, session_id="s1"),
        ChatMessage(role="user", content="新的一天", timestamp=5.0, seq=5, session_id="s2"),
    ]
    docs = MemoryGenerator._documents(_task(messages), messages, [], [], None)
    texts = [d.embedding_text() for d in docs]
    assert texts[0] == "我周末去爬山了"  # the segment's first turn: nothing before it
    assert texts[1] == "我周末去爬山了\n哪座山？"
    # A long previous turn contributes its end (the part the turn answers), capped.
    assert texts[3] == long_question[-TURN_CONTEXT_CHARS:] + "\nYes, last Sunday!"
    assert texts[3].endswith("did you go hiking?\nYes, last Sunday!")
    assert texts[4] == "新的一天"  # another session's turn is not context
    # Only the vector sees the context: the searchable and shown text is the turn itself.
    assert [d.content for d in docs] == [m.content for m in messages]
    assert all("context" not in d.source() or d.source()["metadata"].get("context") for d in docs)


def test_the_first_turn_of_a_segment_reads_the_message_before_it() -> None:
    before = ChatMessage(role="user", content="你猜我周末去哪了", timestamp=1.0, seq=4, session_id="s1")
    messages = [ChatMessage(role="assistant", content="去海边了吧", timestamp=2.0, seq=5, session_id="s1")]
    task = _task(messages).model_copy(update={"context_before": [before]})
    [doc] = MemoryGenerator._documents(task, messages, [], [], None)
    assert doc.embedding_text() == "你猜我周末去哪了\n去海边了吧"
    # Another session's message, or a system message, is no context.
    for other in (before.model_copy(update={"session_id": "s0"}), before.model_copy(update={"role": "system"})):
        [doc] = MemoryGenerator._documents(task.model_copy(update={"context_before": [other]}), messages, [], [],
                                           None)
        assert doc.embedding_text() == "去海边了吧"
