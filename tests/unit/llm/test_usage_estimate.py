"""One estimate for every provider that reports no usage."""

from __future__ import annotations

from companion.llm.base import Usage
from companion.text import estimate_tokens


def test_the_estimate_counts_each_message_with_its_framing_and_the_reply() -> None:
    messages = [{"role": "system", "content": "You are Luna."}, {"role": "user", "content": "我想你了"}]
    usage = Usage.estimate(messages, "Me too.")
    assert usage.estimated
    assert usage.prompt_tokens == estimate_tokens("You are Luna.") + estimate_tokens("我想你了") + 2 * 4
    assert usage.completion_tokens == estimate_tokens("Me too.")


def test_no_messages_and_no_reply_estimate_to_nothing() -> None:
    usage = Usage.estimate([], "")
    assert (usage.prompt_tokens, usage.completion_tokens) == (0, estimate_tokens(""))
