"""The adjudication page driven in real headless Chromium against the real service: an adjudicator signs in,
sees two coders' codes side by side with the unresolved rows highlighted, takes one coder's code with a click,
takes every agreed code with another, and the consensus is there through the JSON API.

Set AUTOCODER_UPDATE_SCREENSHOTS=1 to write docs/adjudication-page.png from this run.
"""

import os
import re

import httpx
from playwright.sync_api import expect

from tests.api.test_consensus import TURNS
from tests.conftest import REPO, add_user
from tests.web.conftest import needs_chromium

pytestmark = needs_chromium
SCREENSHOT = REPO / "docs" / "adjudication-page.png"


def test_adjudicator_takes_codes_in_the_page(server, browser):
    base, app = server
    admin = add_user(app, "ana", "admin")
    people = {n: add_user(app, n, r) for n, r in [("alice", "coder"), ("bob", "coder"), ("judy", "adjudicator")]}
    api = httpx.Client(base_url=base, timeout=120)
    out = api.post("/transcripts", json={"turns": TURNS, "title": "SP1 interview"}, headers=admin).json()
    s1, s2, s3 = [s["id"] for s in out["segments"][1:]]
    for who, codes in (("alice", [(s1, "1.1"), (s2, "1.2"), (s3, "3.1")]), ("bob", [(s1, "1.1"), (s3, "3.1"),
                                                                                   (s3, "1.1")])):
        body = {"decisions": [{"segment_id": s, "action": "add", "code": c} for s, c in codes]}
        assert api.post(f"/transcripts/{out['id']}/decisions", json=body, headers=people[who]).status_code == 201

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{base}/ui/login?next=/ui/transcripts/{out['id']}/adjudication")
    page.fill("input[name=token]", people["judy"]["Authorization"].removeprefix("Bearer "))
    page.click("button[type=submit]")
    page.wait_for_url(f"**/ui/transcripts/{out['id']}/adjudication")
    assert page.locator("tr.unresolved").count() == 2
    assert page.locator("#unresolved-count").inner_text() == "2"
    if os.environ.get("AUTOCODER_UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_role("button", name="Take 1.2 from alice").click()
    # htmx settles a swapped row in two steps: the new row first carries the old row's class, then its own a
    # moment later, so the class is awaited (expect retries), not read once.
    row = page.locator(f"#row-{s2}-0")
    row.locator(".in-consensus").first.wait_for()
    expect(row).to_have_class(re.compile(r"(^|\s)resolved(\s|$)"))
    expect(row).not_to_have_class(re.compile(r"(^|\s)unresolved(\s|$)"))
    expect(page.locator("#unresolved-count")).to_have_text("1")

    page.get_by_role("button", name="Take every agreed code").click()
    page.locator(f"#row-{s1}-0 .adj-consensus .in-consensus").wait_for()
    page.close()
    view = api.get(f"/transcripts/{out['id']}/adjudication", headers=people["judy"]).json()
    assert [r["consensus"] for r in view["rows"]] == [["1.1"], ["1.2"], []] and view["unresolved"] == 1
