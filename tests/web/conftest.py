"""The app served for real Chromium (Debian's `chromium`, through Playwright) on a loopback port."""

import os
import shutil
import socket
import threading
import time

import pytest
import uvicorn

from app.main import create_app

CHROMIUM = os.environ.get("AUTOCODER_CHROMIUM") or shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM, reason="needs Chromium: install Debian's `chromium` (scripts/chromium.sh) or set AUTOCODER_CHROMIUM")


@pytest.fixture
def server(settings, embedder):
    """The app served by uvicorn on a free loopback port, in a thread; yields (base url, app)."""
    app = create_app(settings, embedder)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    # Start-up encodes the default codebook (once per test session, then cached on disk): on a busy machine
    # that takes a while.
    for _ in range(2400):
        if running.started:
            break
        time.sleep(0.05)
    assert running.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", app
    running.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


def sign_in(browser, base: str, headers: dict, viewport=(1280, 860)):
    """A new page signed in with the token in `headers` (a laptop screen by default)."""
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.goto(f"{base}/ui/login")
    page.get_by_label("API token").fill(headers["Authorization"].removeprefix("Bearer "))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/transcripts")
    return page
