"""A turn's vector reads the turn before it: a reply whose own words share nothing with the
question is still found by k-NN (real multilingual-e5 vectors through the real index), zh and en."""

from __future__ import annotations

import time

import pytest
from companion.bootstrap import Container
from companion.memory.documents import MemoryDoc


@pytest.mark.parametrize(("question", "reply", "query", "distractors"), [
    ("你这个周末去哪里玩了？", "去了西湖，还划了船", "我周末去哪儿玩了",
     ["我最近在学做饭", "今天加班到很晚", "我家的猫叫团子", "明天要交报告", "最近在看一部电视剧"]),
    ("Where did you go on vacation this summer?", "Lisbon! Ate pastel de nata every day.",
     "where did I go on my summer vacation",
     ["I started learning to cook", "Work was exhausting today", "My cat is called Mochi",
      "The report is due tomorrow", "I'm watching a new TV series"]),
])
async def test_a_reply_is_found_by_the_question_it_answers(container: Container, user_id: str, question: str,
                                                           reply: str, query: str, distractors: list[str]) -> None:
    index, embedder = container.memory_index, container.embedder
    assert index is not None and embedder is not None
    now = time.time()

    def doc(memory_id: str, content: str, context: str = "") -> MemoryDoc:
        return MemoryDoc(memory_id=memory_id, user_id=user_id, character_id="luna", memory_type="turn",
                         content=content, timestamp=now, session_id=memory_id, seq=1,
                         metadata={"role": "user", **({"context": context} if context else {})})

    # The same reply twice: embedded after its question (the worker's way) and alone.
    docs = [doc("with-context", reply, question), doc("alone", reply)]
    docs += [doc(f"other-{i}", text) for i, text in enumerate(distractors)]
    vectors = await embedder.embed_passages([d.embedding_text() for d in docs])
    for d, v in zip(docs, vectors, strict=True):
        d.embedding = v
    await index.bulk_upsert(docs, refresh=True)

    hits = await index.knn_search(user_id, "luna", await embedder.embed_query(query), 7)
    ranked = [h.memory_id for h in hits]
    assert ranked[0] == "with-context", ranked
    score = {h.memory_id: h.score for h in hits}
    assert score["with-context"] > score["alone"] + 0.01, score  # not a tie between equal vectors
    assert all(h.content == reply for h in hits if h.memory_id in ("with-context", "alone"))  # shown as said
