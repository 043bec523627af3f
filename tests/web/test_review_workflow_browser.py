"""A coder's day on the review page, in real headless Chromium against the real service: a change shown with
both codes' labels, reopening a decided sentence, the picker finding codes by words, memos, a long interview
read a window of turns at a time with j/k skipping the folded interviewer lines, marking a transcript finished,
and the team's progress for an admin (refused to a coder under blind coding).

Set AUTOCODER_UPDATE_SCREENSHOTS=1 to write the docs' screenshots (docs/review-page.png, docs/progress-page.png)
from this run.
"""

import os
import shutil

import httpx

from tests.api.test_review import INTERVIEW
from tests.conftest import REPO, add_user
from tests.web.conftest import needs_chromium, sign_in
from tests.web.long_interview import long_interview

pytestmark = needs_chromium
DOCS = REPO / "docs"
TARGETS = {"3.3": ("emotional support", "Social support (emotional)"), "1.2": ("problem solving", "Problem solving")}


def keep_screenshot(shot, name: str) -> None:
    if os.environ.get("AUTOCODER_UPDATE_SCREENSHOTS"):
        shutil.copy(shot, DOCS / name)


def post(base: str, headers: dict, text: str, title: str) -> dict:
    response = httpx.post(f"{base}/transcripts", headers=headers, timeout=120, json={"text": text, "title": title})
    assert response.status_code == 201, response.text
    return response.json()


def pick(page, input_locator, words: str) -> None:
    """Type words into a code picker and take the highlighted code with Enter."""
    input_locator.fill(words)
    page.locator(".picker-list [role=option]").first.wait_for()
    input_locator.press("Enter")


def test_change_by_words_shows_both_labels_then_reopen_add_and_memo(server, browser):
    base, app = server
    admin, coder = add_user(app, "ana", "admin"), add_user(app, "cleo", "coder")
    posted = post(base, admin, INTERVIEW, "SP3 interview")
    seg = next(s for s in posted["segments"] if s["suggestions"])
    top = seg["suggestions"][0]
    target = next(code for code in TARGETS if code != top["code_id"])
    words, label = TARGETS[target]
    page = sign_in(browser, base, coder)
    page.goto(f"{base}/ui/transcripts/{posted['id']}")
    article = page.locator(f"#seg-{seg['id']}")

    # Change the top suggestion, finding the new code by words (the placeholder's promise), not by number.
    article.locator("details.change summary").first.click()
    box = article.locator("details.change input[name=code]").first
    box.fill(words)
    options = page.locator(".picker-list [role=option]")
    options.first.wait_for()
    assert options.first.inner_text().startswith(f"{target} {label}")
    box.press("Enter")  # takes the highlighted code into the box
    assert box.input_value() == f"{target} {label}"
    box.press("Enter")  # sends it
    line = page.locator(f"#seg-{seg['id']}.collapsed li.shown.changed")
    line.wait_for()
    assert line.inner_text().split() == f"{top['code_id']} {top['label']} → {target} {label} ✓ changed".split()

    # One click reopens it; a decision on a reopened sentence leaves it open. Words the coder types without
    # picking from the list still work when they fit one code best.
    article.get_by_role("button", name="Reopen").click()
    assert article.locator(".detail").is_visible() and not article.locator(".summary").is_visible()
    add = article.locator("form.add input[name=code]")
    other = next(code for code in TARGETS if code != target)
    add.fill(TARGETS[other][0])
    add.press("Escape")  # close the list: send the words as typed
    article.get_by_role("button", name="Add").click()
    # (the changed-to code is already listed as one not suggested: wait for the new one)
    page.locator(f"#seg-{seg['id']}.reopened li.sug.added", has_text="added by you").wait_for()
    added = page.locator(f"#seg-{seg['id']} li.sug.added").all_inner_texts()
    assert any(t.split()[:1] == [other] and "added by you" in t for t in added)
    assert any(t.startswith(f"{target} {label}") and f"changed from {top['code_id']}" in t for t in added)

    # Words that fit several codes are answered with the candidates, not an error page.
    add = page.locator(f"#seg-{seg['id']} form.add input[name=code]")
    add.fill("support")
    add.press("Escape")
    page.locator(f"#seg-{seg['id']}").get_by_role("button", name="Add").click()
    alert = page.locator(f"#seg-{seg['id']} [role=alert]")
    alert.wait_for()
    assert "fits" in alert.inner_text() and "3.3 Social support (emotional)" in alert.inner_text()

    # A memo: m opens the box on the focused sentence; saved, it is listed there and in the audit trail.
    page.locator(f"#seg-{seg['id']}").focus()
    page.keyboard.press("m")
    memo = page.locator(f"#seg-{seg['id']} textarea[name=memo]")
    assert page.evaluate("document.activeElement.name") == "memo"
    memo.fill("Reads like trust rather than support.")
    page.locator(f"#seg-{seg['id']}").get_by_role("button", name="Save memo").click()
    page.locator(f"#seg-{seg['id']} ul.memos li").wait_for()
    assert page.locator(f"#seg-{seg['id']} ul.memos li").all_inner_texts() == ["Reads like trust rather than support."]
    page.reload()  # collapsed again on a fresh page, the memo shown beside the codes
    assert "Reads like trust rather than support." in page.locator(f"#seg-{seg['id']} .summary").inner_text()

    trail = httpx.get(f"{base}/transcripts/{posted['id']}/decisions", headers=coder).json()
    assert [(d["action"], d["code_id"]) for d in trail] == [
        ("change", target), ("add", other), ("memo", None)]
    assert trail[-1]["memo"] == "Reads like trust rather than support."


def test_long_interview_in_windows_of_turns_with_j_k_over_codable_sentences(server, browser, tmp_path):
    base, app = server
    admin, coder = add_user(app, "ana", "admin"), add_user(app, "cleo", "coder")
    posted = post(base, admin, long_interview(), "SP7 interview")
    turns = sorted({s["turn_index"] for s in posted["segments"]})
    assert len(turns) == 49
    page = sign_in(browser, base, coder)
    page.goto(f"{base}/ui/transcripts/{posted['id']}")
    nav = page.get_by_role("navigation", name="Pages of turns (top)")
    assert "Turns 1–20 (page 1 of 3)" in nav.inner_text()
    assert page.locator("section.turn").count() <= 10  # the participant's turns; the interviewer's are folded
    on_page = [s for s in posted["segments"] if s["turn_index"] < 20]
    codable = [s for s in on_page if not s["skip_reason"]]
    assert page.locator("article.seg.codable").count() == len(codable)
    assert page.locator("details.fold").count() >= 10

    # j visits every sentence to code on the page in order, and none of the interviewer's.
    page.locator("h1").click()
    visited = []
    for _ in codable:
        page.keyboard.press("j")
        visited.append(page.evaluate("document.activeElement.id"))
    assert visited == [f"seg-{s['id']}" for s in codable]
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.id") == f"seg-{codable[-2]['id']}"
    # Past the last one, j goes on to the next window of turns, and k from its first comes back.
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.wait_for_url("**page=2#first")
    following = [s for s in posted["segments"] if 20 <= s["turn_index"] < 40 and not s["skip_reason"]]
    page.wait_for_function(f"document.activeElement.id === 'seg-{following[0]['id']}'")
    page.keyboard.press("k")
    page.wait_for_url("**page=1#last")
    page.wait_for_function(f"document.activeElement.id === 'seg-{codable[-1]['id']}'")

    # Decide a few, so the screenshot shows collapsed sentences (one changed, with a memo); open one fold.
    suggested = [s for s in codable if s["suggestions"]]
    for s in suggested[:2]:
        page.locator(f"#seg-{s['id']}").focus()
        page.keyboard.press("a")
        page.locator(f"#seg-{s['id']}.collapsed").wait_for()
    changed = suggested[2]
    target = next(code for code in TARGETS if code != changed["suggestions"][0]["code_id"])
    for body in ({"action": "change", "suggestion_id": changed["suggestions"][0]["id"], "code": target},
                 {"action": "memo", "memo": "Practical help, but the point is the company."}):
        assert httpx.post(f"{base}/segments/{changed['id']}/decisions", headers=coder, json=body).status_code == 201
    page.reload()
    assert page.locator("article.seg.collapsed").count() == 3
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"page 1 of the 49-turn interview: {height} px")  # reported with -s
    assert height < 6000  # 14,342 px for the whole interview on one page before windows and folding
    page.locator("details.fold summary").first.click()
    shot = tmp_path / "review-page.png"
    page.locator("nav.turns-nav").first.evaluate("el => window.scrollTo(0, el.offsetTop - 8)")
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    keep_screenshot(shot, "review-page.png")

    nav.get_by_role("link", name="Next turns →").click()
    page.wait_for_url("**page=2")
    assert "Turns 21–40 (page 2 of 3)" in page.get_by_role("navigation", name="Pages of turns (top)").inner_text()
    page.get_by_label("Jump to turns (bottom)").select_option(label="turns 41–49")
    page.get_by_role("navigation", name="Pages of turns (bottom)").get_by_role("button", name="Go").click()
    page.wait_for_url("**page=3")
    assert "Turns 41–49 (page 3 of 3)" in page.get_by_role("navigation", name="Pages of turns (top)").inner_text()
    # A link to one sentence (the review queue's) opens the page that holds it.
    late = next(s for s in posted["segments"] if s["turn_index"] >= 40 and not s["skip_reason"])
    page.goto(f"{base}/ui/transcripts/{posted['id']}?segment={late['id']}")
    assert page.locator(f"#seg-{late['id']}").is_visible()
    assert "page 3 of 3" in page.get_by_role("navigation", name="Pages of turns (top)").inner_text()


def test_finish_marks_and_the_team_progress_for_an_admin(server, browser, tmp_path):
    base, app = server
    admin = add_user(app, "ana", "admin")
    cleo, dev = add_user(app, "cleo", "coder"), add_user(app, "dev", "coder")
    first = post(base, admin, INTERVIEW, "SP3 interview")
    second = post(base, admin, long_interview(), "SP7 interview")
    codable = [s for s in first["segments"] if not s["skip_reason"]]
    for who, segs in ((cleo, codable), (dev, codable[:2])):
        for s in segs:
            response = httpx.post(f"{base}/segments/{s['id']}/decisions", headers=who, json={
                "action": "accept", "suggestion_id": s["suggestions"][0]["id"]})
            assert response.status_code == 201, response.text

    page = sign_in(browser, base, cleo)
    page.goto(f"{base}/ui/transcripts/{first['id']}")
    page.get_by_role("button", name="Mark transcript finished").click()
    page.get_by_text("You marked this transcript finished").wait_for()
    page.get_by_role("link", name="Transcripts").click()
    assert "✓ finished" in page.get_by_role("row", name="SP3 interview").inner_text()
    assert "finished" not in page.get_by_role("row", name="SP7 interview").inner_text()
    # Under blind coding the team's progress shows others' work: not for a coder.
    assert page.goto(f"{base}/ui/progress").status == 403
    assert "blind" in page.get_by_role("alert").inner_text()
    assert not page.get_by_role("link", name="Team progress").count()

    page = sign_in(browser, base, admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team progress").click()
    table = page.locator("table.progress-table")
    table.wait_for()
    assert [h.split()[0] for h in table.locator("thead th").all_inner_texts()[2:]] == ["cleo", "dev"]
    rows = {r.locator("th a").inner_text(): r for r in table.locator("tbody tr").all()}
    cells = rows["SP3 interview"].locator("td").all_inner_texts()
    assert cells[0].strip() == str(len(codable))
    assert cells[1].split() == [str(len(codable)), "/", str(len(codable)), "✓", "finished"]
    assert cells[2].split() == ["2", "/", str(len(codable))]
    sp7 = rows["SP7 interview"].locator("td").all_inner_texts()
    n7 = sum(not s["skip_reason"] for s in second["segments"])
    assert sp7[0].strip() == str(n7) and sp7[1].split() == ["0", "/", str(n7)]
    shot = tmp_path / "progress-page.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    keep_screenshot(shot, "progress-page.png")

    # Reopened by the coder, the mark goes; the admin's view says so.
    page = sign_in(browser, base, cleo)
    page.goto(f"{base}/ui/transcripts/{first['id']}")
    page.get_by_role("button", name="Reopen my coding").click()
    page.get_by_role("button", name="Mark transcript finished").wait_for()
    admin_page = sign_in(browser, base, admin)
    admin_page.goto(f"{base}/ui/progress")
    assert "finished" not in admin_page.locator("td[data-coder=cleo]").first.inner_text()
