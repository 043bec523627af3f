"""Text that no database or response can carry is refused with a 4xx before anything is stored: lone
surrogates ("\\ud800" in JSON), NUL characters, nesting past a bound, ids past 64 bits, non-finite numbers.
Nothing half-written is left, and the stored data stays readable for everyone."""

import json

import pytest

from tests.conftest import add_user

TEXT = "SP3: We set a goal that I would get out of the house twice a week."
SURROGATE = '"bad \\ud800 text"'  # JSON's escape for a lone surrogate: valid JSON, not valid Unicode


def raw(client, method: str, path: str, body: str, headers: dict | None = None):
    return client.request(method, path, content=body.encode(),
                          headers={"content-type": "application/json", **(headers or {})})


@pytest.fixture
def posted(client):
    out = client.post("/transcripts", json={"text": TEXT}).json()
    return out, add_user(client.app, "alice", "coder")


def test_lone_surrogates_are_refused_on_every_json_write(client, posted, row_counts):
    out, alice = posted
    segment = out["segments"][0]["id"]
    before = row_counts()
    cases = [
        ("POST", "/transcripts", f'{{"text": "{TEXT}", "extra": {{"note": {SURROGATE}}}}}', None),
        ("POST", "/transcripts", f'{{"text": "{TEXT}", "title": {SURROGATE}}}', None),
        ("POST", "/transcripts", f'{{"turns": [{{"speaker": {SURROGATE}, "text": "We went out together."}}]}}',
         None),
        ("POST", "/transcripts", f'{{"text": "{TEXT}", "extra": {{{SURROGATE}: 1}}}}', None),
        ("POST", "/suggest", f'{{"text": {SURROGATE}}}', None),
        ("POST", f"/segments/{segment}/decisions", f'{{"action": "memo", "memo": {SURROGATE}}}', alice),
        ("POST", f"/transcripts/{out['id']}/decisions",
         f'{{"decisions": [{{"segment_id": {segment}, "action": "add", "code": {SURROGATE}}}]}}', alice),
        ("POST", "/users", f'{{"name": {SURROGATE}, "role": "coder"}}', None),
        ("POST", "/codebooks", f'{{"name": "mine", "title": {SURROGATE}, "codes": [{{"id": "a", "label": "A"}}]}}',
         None),
        ("POST", f"/transcripts/{out['id']}/runs", f'{{"codebook": {SURROGATE}}}', None),
    ]
    for method, path, body, headers in cases:
        response = raw(client, method, path, body, headers)
        assert response.status_code == 422, (path, body, response.status_code, response.text)
        assert "surrogate" in response.text or "Unicode" in response.text, (path, response.text)
    assert row_counts() == before
    assert client.get("/transcripts").status_code == 200
    assert client.get(f"/transcripts/{out['id']}").status_code == 200


def test_nul_deep_nesting_and_odd_numbers_are_refused(client, posted, row_counts):
    out, _ = posted
    before = row_counts()
    nul_speaker = {"turns": [{"speaker": "SP\u00003", "text": "We went to the shop together on Monday."}]}
    assert client.post("/transcripts", json=nul_speaker).status_code == 422
    plain_nul = client.post("/transcripts/plain", params={"default_speaker": "SP\x003"},
                            content="We went to the shop together on Monday.")
    assert plain_nul.status_code == 422
    deep: object = "x"
    for _ in range(500):
        deep = {"a": deep}
    response = client.post("/transcripts", json={"text": TEXT, "extra": deep})
    assert response.status_code == 422 and "nested" in response.text
    for number in ("NaN", "Infinity", str(2**64)):
        response = raw(client, "POST", "/transcripts", f'{{"text": "{TEXT}", "extra": {{"n": {number}}}}}')
        assert response.status_code == 422, (number, response.text)
    huge = client.post("/transcripts", json={"text": TEXT, "extra": {"blob": "x" * 30_000}})
    assert huge.status_code == 422
    assert row_counts() == before


def test_ids_past_the_id_columns_are_4xx_not_500(client, posted):
    """Id columns are INTEGER (32 bits on PostgreSQL, 64 on SQLite): past them is 422, up to them 404."""
    out, alice = posted
    big = 2**31
    for path in (f"/transcripts/{big}", f"/transcripts/{big}/suggestions", f"/transcripts/{big}/decisions",
                 f"/segments/{big}/decisions", f"/segments/{big}/similar", f"/models/{big}",
                 f"/transcripts/{2**70}", f"/exports/decisions.csv?transcript={big}",
                 f"/reports/table2?transcript={big}", f"/agreement?transcript={big}"):
        assert client.get(path).status_code in (404, 422), path
    assert client.get(f"/transcripts/{2**31 - 1}").status_code == 404
    assert client.get(f"/transcripts/{2**63}").status_code == 422
    segment = out["segments"][0]["id"]
    for body in ({"action": "accept", "suggestion_id": big}, {"action": "add", "code": "1.1", "run_id": big}):
        assert client.post(f"/segments/{segment}/decisions", headers=alice, json=body).status_code == 422
    batch = {"decisions": [{"segment_id": big, "action": "add", "code": "1.1"}]}
    assert client.post(f"/transcripts/{out['id']}/decisions", headers=alice, json=batch).status_code == 422
    assert client.post(f"/transcripts/{big}/runs", json={}).status_code == 422
    assert client.post(f"/transcripts/{big}/accept", headers=alice, json={"min_score": 0.5}).status_code == 422


def test_a_transcript_response_is_built_before_its_commit(client, row_counts, monkeypatch):
    """If the response cannot be built, the transcript is not stored (the commit comes after the response)."""
    before = row_counts()

    def broken(*args, **kwargs):
        raise RuntimeError("presenting failed")

    monkeypatch.setattr("app.api.routes.transcripts.transcript_out", broken)
    with pytest.raises(RuntimeError):
        client.post("/transcripts", json={"text": TEXT})
    assert row_counts() == before
    assert json.loads(client.get("/transcripts").text)["total"] == 0
