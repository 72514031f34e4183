"""What one memory-extraction LLM call returns (and what the rule extractor produces).

``ExtractionResult`` is validated with pydantic; ``EXTRACTION_JSON_SCHEMA`` is the same
shape in the form OpenAI's ``response_format: json_schema`` strict mode accepts (every
property required, ``additionalProperties: false``, no ``$ref``/``default``/numeric
bounds), wrapped as ``{"name", "strict", "schema"}`` so ``LLMProvider.complete(...,
json_schema=EXTRACTION_JSON_SCHEMA)`` can pass it through unchanged.

Text values (summary, topics, emotion, fact values, event titles/summaries) are in the
conversation's language; fact keys are English snake_case so merging by key is stable.

Every fact and event has a ``subject``: ``"user"`` (``USER``) when it is about the user, else
the other it is about as the user names them (a pet "豆豆", "Emma", or a role "妈妈"/"sister"
when unnamed), so "豆豆今年三岁" is ``subject="豆豆", key="age"`` and never the user's age.
``normalize_subject`` maps every way of saying "me" to ``"user"``.

``source_seqs`` (on facts, events and the result's summary) are the log positions of the user
messages a memory was taken from. Code sets them (the rules know the message they read,
``postprocess`` finds it for a model's answer); they are not in ``EXTRACTION_JSON_SCHEMA``, so a
model never has to write ids.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from ...llm.base import Usage

FactType = Literal["basic_info", "preference", "personality", "relationship"]
EventType = Literal["birthday", "anniversary", "achievement", "life_event", "emotional", "plan", "memory"]

# Synonyms models (and people) use for the same profile slot; one key per slot keeps
# "newer value supersedes older" working across calls.
KEY_ALIASES: dict[str, str] = {
    "occupation": "job", "profession": "job", "work": "job", "job_title": "job",
    "location": "city", "residence": "city", "current_city": "city", "lives_in": "city",
    "home_city": "city", "hometown_city": "hometown", "from": "hometown",
    "favourite_food": "favorite_food", "favorite_foods": "favorite_food",
    "full_name": "name", "user_name": "name", "first_name": "name",
    "date_of_birth": "birthday", "birth_date": "birthday", "dob": "birthday",
}

_NON_KEY = re.compile(r"[^0-9a-z]+")

USER = "user"
# Every way a model or a rule says "the user himself".
_SELF = {"", "user", "the user", "me", "i", "myself", "self", "the speaker", "speaker", "我", "自己", "我自己",
         "用户", "本人", "none", "null"}
_SUBJECT_OWNER = re.compile(r"^(?:(?:the\s+)?user's\s+|my\s+|our\s+|我们家的?|我家的?|我的|用户的|我(?=.))", re.I)


def normalize_subject(subject: str | None) -> str:
    """``"我家的猫"`` -> ``"猫"``, ``"my sister"`` -> ``"sister"``, ``"Me"``/``"我"``/``""`` -> ``"user"``.
    ``:`` is dropped: it separates the subject from the key in a stored fact's slot."""
    s = (subject or "").strip().strip("\"'“”‘’「」")
    s = _SUBJECT_OWNER.sub("", s).replace(":", " ").strip()
    return USER if s.casefold() in _SELF else s[:64]


def normalize_key(key: str) -> str:
    """``"Favorite Food"`` / ``"favorite-food"`` / ``"occupation"`` -> ``favorite_food`` / ``job``."""
    k = _NON_KEY.sub("_", key.strip().lower()).strip("_")
    k = k.replace("favourite", "favorite")
    return KEY_ALIASES.get(k, k)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ExtractedFact(_Strict):
    """One profile fact about the user (``basic_info/name = 小林``) or about an other the user
    talks about (``subject="豆豆", basic_info/age = 3``)."""

    subject: str = Field(default=USER, max_length=64,
                         description='"user" when the fact is about the user; else the name the user gives '
                                     'the other (pet, family member, friend), or their role when unnamed.')
    type: FactType
    # No list of example slots here or in the prompt: a model fills every slot it is shown.
    key: str = Field(min_length=1, max_length=64,
                     description="English snake_case name of the slot; the known key when the slot is known.")
    value: str = Field(min_length=1, max_length=500,
                       description="What the user said, in the user's words and language.")
    confidence: float = Field(ge=0.0, le=1.0, description="0..1: how sure the user really said this.")
    source_seqs: SkipJsonSchema[list[int]] = Field(default_factory=list)

    @field_validator("key")
    @classmethod
    def _norm_key(cls, v: str) -> str:
        k = normalize_key(v)
        if not k:
            raise ValueError("key must contain letters or digits")
        return k

    @field_validator("subject", mode="before")
    @classmethod
    def _norm_subject(cls, v: object) -> str:
        return normalize_subject(v if isinstance(v, str) else None)


class ExtractedEvent(_Strict):
    """Something that happened or will happen in the user's life (or in the life of an other the
    user talks about: ``subject`` as on ``ExtractedFact``)."""

    subject: str = Field(default=USER, max_length=64,
                         description='"user", or the name/role of the other the event is about.')
    type: EventType
    title: str = Field(min_length=1, max_length=200, description="Short title, conversation's language.")
    summary: str = Field(max_length=1000, description="One or two sentences, conversation's language.")
    date_phrase: str = Field(default="", max_length=80,
                             description='The words that give the day, copied as said ("下周二", "next '
                                         'Tuesday"), or "".')
    date: str | None = Field(description="ISO yyyy-mm-dd resolved against the date of the message, or null.")
    recurring: bool = Field(default=False,
                            description="True for yearly dates (birthdays, anniversaries); date is then "
                                        "the next occurrence.")
    emotion: str = Field(default="", max_length=40)
    importance: int = Field(ge=1, le=10, description="1 (trivia) .. 10 (life-changing).")
    source_seqs: SkipJsonSchema[list[int]] = Field(default_factory=list)

    @field_validator("subject", mode="before")
    @classmethod
    def _norm_subject(cls, v: object) -> str:
        return normalize_subject(v if isinstance(v, str) else None)

    @field_validator("date_phrase", mode="before")
    @classmethod
    def _phrase(cls, v: object) -> str:
        return v.strip()[:80] if isinstance(v, str) else ""

    @field_validator("date")
    @classmethod
    def _iso_date(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        try:
            return date.fromisoformat(v.strip()[:10]).isoformat()
        except ValueError as exc:
            raise ValueError(f"date must be ISO yyyy-mm-dd or null, got {v!r}") from exc


class ExtractionResult(_Strict):
    """The single structured answer of a memory-extraction call."""

    summary: str = Field(max_length=2000, description="Summary of the segment, conversation's language.")
    topics: list[str] = Field(max_length=20, description="A few short topic keywords.")
    emotion: str = Field(max_length=40, description="Overall emotional tone of the user.")
    facts: list[ExtractedFact]
    events: list[ExtractedEvent]
    # The messages the summary's clauses were taken from; none for a summary written in other words.
    summary_source_seqs: SkipJsonSchema[list[int]] = Field(default_factory=list)


# Keywords strict mode rejects (or some OpenAI-compatible servers do); pydantic still enforces them.
_DROP = {"title", "default", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
         "minLength", "maxLength", "minItems", "maxItems", "pattern", "format"}


def _strictify(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_strictify(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # inline: some OpenAI-compatible servers do not resolve $defs
        return _strictify(copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]]), defs)
    out = {k: _strictify(v, defs) for k, v in node.items() if k not in _DROP and k != "$defs"}
    if isinstance(node.get("properties"), dict):  # property names are data, not keywords
        out["properties"] = {name: _strictify(sub, defs) for name, sub in node["properties"].items()}
    if out.get("type") == "object" and "properties" in out:
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
        out.pop("description", None)  # a class docstring, with examples a model would copy
    return out


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model.model_json_schema()`` rewritten for OpenAI strict structured outputs."""
    raw = model.model_json_schema()
    return _strictify(raw, raw.get("$defs", {}))


EXTRACTION_SCHEMA_NAME = "memory_extraction"
EXTRACTION_JSON_SCHEMA: dict[str, Any] = {
    "name": EXTRACTION_SCHEMA_NAME,
    "strict": True,
    "schema": strict_json_schema(ExtractionResult),
}


class ExtractionOutcome(BaseModel):
    """An extraction plus what it cost: the worker logs/meters ``llm_calls`` and ``usage``."""

    result: ExtractionResult
    llm_calls: int = 0  # 0: rule-based; 1: valid first answer; 2: repaired
    usage: Usage = Field(default_factory=Usage)
    method: Literal["llm", "rules"] = "llm"
    model: str = ""
    language: str = "en"  # the conversation's language (detect_language over user text)


class ExtractionFailed(Exception):
    """The model's answer stayed invalid after the one repair attempt.

    The worker must fail the task (SQS redelivers it) and write nothing.
    """

    def __init__(self, message: str, *, llm_calls: int, usage: Usage, last_answer: str = "") -> None:
        super().__init__(message)
        self.llm_calls = llm_calls
        self.usage = usage
        self.last_answer = last_answer
