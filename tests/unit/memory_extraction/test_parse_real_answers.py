"""Answers seen from a real small model (SmolLM2-135M via xllamacpp): pretty-printed, an echoed
conversation line before the object, braces in prose. The first object that passes the schema is
the answer; the repair prompt names the first object's errors."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from companion.llm.base import Completion, Usage
from companion.memory.extraction import extract, parse_extraction
from companion.memory.extraction.llm_extractor import CUT_MARK
from companion.models import ChatMessage

GOOD = {"summary": "用户叫小林", "topics": ["生日"], "emotion": "开心",
        "facts": [{"subject": "user", "type": "basic_info", "key": "name", "value": "小林", "confidence": 0.9}],
        "events": []}
ECHO = '{\n  "role": "user",\n  "date": "2026-11-21 Saturday",\n  "text": "我叫小林"}\n'


def test_pretty_printed_answer_parses() -> None:
    assert parse_extraction(json.dumps(GOOD, ensure_ascii=False, indent=2)).facts[0].value == "小林"


def test_an_echoed_line_before_the_object_is_skipped() -> None:
    assert parse_extraction(ECHO + json.dumps(GOOD, ensure_ascii=False)).summary == "用户叫小林"


def test_braces_in_prose_before_the_object_are_skipped() -> None:
    text = "Here is the {memory} you asked for: " + json.dumps(GOOD) + "\nDone {ok}"
    assert parse_extraction(text).topics == ["生日"]


def test_only_echoes_report_the_first_objects_schema_errors() -> None:
    with pytest.raises(ValueError, match=r"schema violation: summary: Field required.*role: Extra inputs"):
        parse_extraction(ECHO + ECHO)


def test_a_truncated_answer_reports_invalid_json() -> None:
    with pytest.raises(ValueError, match="invalid JSON"):
        parse_extraction(json.dumps(GOOD)[:60])


def test_prose_without_json_says_so() -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        parse_extraction("I am sorry, I cannot help with that.")


class _Cut:
    """A model that loops until the token limit (as SmolLM2-135M did), then answers well."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, str]]] = []

    async def complete(self, messages: Any, *, json_schema: Any = None, max_tokens: int = 2048,
                       temperature: float = 0.2) -> Completion:
        self.calls.append(messages)
        if len(self.calls) == 1:
            loop = '{\n  "summary": "' + "today is Tuesday, and " * 400
            return Completion(text=loop, usage=Usage(prompt_tokens=50, completion_tokens=max_tokens), model="m")
        return Completion(text=json.dumps(GOOD, ensure_ascii=False), usage=Usage(completion_tokens=40), model="m")


async def test_a_cut_answer_gets_a_repair_that_says_so_and_is_not_shown_whole() -> None:
    model = _Cut()
    msgs = [ChatMessage(role="user", content="我叫小林")]
    out = await extract(model, msgs, now=datetime(2026, 11, 21, 20, 0), max_tokens=512)
    assert out.llm_calls == 2 and out.result.facts[0].value == "小林"
    shown, repair = model.calls[1][-2]["content"], model.calls[1][-1]["content"]
    assert "cut off at the limit of 512 tokens" in repair and "invalid JSON" in repair
    assert len(shown) < 700 and shown.endswith(CUT_MARK)
