"""Memory extraction: one conversation segment -> summary, topics, emotion, facts, events.

    from companion.memory.extraction import extract, extract_with_rules

    outcome = await extract(provider, messages, now=conversation_dt, known_facts=facts)  # one LLM call
    outcome = extract_with_rules(messages, now=conversation_dt)  # offline provider, no model

Both return ``ExtractionOutcome(result: ExtractionResult, llm_calls, usage, method, model,
language)``. ``extract`` raises ``ExtractionFailed`` when the answer is still invalid after
one repair attempt, and lets ``ProviderError`` through (the worker fails the task either
way, so SQS retries it and nothing is half-written).
"""

from .llm_extractor import build_messages, extract, parse_extraction
from .rules import extract_with_rules
from .schema import (
    EXTRACTION_JSON_SCHEMA,
    ExtractedEvent,
    ExtractedFact,
    ExtractionFailed,
    ExtractionOutcome,
    ExtractionResult,
)

__all__ = [
    "EXTRACTION_JSON_SCHEMA",
    "ExtractedEvent",
    "ExtractedFact",
    "ExtractionFailed",
    "ExtractionOutcome",
    "ExtractionResult",
    "build_messages",
    "extract",
    "extract_with_rules",
    "parse_extraction",
]
