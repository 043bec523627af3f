"""Measure how tall the review page is for the 49-turn test interview (tests/web/long_interview.py), in
headless Chromium at a laptop's 1280 px width: the document's scrollHeight of every page of turns, followed
through the page's "Next turns" links (one page where the page has none).

    PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python scripts/page_height.py [--chromium PATH]

PYTHONPATH picks the checkout whose app is measured, so the same script measures an older one
(PYTHONPATH=/path/to/old/checkout) with the same interview for a before/after comparison.
"""

import argparse
import importlib.util
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from app.config import Settings
from app.engine.embed import Embedder
from app.main import create_app
from app.services import accounts

HERE = Path(__file__).resolve().parent


def interview_text() -> str:
    spec = importlib.util.spec_from_file_location("long_interview", HERE.parent / "tests/web/long_interview.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.long_interview()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=shutil.which("chromium"))
    parser.add_argument("--screenshots", type=Path, help="a folder to save each page's full-length screenshot in")
    args = parser.parse_args()
    if not args.chromium:
        sys.exit("needs Chromium: scripts/chromium.sh installs it, or pass --chromium PATH")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/autocoder.db", cache_dir=Path(tmp) / "cache",
                            models_dir=Path(tmp) / "models", jobs_dir=Path(tmp) / "jobs")
        app = create_app(settings, Embedder())
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.1)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with app.state.session_factory() as session:
            token = accounts.add_user(session, "measure", "admin").token
        posted = httpx.post(f"{base}/transcripts", headers={"Authorization": f"Bearer {token}"}, timeout=300,
                            json={"text": interview_text(), "title": "49-turn interview"}).json()
        turns = len({s["turn_index"] for s in posted["segments"]})
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"{base}/ui/login")
            page.fill("#token", token)
            page.click("button[type=submit]")
            page.goto(f"{base}/ui/transcripts/{posted['id']}")
            heights = []
            while True:
                heights.append(page.evaluate("document.documentElement.scrollHeight"))
                if args.screenshots:
                    args.screenshots.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(args.screenshots / f"page-{len(heights)}.png"), full_page=True)
                following = page.locator("a[rel=next]")
                if not following.count():
                    break
                following.first.click()
            browser.close()
        server.should_exit = True
        thread.join(10)
    print(f"{turns} turns, {len(posted['segments'])} sentences: {len(heights)} page(s) of "
          f"{', '.join(map(str, heights))} px (tallest {max(heights)} px)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
