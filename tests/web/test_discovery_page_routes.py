"""The discovery pages' posts over HTTP (no browser; tests/web/test_discovery_page_browser.py drives them in
Chromium): like the review page's, they answer only the page's own script (HX-Request header) from the
service's own site, refuse coders, and show a refused decision as a message in the page, never JSON or a
blank."""

import time

import pytest

from tests.conftest import add_user
from tests.web.discovery_data import TRANSCRIPTS, turns
from tests.web.test_page_routes import SAME_SITE, sign_in

HX = SAME_SITE | {"HX-Request": "true"}
CROSS_SITE = {"HX-Request": "true", "Sec-Fetch-Site": "cross-site"}


@pytest.fixture
def run(client) -> dict:
    """A finished discovery run over the three bcttv1-coded transcripts, through the JSON API."""
    for n in range(TRANSCRIPTS):
        assert client.post("/transcripts", json={"turns": turns(n), "codebook": "bcttv1",
                                                 "participant_id": f"PW{n + 1}"}).status_code == 201
    run_id = client.post("/discovery", json={"codebook": "bcttv1", "resamples": 0}).json()["id"]
    for _ in range(300):
        out = client.get(f"/discovery/{run_id}").json()
        if out["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert out["status"] == "done" and len(out["candidates"]) >= 3, out
    return out


def candidates(client, run_id: int) -> dict[int, dict]:
    return {c["number"]: c for c in client.get(f"/discovery/{run_id}").json()["candidates"]}


def test_posts_need_the_page_script_and_our_own_site(client, anonymous, run):
    page = sign_in(anonymous, add_user(client.app, "judy", "adjudicator"))
    rid, (one, two) = run["id"], [c["number"] for c in run["candidates"][:2]]
    posts = [("/ui/discovery", {"codebook": "bcttv1"}),
             (f"/ui/discovery/{rid}/candidates/{one}", {"action": "edit", "name": "Named by a forged post"}),
             (f"/ui/discovery/{rid}/candidates/{one}", {"action": "dismiss", "reason": "forged"}),
             (f"/ui/discovery/{rid}/merge", {"candidates": [str(one), str(two)]})]
    for url, form in posts:
        plain = page.post(url, data=form, headers=SAME_SITE)  # a plain form post: not from the page's script
        assert plain.status_code == 403 and "HX-Request" in plain.text, url
        assert page.post(url, data=form, headers=CROSS_SITE).status_code == 403, url
        other_origin = {"HX-Request": "true", "Origin": "https://evil.example"}
        assert page.post(url, data=form, headers=other_origin).status_code == 403, url
    after = candidates(client, rid)
    assert all(c["status"] == "open" and c["name"] is None for c in after.values())  # nothing was changed
    assert len(client.get("/discovery").json()) == 1  # and no run started

    # From the page itself they work: a run starts (the page goes to it), a candidate is named.
    started = page.post("/ui/discovery", data={"codebook": "bcttv1"}, headers=HX)
    assert started.status_code == 204 and started.headers["HX-Redirect"] == f"/ui/discovery/{rid + 1}"
    named = page.post(f"/ui/discovery/{rid}/candidates/{one}", data={"action": "edit", "name": "Been there"},
                      headers=HX)
    assert named.status_code == 204 and named.headers["HX-Refresh"] == "true"
    assert candidates(client, rid)[one]["name"] == "Been there"
    # A run no transcript passes the filters of finishes with nothing found, and its page says so.
    nowhere = page.post("/ui/discovery", data={"codebook": "bcttv1", "site": "Nowhere"}, headers=HX)
    url = nowhere.headers["HX-Redirect"]
    for _ in range(300):
        html = page.get(url).text
        if "<p class=\"meta\">done" in html or "failed" in html:
            break
        time.sleep(0.1)
    assert '<p class="meta">done' in html and "0 transcripts" in html and "0 candidates" in html, html


def test_refusals_are_messages_in_the_page(client, anonymous, run):
    page = sign_in(anonymous, add_user(client.app, "judy", "adjudicator"))
    rid, (one, two, three) = run["id"], [c["number"] for c in run["candidates"][:3]]
    url = f"/ui/discovery/{rid}/candidates/{one}"

    def message(response, status: int) -> str:
        assert response.status_code == status, response.text
        assert response.text.startswith('<p class="error" role="alert">'), response.text
        return response.text

    assert "say why" in message(page.post(url, data={"action": "dismiss", "reason": " "}, headers=HX), 422)
    assert "unknown action" in message(page.post(url, data={"action": "explode"}, headers=HX), 422)
    assert "admin" in message(page.post(url, data={"action": "promote", "name": "x", "definition": "y"},
                                        headers=HX), 403)
    assert candidates(client, rid)[one]["name"] is None  # the refused promotion saved nothing of its form
    missing = page.post(f"/ui/discovery/{rid}/candidates/99", data={"action": "edit", "name": "x"}, headers=HX)
    assert "no candidate 99" in message(missing, 404)
    assert "unknown role" in message(page.post("/ui/discovery", data={"role": "boss"}, headers=HX), 422)
    assert "no-such-book" in message(page.post("/ui/discovery", data={"codebook": "no-such-book"}, headers=HX),
                                     404)
    merge = f"/ui/discovery/{rid}/merge"
    assert "at least two" in message(page.post(merge, data={"candidates": [str(one)]}, headers=HX), 422)
    assert "at least two" in message(page.post(merge, data={}, headers=HX), 422)  # no box ticked
    dismissed = page.post(f"/ui/discovery/{rid}/candidates/{three}", data={"action": "dismiss", "reason": "noise"},
                          headers=HX)
    assert dismissed.status_code == 204
    assert "is dismissed" in message(page.post(merge, data={"candidates": [str(two), str(three)]}, headers=HX),
                                     409)
    escaped = message(page.post(url, data={"action": "<b>x</b>"}, headers=HX), 422)  # what was sent, escaped
    assert "&lt;b&gt;x&lt;/b&gt;" in escaped and "<b>" not in escaped


def test_admin_promotion_reopen_and_the_map_from_the_page(client, anonymous, run):
    page = sign_in(anonymous, add_user(client.app, "ana", "admin"))
    rid, (one, two) = run["id"], [c["number"] for c in run["candidates"][:2]]
    url = f"/ui/discovery/{rid}/candidates/{one}"
    html = page.get(f"/ui/discovery/{rid}").text
    assert html.count(">Promote to a code</button>") == len(run["candidates"])  # admins may promote
    assert ", transcript " not in html and any(f"PW{n + 1})" in html for n in range(3))  # quotes name the participant
    no_definition = page.post(url, data={"action": "promote", "name": "Been there"}, headers=HX)
    assert no_definition.status_code == 422 and "write a definition" in no_definition.text
    promoted = page.post(url, data={"action": "promote", "name": "Been there", "definition": "Has been there too.",
                                    "code_id": "BT1"}, headers=HX)
    assert promoted.status_code == 204, promoted.text
    assert "Promoted to code BT1 in bcttv1-discovered version 1" in page.get(f"/ui/discovery/{rid}").text
    again = page.post(url, data={"action": "edit", "name": "Renamed"}, headers=HX)
    assert again.status_code == 409 and "is promoted" in again.text

    other = f"/ui/discovery/{rid}/candidates/{two}"
    assert page.post(other, data={"action": "dismiss", "reason": "noise"}, headers=HX).status_code == 204
    assert page.post(other, data={"action": "reopen"}, headers=HX).status_code == 204
    assert candidates(client, rid)[two]["status"] == "open"

    svg = page.get(f"/ui/discovery/{rid}/map.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert page.get(f"/ui/discovery/{rid}/map.gif").status_code == 422
    listed = page.get("/ui/discovery").text
    assert f'<a href="/ui/discovery/{rid}">Run {rid}</a>' in listed and "No run yet." not in listed


def test_coders_get_no_discovery_pages(client, anonymous, run):
    coder = sign_in(anonymous, add_user(client.app, "cleo", "coder"))
    assert 'href="/ui/discovery"' not in coder.get("/ui/transcripts").text
    for url in ("/ui/discovery", f"/ui/discovery/{run['id']}", f"/ui/discovery/{run['id']}/map.png"):
        assert coder.get(url).status_code == 403, url
    refused = coder.post("/ui/discovery", data={"codebook": "bcttv1"}, headers=HX)
    assert refused.status_code == 403 and "adjudicator" in refused.text
    number = run["candidates"][0]["number"]
    assert coder.post(f"/ui/discovery/{run['id']}/candidates/{number}", data={"action": "edit", "name": "x"},
                      headers=HX).status_code == 403
    assert candidates(client, run["id"])[number]["name"] is None
