"""The review page driven in real headless Chromium (Debian's `chromium`, through Playwright) against the
real service on a loopback port: sign in, open a transcript, accept one suggestion by keyboard and reject
one by mouse, and the decisions are there through the JSON API.

Set AUTOCODER_UPDATE_SCREENSHOTS=1 to write the README's screenshot (docs/review-page.png) from this run.
"""

import os
import shutil
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from app.main import create_app
from tests.api.test_review import INTERVIEW
from tests.conftest import REPO, add_user

CHROMIUM = os.environ.get("AUTOCODER_CHROMIUM") or shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="needs Chromium: install Debian's `chromium` (scripts/chromium.sh) or set AUTOCODER_CHROMIUM")
SCREENSHOT = REPO / "docs" / "review-page.png"


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
    for _ in range(300):
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


def test_sign_in_accept_by_keyboard_reject_by_mouse(server, browser, tmp_path):
    base, app = server
    admin, coder = add_user(app, "ana", "admin"), add_user(app, "cleo", "coder")
    posted = httpx.post(f"{base}/transcripts", headers=admin, timeout=60,
                        json={"text": INTERVIEW, "title": "SP3 interview", "participant_id": "SP3"}).json()
    coded = [s for s in posted["segments"] if s["suggestions"]]

    page = browser.new_page(viewport={"width": 1280, "height": 860})  # a laptop screen
    page.goto(f"{base}/ui/transcripts")
    assert "/ui/login" in page.url  # not signed in: sent to the sign-in page
    page.get_by_label("API token").fill("bca_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    assert "unknown" in page.get_by_role("alert").inner_text()
    page.get_by_label("API token").fill(coder["Authorization"].removeprefix("Bearer "))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="SP3 interview").click()
    page.wait_for_selector("article.seg")

    # Keyboard: j moves to the first sentence (the interviewer's, not coded), j again to the first coded one;
    # a accepts its first suggestion.
    page.keyboard.press("j")
    page.keyboard.press("j")
    first = coded[0]
    assert page.evaluate("document.activeElement.id") == f"seg-{first['id']}"
    page.keyboard.press("a")
    page.wait_for_selector(f"#seg-{first['id']} li.sug.accepted")
    assert page.evaluate("document.activeElement.id") == f"seg-{first['id']}"  # focus stays for the next key

    # Mouse: reject the first suggestion of the next coded sentence.
    second = coded[1]
    top = second["suggestions"][0]
    page.locator(f"#seg-{second['id']}").get_by_role(
        "button", name=f"Reject {top['code_id']} {top['label']}").click()
    page.wait_for_selector(f"#seg-{second['id']} li.sug.rejected")
    assert page.locator("#progress").inner_text() == f"You have decided on 2 of {len(coded)} sentences."

    # Every visible form control is labelled (names for screen readers).
    unlabelled = page.evaluate("""Array.from(document.querySelectorAll('input:not([type=hidden]), select'))
        .filter(el => !el.labels.length && !el.getAttribute('aria-label')).map(el => el.outerHTML)""")
    assert unlabelled == []
    shot = tmp_path / "review-page.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    if os.environ.get("AUTOCODER_UPDATE_SCREENSHOTS"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copy(shot, SCREENSHOT)

    trail = httpx.get(f"{base}/transcripts/{posted['id']}/decisions", headers=coder).json()
    assert [(d["action"], d["segment_id"], d["suggestion_id"], d["coder"], d["run_id"]) for d in trail] == [
        ("accept", first["id"], first["suggestions"][0]["id"], "cleo", posted["run"]["id"]),
        ("reject", second["id"], top["id"], "cleo", posted["run"]["id"]),
    ]


def test_stale_suggestions_and_viewers_are_refused_on_the_page(server, browser):
    base, app = server
    admin, viewer = add_user(app, "ana", "admin"), add_user(app, "val", "viewer")
    coder = add_user(app, "cleo", "coder")
    posted = httpx.post(f"{base}/transcripts", headers=admin, timeout=60, json={"text": INTERVIEW}).json()
    seg = next(s for s in posted["segments"] if s["suggestions"])

    page = browser.new_page()
    page.goto(f"{base}/ui/login")
    page.get_by_label("API token").fill(coder["Authorization"].removeprefix("Bearer "))
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/ui/transcripts/{posted['id']}")
    # Meanwhile an admin suggests again: the page's suggestions are stale, and the decision is refused.
    assert httpx.post(f"{base}/transcripts/{posted['id']}/runs", headers=admin, json={}).status_code == 201
    page.locator(f"#seg-{seg['id']} button.accept").first.click()
    alert = page.locator(f"#seg-{seg['id']} [role=alert]")
    alert.wait_for()
    assert "no longer current" in alert.inner_text()
    assert httpx.get(f"{base}/transcripts/{posted['id']}/decisions", headers=coder).json() == []

    viewing = browser.new_page()
    viewing.goto(f"{base}/ui/login")
    viewing.get_by_label("API token").fill(viewer["Authorization"].removeprefix("Bearer "))
    viewing.get_by_role("button", name="Sign in").click()
    viewing.goto(f"{base}/ui/transcripts/{posted['id']}")
    assert viewing.locator("article.seg").count() == len(posted["segments"])
    assert viewing.locator("button.accept").count() == 0  # viewers read; they do not decide
    viewing.goto(f"{base}/ui/codebook")
    viewing.get_by_label("Search").fill("goal setting")
    visible = viewing.locator("article.code-entry:visible h3").all_inner_texts()
    assert visible and all("goal setting" in t.lower() for t in visible)
