"""Browser-test fixtures: Debian's Chromium driven by Playwright, against the chat app (serving
web/ with WEB_ROOT) and the memory API, each a uvicorn subprocess over the real stores
(redis-server, moto's server, the OpenSearch emulator), plus the memory worker's poller.

Nothing downloads a browser: Playwright launches /usr/bin/chromium (`make install` installs it
as root with apt-get). Without it the Chromium tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from companion.config import Settings

from infra.local.services import free_port, wait_for_port
from infra.local.worker_poller import WorkerPoller
from tests.integration.recall import conftest as recall_fixtures

opensearch_url = recall_fixtures.opensearch_url
memory_resources = recall_fixtures.memory_resources
recall_settings = recall_fixtures.recall_settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(tempfile.gettempdir()) / "companion-browser-screenshots"  # never in the repo


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (`make install` does it as root)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " — CI must run the browser tests")
    pytest.skip(message)


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_", "OPENSEARCH_", "LLM_", "JWT_", "RATE_LIMIT_", "WEB_ROOT", "CORS_"))}
    env.update({
        "APP_ENV": "test", "REDIS_URL": settings.redis_url, "AWS_ENDPOINT_URL": str(settings.aws_endpoint_url),
        "OPENSEARCH_URL": settings.opensearch_url, "OPENSEARCH_INDEX": settings.opensearch_index,
        "MEMORY_QUEUE_URL": settings.memory_queue_url, "JWT_SECRET": recall_fixtures.JWT_SECRET,
        "LLM_CHAIN": "[]", "EMBEDDING_PROVIDER": "none", "WEB_ROOT": str(ROOT / "web"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "companion"), str(ROOT)]),
    })
    env.update(extra)
    return env


@dataclass
class Stack:
    chat_url: str
    memory_url: str
    settings: Settings

    def run_worker(self) -> dict[str, int]:
        """What the local stack's poller does: SQS → the worker handler, until the queue is idle."""
        def drain() -> dict[str, int]:
            from functions.memory_worker import app

            try:
                return WorkerPoller(self.settings, wait_s=1).drain(idle_polls=2, timeout_s=90)
            finally:  # the handler's clients live on its loop: close them there
                rt = app.runtime()
                rt.loop.run(rt.worker.aclose())

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(drain).result(timeout=120)


@pytest.fixture()
def start_stack(recall_settings: Callable[..., Settings]) -> Iterator[Callable[..., Stack]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(**extra_env: str) -> Stack:
        settings = recall_settings(embedding_provider="none")
        env = server_env(settings, **extra_env)
        urls = []
        for app in ("companion.api.chat_app:create_app", "companion.api.memory_app:create_app"):
            port = free_port()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port), "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            urls.append(f"http://127.0.0.1:{port}")
            wait_for_port(port, timeout_s=60, proc=procs[-1])  # type: ignore[arg-type]
        return Stack(urls[0], urls[1], settings)

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


@pytest.fixture()
def stack(start_stack: Callable[..., Stack]) -> Stack:
    return start_stack()


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
    """``open_page(stack, locale="zh-CN")`` → a page of a fresh Chromium profile, at the chat URL."""
    contexts: list[Any] = []

    def open_(stack: Stack, *, locale: str = "en-US") -> Any:
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
