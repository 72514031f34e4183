"""The web page in real Chromium against the stack `make dev` starts (`python -m infra.local`): the page
and the chat function from the chat process, the memory API from the local HTTP API (API Gateway v2
events → the Mangum handler), the memory worker behind the stack's own SQS poller."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.fixtures.local_stack import RunningStack

from .conftest import screenshot
from .test_page import pick, say, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]  # a stack start and the worker's first model load


def test_chat_end_session_and_memory_panel_against_make_devs_stack(local_stack: RunningStack,
                                                                   open_page: Callable[..., Any]) -> None:
    page = open_page(local_stack, locale="zh-CN")
    sign_in(page, f"小林{uuid.uuid4().hex[:6]}")  # the page asks the chat process for a dev token (POST /dev/token)
    pick(page, "xiaoyu")
    expect(page.locator("#log li.greeting")).to_have_text("嗨～今天过得怎么样？")

    reply = say(page, "你好，我叫小林，我最喜欢吃火锅")
    assert reply.get_attribute("data-model") == "offline"  # no model configured: the stack's offline model
    assert reply.locator(".text").inner_text().strip()

    page.click("#end-session")
    expect(page.locator("#status")).to_have_text("会话已结束：3 条消息将进入长期记忆。")  # the greeting, then a turn
    # The stack's poller hands the task to the worker: wait for the memory API to hold the fact.
    token = page.evaluate("sessionStorage.getItem('companion.token')")
    deadline = time.monotonic() + 90
    facts: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not any(f["value"] == "小林" for f in facts):
        time.sleep(0.5)
        facts = httpx.get(f"{local_stack.memory_url}/api/v1/memory/facts", params={"character_id": "xiaoyu"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30).json()["items"]
    assert any(f["value"] == "小林" for f in facts), facts

    page.click("#open-memory")  # the panel reads the memory API across origins (CORS as the template sets it)
    expect(page.locator("#memory-title")).to_have_text("小雨记得的关于你的事")
    expect(page.locator("#memory-facts li[data-item-type=fact]", has_text="小林")).to_have_count(1)
    expect(page.locator("#memory-facts li[data-item-type=fact]", has_text="火锅")).to_have_count(1)

    reply = say(page, "你还记得我叫什么吗？")
    assert int(reply.get_attribute("data-memories") or 0) > 0
    expect(reply.locator(".memory-note")).to_contain_text("用到了")
    screenshot(page, "zh-local-stack")
