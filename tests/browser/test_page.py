"""The web chat page in real Chromium against the chat app and the memory API over the real stores."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from companion.api import chat_sse as sse
from playwright.sync_api import expect

from .conftest import Stack, screenshot


def sign_in(page: Any, name: str) -> None:
    page.fill("#signin-name", name)
    page.click("#local-signin button[type=submit]")
    expect(page.locator("#app")).to_be_visible()


def pick(page: Any, character_id: str) -> None:
    page.click(f"#characters button[data-character-id='{character_id}']")
    expect(page.locator(f"#characters button[data-character-id='{character_id}']")).to_have_attribute(
        "aria-current", "true")
    expect(page.locator("#log")).to_have_attribute("data-character", character_id)  # greeting and history drawn


def say(page: Any, text: str) -> Any:
    """Types ``text``, presses Enter, waits for the reply to end; returns the reply's <li>."""
    before = page.locator("#log li.assistant").count()
    page.fill("#input", text)
    page.press("#input", "Enter")
    reply = page.locator("#log li.assistant").nth(before)
    expect(reply).to_have_attribute("data-state", "done", timeout=60_000)
    return reply


def test_chat_end_session_memory_and_recall_in_chinese(stack: Stack, open_page: Callable[..., Any]) -> None:
    page = open_page(stack, locale="zh-CN")
    expect(page.locator("#signin h2")).to_have_text("登录")  # navigator.language zh → the Chinese UI
    sign_in(page, f"小林{uuid.uuid4().hex[:6]}")
    with page.expect_request("**/api/v1/chat/stream") as sent:
        pick(page, "xiaoyu")
        expect(page.locator("#log li.greeting")).to_have_text("嗨～今天过得怎么样？")  # from the start route

        reply = say(page, "你好，我叫小林，我最喜欢吃火锅")
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert json.loads(sent.value.post_data or "{}")["time_zone"] == zone  # the character knows the user's clock
    assert page.locator("#log li.user").last.inner_text() == "你好，我叫小林，我最喜欢吃火锅"
    assert reply.locator(".text").inner_text().strip()  # the streamed reply is on the page

    page.click("#end-session")
    expect(page.locator("#status")).to_have_text("会话已结束：3 条消息将进入长期记忆。")  # the greeting, then a turn
    stats = stack.run_worker()
    assert stats["succeeded"] >= 1, stats

    page.click("#open-memory")
    expect(page.locator("#memory-title")).to_have_text("小雨记得的关于你的事")
    name_fact = page.locator("#memory-facts li[data-item-type=fact]", has_text="小林")
    expect(name_fact).to_have_count(1)
    expect(name_fact.locator(".when")).to_contain_text("自 ")  # the date it is known since

    reply = say(page, "你还记得我叫什么吗？")
    assert int(reply.get_attribute("data-memories")) > 0
    expect(reply.locator(".memory-note")).to_contain_text("用到了")
    screenshot(page, "zh-memory-loop")


def test_edit_and_delete_memories_in_english_and_export(stack: Stack, open_page: Callable[..., Any]) -> None:
    page = open_page(stack, locale="en-US")
    user = f"sam-{uuid.uuid4().hex[:6]}"
    sign_in(page, user)
    pick(page, "luna")
    say(page, "Hi, my name is Sam and I love pizza")
    page.click("#end-session")
    expect(page.locator("#status")).to_contain_text("Session ended: 3 message(s)")
    stack.run_worker()

    page.click("#open-memory")
    expect(page.locator("#memory-title")).to_have_text("What Luna remembers about you")
    name_fact = page.locator("#memory-facts li", has_text="Sam")
    food_fact = page.locator("#memory-facts li", has_text="pizza")
    expect(name_fact).to_have_count(1)
    expect(food_fact).to_have_count(1)

    name_fact.locator("button.edit").click()
    name_fact.locator("input[name=value]").fill("Samuel")
    name_fact.locator("button[type=submit]").click()
    expect(page.locator("#memory-facts li", has_text="Samuel")).to_have_count(1)

    page.once("dialog", lambda d: d.accept())
    food_fact.locator("button.delete").click()
    expect(page.locator("#memory-facts li", has_text="pizza")).to_have_count(0)

    # What the page shows is what the memory API holds.
    token = page.evaluate("sessionStorage.getItem('companion.token')")
    facts = httpx.get(f"{stack.memory_url}/api/v1/memory/facts", params={"character_id": "luna"},
                      headers={"Authorization": f"Bearer {token}"}).json()["items"]
    values = [f["value"] for f in facts]
    assert "Samuel" in values and not any("pizza" in v for v in values)

    with page.expect_download() as download:
        page.click("#export")
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert "Samuel" in [f["value"] for f in exported["memories"]["facts"]]
    screenshot(page, "en-memory-panel")

    page.once("dialog", lambda d: d.accept())
    page.click("#forget")
    expect(page.locator("#status")).to_contain_text("Luna has forgotten you:")
    expect(page.locator("#memory-facts li")).to_have_text(["Nothing yet."])
    expect(page.locator("#memory-summaries li")).to_have_text(["Nothing yet."])
    expect(page.locator("#log li.user")).to_have_count(0)  # the conversation is gone too


def test_import_a_card_pick_its_greeting_and_chat_with_it(stack: Stack, open_page: Callable[..., Any],
                                                          tmp_path: Path) -> None:
    card = {"spec": "chara_card_v2", "spec_version": "2.0",
            "data": {"name": "阿青", "description": "一位住在山里的茶农", "personality": "安静",
                     "first_mes": "你来啦，{{user}}，先喝杯茶吧。", "alternate_greetings": ["下雨了，{{user}}进来坐。"],
                     "creator_notes": "ignored"}}
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    page = open_page(stack, locale="en-US")
    name = f"tea-{uuid.uuid4().hex[:6]}"
    sign_in(page, name)

    page.set_input_files("#import-file", str(path))
    expect(page.locator("#status")).to_have_text("Imported 阿青.")
    expect(page.locator("#characters button", has_text="阿青")).to_have_attribute("aria-current", "true")
    greeting = page.locator("#log li.greeting")
    expect(greeting).to_have_text(f"你来啦，{name}，先喝杯茶吧。")  # {{user}}: the name the token carries
    expect(page.locator("#greeting-count")).to_have_text("Greeting 1 of 2")
    page.click("#next-greeting")  # as swiping the first message in SillyTavern
    expect(greeting).to_have_text(f"下雨了，{name}进来坐。")
    expect(page.locator("#greeting-count")).to_have_text("Greeting 2 of 2")
    screenshot(page, "en-greeting-picker")

    reply = say(page, "你好，茶好喝吗？")
    assert reply.locator(".text").inner_text().strip()
    expect(page.locator("#greeting-picker")).to_be_hidden()  # the user has written: the greeting stays
    # Picked again (or after a reload), the conversation shows its greeting once, from the server's history.
    pick(page, "xiaoyu")
    page.click("#characters button:has-text('阿青')")
    expect(page.locator("#log")).not_to_have_attribute("data-character", "xiaoyu")
    expect(page.locator("#log li")).to_have_count(3)
    expect(page.locator("#log li.greeting")).to_have_text(f"下雨了，{name}进来坐。")
    expect(page.locator("#greeting-picker")).to_be_hidden()

    bad = tmp_path / "not-a-card.json"
    bad.write_text('["not", "a", "card"]', encoding="utf-8")
    page.set_input_files("#import-file", str(bad))
    expect(page.locator("#status")).to_contain_text("That file could not be imported: ")


def test_import_a_png_card(stack: Stack, open_page: Callable[..., Any], tmp_path: Path) -> None:
    from tests.unit.cards.samples import png

    card = {"spec": "chara_card_v2", "spec_version": "2.0",
            "data": {"name": "Momo", "description": "A cheerful baker.", "first_mes": "Fresh bread, {{user}}?"}}
    path = tmp_path / "momo.png"
    path.write_bytes(png(texts={"chara": base64.b64encode(json.dumps(card).encode()).decode()}))
    page = open_page(stack, locale="en-US")
    name = f"baker-{uuid.uuid4().hex[:6]}"
    sign_in(page, name)
    with page.expect_request("**/api/v1/characters/import") as sent:
        page.set_input_files("#import-file", str(path))
    assert sent.value.headers["content-type"] == "image/png"  # the file itself, as the server reads it
    expect(page.locator("#status")).to_have_text("Imported Momo.")
    expect(page.locator("#log li.greeting")).to_have_text(f"Fresh bread, {name}?")
    expect(page.locator("#greeting-picker")).to_be_hidden()  # one greeting: nothing to pick


def test_enter_while_composing_does_not_send(stack: Stack, open_page: Callable[..., Any]) -> None:
    page = open_page(stack, locale="zh-CN")
    sign_in(page, f"输入法{uuid.uuid4().hex[:6]}")
    pick(page, "xiaoyu")
    page.fill("#input", "ni hao")
    # An input method's Enter picks a candidate: isComposing in modern browsers, keyCode 229 in older ones.
    page.evaluate("""() => {
        const input = document.getElementById('input');
        input.dispatchEvent(new KeyboardEvent('keydown',
            {key: 'Enter', isComposing: true, bubbles: true, cancelable: true}));
        const legacy = new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true});
        Object.defineProperty(legacy, 'keyCode', {get: () => 229});
        input.dispatchEvent(legacy);
    }""")
    page.press("#input", "Shift+Enter")
    assert page.locator("#log li.user").count() == 0
    assert page.input_value("#input") == "ni hao\n"

    page.fill("#input", "你好")
    page.press("#input", "Enter")  # composition over: Enter sends
    expect(page.locator("#log li.user")).to_have_text("你好")
    expect(page.locator("#log li.assistant").last).to_have_attribute("data-state", "done", timeout=60_000)


def test_errors_a_person_can_understand(start_stack: Callable[..., Stack], open_page: Callable[..., Any]) -> None:
    from infra.local.services import free_port

    dead_model = json.dumps([{"name": "down", "provider": "openai", "model": "m", "api_key": "k",
                              "base_url": f"http://127.0.0.1:{free_port()}/v1"}])
    stack = start_stack(LLM_CHAIN=dead_model, RATE_LIMIT_USER_PER_MINUTE="1")
    page = open_page(stack, locale="en-US")
    sign_in(page, f"err-{uuid.uuid4().hex[:6]}")
    pick(page, "luna")

    reply = say(page, "hello?")  # the model is down: the canned reply comes, said gently
    assert reply.get_attribute("data-model") == "canned"
    expect(reply.locator(".note")).to_contain_text("The model is not available right now")

    page.fill("#input", "again")
    page.press("#input", "Enter")  # the second message in a minute: rate limited, with Retry-After
    expect(page.locator("#status")).to_contain_text("You are sending messages too fast. Please wait ")
    assert page.locator("#status").inner_text().split("wait ")[1].split(" s")[0].isdigit()
    expect(page.locator("#log li.user").last.locator(".note")).to_have_text("Not sent.")

    # The connection drops mid-reply: the partial text stays, and the page says it was cut off.
    page.route("**/api/v1/chat/stream", lambda route: route.fulfill(
        status=200, content_type="text/event-stream",
        body=(sse.delta("Once upon ") + sse.delta("a time")).decode()))
    page.fill("#input", "tell me a story")
    page.press("#input", "Enter")
    cut = page.locator("#log li.assistant").last
    expect(cut).to_have_attribute("data-state", "cut-off")
    expect(cut.locator(".text")).to_have_text("Once upon a time")
    expect(cut.locator(".note")).to_have_text("The connection dropped: the reply was cut off here.")

    page.unroute("**/api/v1/chat/stream")
    page.route("**/api/v1/chat/stream", lambda route: route.fulfill(
        status=200, content_type="text/event-stream",
        body=(sse.delta("Hm") + sse.error("the model stopped unexpectedly", code="model_error")).decode()))
    page.fill("#input", "and then?")
    page.press("#input", "Enter")
    failed = page.locator("#log li.assistant").last
    expect(failed).to_have_attribute("data-state", "error")
    expect(failed.locator(".note")).to_have_text("The reply stopped: the model stopped unexpectedly")
    screenshot(page, "en-errors")


def test_a_token_from_the_identity_provider_signs_in(stack: Stack, open_page: Callable[..., Any]) -> None:
    token = httpx.post(f"{stack.chat_url}/dev/token", json={"user": "cognito-user"}).json()["token"]
    page = open_page(stack, locale="en-US")
    # "Paste a token" (a Bearer prefix is tolerated).
    page.fill("#signin-token", f"Bearer {token}")
    page.click("#token-signin button[type=submit]")
    expect(page.locator("#whoami")).to_have_text("Signed in as cognito-user")
    expect(page.locator("#characters button")).not_to_have_count(0)
    page.click("#lang-switch")  # the zh/en switch
    expect(page.locator("#whoami")).to_have_text("已登录：cognito-user")
    expect(page.locator("#export")).to_have_text("导出我的数据")

    # A hosted UI's redirect: the token arrives in the fragment and leaves the address bar.
    page.click("#sign-out")
    expect(page.locator("#signin")).to_be_visible()
    page.goto("about:blank")
    page.goto(f"{stack.chat_url}/#id_token={token}&token_type=Bearer")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#whoami")).to_have_text("已登录：cognito-user")
    assert "id_token" not in page.url
    # The same when the redirect lands on the page already open (only the fragment changes).
    page.click("#sign-out")
    page.evaluate("token => { location.hash = 'access_token=' + token; }", token)
    expect(page.locator("#whoami")).to_have_text("已登录：cognito-user")
    assert "access_token" not in page.url
