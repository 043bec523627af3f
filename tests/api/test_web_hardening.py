"""Smaller hardening: formula-safe CSV exports, CSRF checks on the pages' form posts, security headers,
job manifests that never reveal whether a server file exists, NUL in imported speaker names."""

import csv
import io
import json

from tests.api.test_import import upload
from tests.conftest import add_user

TEXT = "SP3: We set a goal that I would get out of the house twice a week."


def test_csv_exports_are_formula_safe(client):
    out = client.post("/transcripts", json={"turns": [{"speaker": "=HYPERLINK(\"http://x\")",
                                                       "text": "=1+2 we went out walking together every day."},
                                                      {"speaker": "SP3", "text": "-5 degrees and still we went."}],
                                            "title": "@SUM(A1)"}).json()
    coder = add_user(client.app, "alice", "coder")
    segment = out["segments"][0]["id"]
    assert client.post(f"/segments/{segment}/decisions", headers=coder,
                       json={"action": "memo", "memo": "+cmd|' /C calc'!A0"}).status_code == 201
    rows = list(csv.DictReader(io.StringIO(client.get("/exports/segments.csv").text)))
    assert rows[0]["speaker"] == "'=HYPERLINK(\"http://x\")" and rows[0]["text"].startswith("'=1+2")
    assert rows[0]["title"] == "'@SUM(A1)" and rows[1]["text"].startswith("'-5 degrees")
    assert rows[0]["start"].isdigit() and rows[0]["position"] == "0"  # numbers are left alone
    decisions = list(csv.DictReader(io.StringIO(client.get("/exports/decisions.csv").text)))
    assert decisions[0]["memo"] == "'+cmd|' /C calc'!A0"
    exact = [json.loads(line) for line in client.get("/exports/segments.jsonl").text.splitlines()]
    assert exact[0]["text"].startswith("=1+2")  # JSONL keeps the text exactly


def test_cross_site_form_posts_are_refused(anonymous, client):
    token = add_user(client.app, "carol", "coder")["Authorization"].removeprefix("Bearer ")
    cross = [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}]
    for headers in cross:
        response = anonymous.post("/ui/login", data={"token": token, "next": "/ui/transcripts"}, headers=headers,
                                  follow_redirects=False)
        assert response.status_code == 403 and "set-cookie" not in response.headers, headers
        assert anonymous.post("/ui/logout", headers=headers, follow_redirects=False).status_code == 403
    same = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    signed_in = anonymous.post("/ui/login", data={"token": token, "next": "/ui/transcripts"}, headers=same,
                               follow_redirects=False)
    assert signed_in.status_code == 303 and "autocoder_token" in signed_in.headers["set-cookie"]
    assert anonymous.post("/ui/logout", headers=same, follow_redirects=False).status_code == 303


def test_security_headers_on_pages_api_and_errors(anonymous):
    for path in ("/health", "/ui/login", "/ui/static/app.js", "/transcripts", "/no-such-page"):
        response = anonymous.get(path)
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff", path
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy, path
    assert "cdn.jsdelivr.net" in anonymous.get("/docs").headers["content-security-policy"]


def test_job_manifest_paths_are_refused_alike(client, tmp_path):
    existing = tmp_path / "secret.txt"
    existing.write_text(TEXT)
    answers = []
    for path in (str(existing), str(tmp_path / "missing.txt"), "/etc/passwd", "../../../etc/hostname"):
        response = client.post("/jobs", content=json.dumps({"path": path}).encode() + b"\n")
        answers.append((response.status_code, response.json()["detail"]))
    assert len(set(answers)) == 1 and answers[0][0] == 422 and "'path'" in answers[0][1]


def test_nul_in_imported_speaker_names_is_refused(client, row_counts):
    before = row_counts()
    rows = json.dumps({"speaker": "SP\u00003", "text": "We went out walking together every day."}) + "\n"
    response = upload(client, [("turns.jsonl", rows.encode())])
    assert response.status_code == 422 and "NUL" in json.dumps(response.json())
    assert row_counts() == before
