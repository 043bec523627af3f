"""The review page driven in real headless Chromium (Debian's `chromium`, through Playwright) against the
real service on a loopback port: sign in, open a transcript, accept one suggestion by keyboard and reject
one by mouse, and the decisions are there through the JSON API.

"""

import httpx
from playwright.sync_api import expect

from tests.api.test_review import INTERVIEW
from tests.conftest import add_user
from tests.web.conftest import needs_chromium

pytestmark = needs_chromium


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

    # The interviewer's question is folded into one line, not a sentence of its own; one click shows it.
    fold = page.locator("details.fold").first
    assert fold.locator("summary .count").inner_text() == "1 interviewer sentence"
    assert not page.get_by_text("Not coded").count()
    assert not fold.locator("p.seg").first.is_visible()
    fold.locator("summary").click()
    assert fold.locator("p.seg").first.is_visible() and "How was it working" in fold.inner_text()
    fold.locator("summary").click()
    page.get_by_role("button", name="Show folded sentences").click()  # every fold on the page at once
    assert page.locator("details.fold[open]").count() == page.locator("details.fold").count() >= 1
    page.get_by_role("button", name="Fold them again").click()
    assert page.locator("details.fold[open]").count() == 0

    # Keyboard: j moves straight to the first sentence to code (past the interviewer's); a accepts its first
    # suggestion, and the sentence collapses to that code with its label.
    page.locator("h1").click()
    page.keyboard.press("j")
    first = coded[0]
    assert page.evaluate("document.activeElement.id") == f"seg-{first['id']}"
    page.keyboard.press("a")
    accepted = first["suggestions"][0]
    summary = page.locator(f"#seg-{first['id']}.collapsed .summary")
    summary.wait_for()
    assert summary.locator("li.shown").inner_text().split() == \
        f"{accepted['code_id']} {accepted['label']} ✓ accepted".split()
    assert not page.locator(f"#seg-{first['id']} .detail").is_visible()
    assert page.evaluate("document.activeElement.id") == f"seg-{first['id']}"  # focus stays for the next key
    # On a decided sentence n opens it straight into its add box: the words typed go there, never to the keys
    # (a new user typed "action planning" after n, and the "a" accepted a suggestion).
    page.keyboard.press("n")
    page.keyboard.type("action planning")
    assert page.locator(f"#seg-{first['id']} form.add input[name=code]").input_value() == "action planning"
    page.keyboard.press("Escape")

    # Mouse: reject the first suggestion of the next coded sentence.
    second = coded[1]
    top = second["suggestions"][0]
    page.locator(f"#seg-{second['id']}").get_by_role(
        "button", name=f"Reject {top['code_id']} {top['label']}").click()
    page.wait_for_selector(f"#seg-{second['id']}.collapsed li.shown.rejected")
    assert f"{top['code_id']} {top['label']}" in page.locator(f"#seg-{second['id']} li.shown").inner_text()
    expect(page.locator("#progress")).to_have_text(f"You have decided on 2 of {len(coded)} sentences.")
    # j and k step over the folded interviewer line both ways.
    page.keyboard.press("k")
    page.keyboard.press("k")
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.id") == f"seg-{first['id']}"

    # Every visible form control is labelled (names for screen readers).
    unlabelled = page.evaluate("""Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
        .filter(el => !el.labels.length && !el.getAttribute('aria-label')).map(el => el.outerHTML)""")
    assert unlabelled == []
    shot = tmp_path / "review-page.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000

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
    assert viewing.locator(".seg").count() == len(posted["segments"])  # folded ones included
    assert viewing.locator("article.seg.codable").count() == sum(not s["skip_reason"] for s in posted["segments"])
    assert viewing.locator("button.accept").count() == 0  # viewers read; they do not decide
    viewing.goto(f"{base}/ui/codebook")
    viewing.get_by_label("Search").fill("goal setting")
    visible = viewing.locator("article.code-entry:visible h3").all_inner_texts()
    assert visible and all("goal setting" in t.lower() for t in visible)


def test_changing_a_passage_suggestion_asks_which_sentences_the_new_code_covers(server, browser):
    """A passage suggestion (sentences n to n+1) changed to another code puts the new code on the sentence the
    coder is on, unless they choose the passage in the change form: a span is only made by an explicit choice."""
    from app.db.tables import Suggestion

    base, app = server
    admin, coder = add_user(app, "ana", "admin"), add_user(app, "cleo", "coder")
    text = ("Interviewer: What did you do together?\nSP3: We made a plan for the week. Then we wrote down each "
            "step. After that we looked at what could go wrong.\n")
    posted = httpx.post(f"{base}/transcripts", headers=admin, timeout=60, json={"text": text}).json()
    a, b, c = [s for s in posted["segments"] if not s["skip_reason"]]
    with app.state.session_factory() as session:  # passage suggestions, as a run with passages stores them
        rows = [Suggestion(run_id=posted["run"]["id"], segment_id=first["id"], end_segment_id=last["id"], rank=9,
                           code_id="1.4", code_label="Action planning", score=0.95, evidence_kind="definition",
                           evidence_text="Prompt detailed planning of performance of the behaviour",
                           evidence_source="codebook definition") for first, last in ((a, b), (b, c))]
        session.add_all(rows)
        session.commit()
        ids = [r.id for r in rows]

    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(f"{base}/ui/login")
    page.get_by_label("API token").fill(coder["Authorization"].removeprefix("Bearer "))
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/ui/transcripts/{posted['id']}")

    def change(first: dict, suggestion_id: int, code: str, covers: str | None) -> None:
        item = page.locator(f"#seg-{first['id']} li[data-suggestion='{suggestion_id}']")
        item.locator("details.change summary").click()
        form = item.locator("details.change form")
        assert form.locator("select.through option:checked").inner_text().startswith("this sentence")
        if covers:
            form.locator("select.through").select_option(label=covers)
        form.locator("input[name=code]").fill(code)
        form.get_by_role("button", name="Change").click()
        page.wait_for_selector(f"#seg-{first['id']}.collapsed")

    change(a, ids[0], "1.2", None)  # the default: this sentence only
    n = b["position"] + 1
    change(b, ids[1], "1.1", f"the passage: sentences {n}–{n + 1}")  # chosen: the passage
    labels = {s["segment_id"]: s for s in httpx.get(f"{base}/transcripts/{posted['id']}/labels",
                                                    headers=coder).json()["segments"]}
    assert labels[a["id"]]["labels"] == ["1.2"] and labels[a["id"]]["spans"] == []
    assert labels[b["id"]]["labels"] == ["1.1"] and [s["end_segment_id"] for s in labels[b["id"]]["spans"]] == [c["id"]]
