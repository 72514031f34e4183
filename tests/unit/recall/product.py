"""The product's recall configuration (the defaults in ``Settings``), bound into the pure functions
whose tuned parameters have no defaults of their own, so the tests exercise what the product runs."""

from __future__ import annotations

from functools import partial

from companion.config import Settings
from companion.memory.recall import prompt_block, ranking
from companion.memory.recall.service import RecallConfig

CONFIG = RecallConfig.from_settings(Settings(llm_chain=[]))

rank = partial(ranking.rank, weights=CONFIG.weights, half_life_days=CONFIG.half_life_days,
               max_items=CONFIG.max_memories, max_tokens=CONFIG.max_tokens, max_derived=CONFIG.max_derived)
recency = partial(ranking.recency, half_life_days=CONFIG.half_life_days)
upcoming_events = partial(prompt_block.upcoming_events, within_days=CONFIG.upcoming_days)
upcoming_events_hint = partial(prompt_block.upcoming_events_hint, within_days=CONFIG.upcoming_days)
