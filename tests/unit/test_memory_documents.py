"""Which text the worker embeds for each indexed memory (turns are read after the turn before them)."""

from __future__ import annotations

from companion.memory.documents import TURN_CONTEXT_CHARS, MemoryDoc, turn_documents, with_previous_turn
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
    docs = turn_documents(_task(messages), messages)
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
    [doc] = turn_documents(task, messages)
    assert doc.embedding_text() == "你猜我周末去哪了\n去海边了吧"
    # Another session's message, or a system message, is no context.
    for other in (before.model_copy(update={"session_id": "s0"}), before.model_copy(update={"role": "system"})):
        [doc] = turn_documents(task.model_copy(update={"context_before": [other]}), messages)
        assert doc.embedding_text() == "去海边了吧"


def test_the_turn_after_an_edited_turn_reads_the_new_text_and_forgets_a_deleted_one() -> None:
    messages = [ChatMessage(role="user", content="我养了一只猫", timestamp=1.0, seq=1, session_id="s1"),
                ChatMessage(role="assistant", content="它叫什么名字？", timestamp=2.0, seq=2, session_id="s1")]
    _, answer = turn_documents(_task(messages), messages)
    answer = answer.model_copy(update={"embedding": [0.1, 0.2]})
    new_text = "说来话长。" * TURN_CONTEXT_CHARS + "我养了一只狗"
    edited = with_previous_turn(answer, new_text)
    assert edited.embedding_text() == new_text[-TURN_CONTEXT_CHARS:] + "\n它叫什么名字？"
    assert "狗" in edited.embedding_text() and "猫" not in edited.embedding_text()
    assert edited.embedding is None  # the old vector read the old words: it must be computed again
    forgotten = with_previous_turn(answer, None)
    assert forgotten.embedding_text() == "它叫什么名字？" and "context" not in forgotten.metadata
    assert forgotten.metadata["msg_id"] == answer.metadata["msg_id"]  # the rest of the turn stays


def test_a_stored_document_reads_back_as_it_was_written() -> None:
    messages = [ChatMessage(role="user", content="I moved to Lisbon", timestamp=1_700_000_000.25, seq=7,
                            session_id="s1")]
    [doc] = turn_documents(_task(messages), messages)
    src = doc.model_copy(update={"embedding": [0.5]}).source()
    assert src["timestamp"] == 1_700_000_000_250  # the index stores epoch milliseconds
    assert MemoryDoc.from_source(src) == doc
