"""The discovery pages driven in real headless Chromium against the real service: an adjudicator starts a run
from the Discovery page over transcripts coded with plain `bcttv1`, reloads until it is done, sees the
candidates with their quotes and the run's map, names and defines one, dismisses one (an empty reason shows
the service's message in the page), merges two, and an admin promotes one into a new codebook version. A coder
gets no Discovery link and a 403.

Set AUTOCODER_UPDATE_SCREENSHOTS=1 (as the other browser tests) to write docs/discovery-page.png from this run.
"""

import os
import time

import httpx
from playwright.sync_api import expect

from tests.conftest import REPO, add_user
from tests.web.conftest import needs_chromium, sign_in
from tests.web.discovery_data import RELATIONAL, TRANSCRIPTS, turns

pytestmark = needs_chromium
SCREENSHOT = REPO / "docs" / "discovery-page.png"
DEFINITION = "The peer worker has been through it too, so the person feels understood without explaining."


def wait_done(page, seconds: float = 60) -> None:
    """Reload the run page until its status line says the run is done."""
    meta = page.locator("p.meta").first
    deadline = time.monotonic() + seconds
    while not meta.inner_text().startswith("done"):
        assert not meta.inner_text().startswith("failed"), meta.inner_text()
        assert time.monotonic() < deadline, f"the run did not finish: {meta.inner_text()}"
        time.sleep(0.3)
        page.reload()


def card(page, number: int):
    return page.locator(f"#candidate-{number}")


def test_discovery_page_run_name_dismiss_merge_promote(server, browser):
    base, app = server
    admin = add_user(app, "ana", "admin")
    judy, cleo = add_user(app, "judy", "adjudicator"), add_user(app, "cleo", "coder")
    api = httpx.Client(base_url=base, timeout=120)
    for n in range(TRANSCRIPTS):
        posted = api.post("/transcripts", headers=admin, json={"turns": turns(n), "codebook": "bcttv1"})
        assert posted.status_code == 201, posted.text

    # The adjudicator starts a run from the Discovery page's form and lands on the run's page.
    page = sign_in(browser, base, judy)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Discovery").click()
    page.wait_for_url("**/ui/discovery")
    assert "No run yet." in page.locator("table.list").inner_text()
    page.get_by_label("Codebook").fill("bcttv1")
    page.get_by_role("button", name="Start a run").click()
    page.wait_for_url("**/ui/discovery/1")
    wait_done(page)

    # The candidates, each with its quotes, and the map, loaded as an image.
    run = api.get("/discovery/1", headers=judy).json()
    numbers = [c["number"] for c in run["candidates"]]
    assert len(numbers) >= 4, run["summary"]
    assert page.locator("section.candidate").count() == len(numbers)
    noise = run["summary"]["noise"]
    assert f"{noise} sentence{'' if noise == 1 else 's'} in none" in page.locator("p.meta").first.inner_text()
    for c in run["candidates"]:
        quotes = card(page, c["number"]).locator("ul.quotes li")
        assert quotes.count() == len(c["quotes"]) >= 1
        assert c["quotes"][0]["text"] in quotes.first.inner_text()
    image = page.locator("figure img")
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert page.locator(".candidate button", has_text="Promote").count() == 0  # promoting is for admins
    # The relational one (most relational quotes) is named and promoted, one other dismissed, two merged.
    named = max(numbers, key=lambda n: sum(q["text"] in RELATIONAL for c in run["candidates"] if c["number"] == n
                                           for q in c["quotes"]))
    dismissed, *others = [n for n in numbers if n != named]

    # Name and define a candidate (Save reloads the page with them).
    form = card(page, named).locator("form").first
    form.get_by_label("Name").fill("Been there")
    form.get_by_label("Definition").fill(DEFINITION)
    form.get_by_role("button", name="Save").click()
    card(page, named).locator("h2", has_text="Been there").wait_for()
    assert DEFINITION in card(page, named).inner_text()

    # Dismissing with no reason says why in the page; with one, the reason is kept and shown.
    dismiss = card(page, dismissed).locator("form", has=page.get_by_role("button", name="Dismiss"))
    dismiss.get_by_role("button", name="Dismiss").click()
    alert = card(page, dismissed).get_by_role("alert")
    alert.wait_for()
    assert "say why the candidate is dismissed" in alert.inner_text()
    dismiss.get_by_label("Reason").fill("small talk")
    dismiss.get_by_role("button", name="Dismiss").click()
    card(page, dismissed).locator("p.memo", has_text="Dismissed: small talk").wait_for()
    expect(card(page, dismissed)).to_have_class("candidate dismissed")

    # Merging two: a new candidate with both sets of sentences; the merged ones point to it.
    merge = page.locator("form", has=page.get_by_role("button", name="Merge"))
    assert merge.locator("input[name=candidates]").count() == len(numbers) - 1  # open ones only
    for n in others[:2]:
        merge.get_by_label(str(n), exact=True).check()
    merge.get_by_label("as").fill("Everyday life")
    merge.get_by_role("button", name="Merge").click()
    merged = max(numbers) + 1
    card(page, merged).wait_for()
    assert "Merged from candidates" in card(page, merged).inner_text()
    assert f"Merged into candidate {merged}" in card(page, others[0]).inner_text()
    sizes = {c["number"]: c["size"] for c in run["candidates"]}
    assert f"{sizes[others[0]] + sizes[others[1]]} sentences" in card(page, merged).locator("p.meta").inner_text()
    page.close()

    # The admin promotes the named candidate (its name and definition already saved).
    page = sign_in(browser, base, admin)
    page.goto(f"{base}/ui/discovery/1")
    card(page, named).get_by_role("button", name="Promote to a code").click()
    done = card(page, named).locator("p.memo", has_text="Promoted to code")
    done.wait_for()
    assert f"D1.{named} in bcttv1-discovered version 1" in done.inner_text()
    book = api.get("/codebooks/bcttv1-discovered", headers=admin).json()
    assert f"D1.{named}" in book["leaves"]
    map_image = page.locator("figure img")  # the map still draws, with candidates merged, dismissed, promoted
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=map_image.element_handle())
    if os.environ.get("AUTOCODER_UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()

    # A coder gets no Discovery link, and the page refuses them.
    page = sign_in(browser, base, cleo)
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Discovery").count() == 0
    assert page.goto(f"{base}/ui/discovery").status == 403
    assert page.goto(f"{base}/ui/discovery/1").status == 403
    page.close()
