"""Browser-test fixtures: Debian's Chromium driven by Playwright, against the chat app (serving
web/ with WEB_ROOT) and the memory API, either served by uvicorn over the shared stores
(``stack``, ``start_stack``: tests/served_apps.py) or started as `make dev` starts them
(``local_stack``: tests/fixtures/local_stack.py).

Nothing downloads a browser: Playwright launches /usr/bin/chromium (`make test` installs it
as root with apt-get). Without it the Chromium tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.local_stack import RunningStack
from tests.served_apps import ROOT, Stack

__all__ = ["ROOT", "Stack"]  # names the tests import from here
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(tempfile.gettempdir()) / "companion-browser-screenshots"  # never in the repo


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (`make test` does it as root)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " — CI must run the browser tests")
    pytest.skip(message)


@pytest.fixture(scope="module")
def playwright_driver(memory_resources: dict[str, str]) -> Iterator[Any]:
    # Sync Playwright keeps an event loop running on this thread: the fixtures that call
    # asyncio.run (resources, seeding) must come first, and the worker runs on its own thread.
    # Module scope: the loop must be gone before the async tests of other modules run.
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture()
def open_page(playwright_driver: Any, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``open_page(stack, locale="zh-CN")`` → a page of a fresh Chromium profile, at the chat URL
    (``stack``: the served apps or the local stack)."""
    contexts: list[Any] = []

    def open_(stack: Stack | RunningStack, *, locale: str = "en-US") -> Any:
        context = playwright_driver.chromium.launch_persistent_context(
            str(tmp_path / f"profile-{uuid.uuid4().hex[:6]}"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, locale=locale, accept_downloads=True, viewport={"width": 1280, "height": 860})
        contexts.append(context)
        context.add_init_script(f"window.COMPANION_CONFIG = {{memoryApiUrl: {stack.memory_url!r}}};")
        context.set_default_timeout(30_000)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(stack.chat_url + "/")
        page.wait_for_selector("body[data-ready=true]")
        return page

    yield open_
    for c in contexts:
        c.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
