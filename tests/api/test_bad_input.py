"""Bad input gets a clear 4xx, and nothing half-written stays in the database."""

import pytest


@pytest.fixture
def unchanged(client, row_counts):
    """Assert, after the test, that no table gained or lost a row."""
    before = row_counts()
    yield
    assert row_counts() == before


def detail(response) -> str:
    return str(response.json())


@pytest.mark.usefixtures("unchanged")
class TestTranscripts:
    def test_empty_text(self, client):
        r = client.post("/transcripts", json={"text": "   \n "})
        assert r.status_code == 422 and "text is empty" in detail(r)

    def test_no_speaker_labels(self, client):
        r = client.post("/transcripts", json={"text": "I went to the group and it helped me a lot."})
        assert r.status_code == 422 and "no speaker labels" in detail(r) and "default_speaker" in detail(r)

    def test_labels_but_no_words(self, client):
        r = client.post("/transcripts", json={"text": "Interviewer:\nSP1:\n"})
        assert r.status_code == 422 and "no words" in detail(r)

    def test_neither_text_nor_turns(self, client):
        r = client.post("/transcripts", json={"title": "x"})
        assert r.status_code == 422 and "either 'text'" in detail(r)

    def test_empty_turn(self, client):
        r = client.post("/transcripts", json={"turns": [{"speaker": "SP1", "text": "Fine words here."},
                                                        {"speaker": "SP1", "text": " "}]})
        assert r.status_code == 422 and "turns[1].text is empty" in detail(r)

    def test_unknown_role(self, client):
        r = client.post("/transcripts", json={"turns": [{"speaker": "SP1", "role": "doctor", "text": "Hello there."}]})
        assert r.status_code == 422

    def test_binary_plain_body(self, client):
        r = client.post("/transcripts/plain", content=b"PK\x03\x04\x00\x00binary\xff\xfe",
                        headers={"content-type": "text/plain"})
        assert r.status_code == 415 and "binary" in detail(r)

    def test_non_utf8_plain_body(self, client):
        r = client.post("/transcripts/plain", content="SP1: caf\u00e9 was nice".encode("latin-1"),
                        headers={"content-type": "text/plain"})
        assert r.status_code == 415 and "not UTF-8" in detail(r)

    def test_binary_in_json_text(self, client):
        r = client.post("/transcripts", json={"text": "SP1: hello\x00\x01 world"})
        assert r.status_code == 422 and "binary" in detail(r)

    def test_not_json(self, client):
        r = client.post("/transcripts", content=b"\x89PNG\r\n\x1a\n", headers={"content-type": "application/json"})
        assert r.status_code == 422 and "cannot be read as JSON" in detail(r)  # as documented, like bad syntax
        r = client.post("/transcripts", content=b'{"text": "SP1: unfinished',
                        headers={"content-type": "application/json"})
        assert r.status_code == 422 and "json_invalid" in detail(r)

    def test_ten_megabyte_body(self, client):
        big = ("SP1: " + "word " * 20 + "\n") * 100_000
        assert len(big) > 10_000_000
        r = client.post("/transcripts/plain", content=big.encode(), headers={"content-type": "text/plain"})
        assert r.status_code == 413 and "larger than the limit" in detail(r)

    def test_ten_megabyte_body_without_content_length(self, client):
        def chunks():
            for _ in range(100):
                yield b"SP1: " + b"word " * 20_000 + b"\n"

        r = client.post("/transcripts/plain", content=chunks(), headers={"content-type": "text/plain"})
        assert r.status_code == 413

    def test_unknown_codebook(self, client):
        r = client.post("/transcripts", json={"text": "SP1: We set a goal together.", "codebook": "nope"})
        assert r.status_code == 404 and "unknown codebook 'nope'" in detail(r) and "bcttv1" in detail(r)

    def test_out_of_range_parameters(self, client):
        r = client.post("/transcripts", json={"text": "SP1: We set a goal together.", "top_k": 0})
        assert r.status_code == 422
        r = client.post("/transcripts/plain", content=b"SP1: We set a goal together.", params={"threshold": 2})
        assert r.status_code == 422

    def test_unknown_transcript(self, client):
        assert client.get("/transcripts/999").status_code == 404
        assert client.post("/transcripts/999/runs", json={}).status_code == 404


@pytest.mark.usefixtures("unchanged")
class TestCodebooksAndSuggest:
    def test_invalid_yaml(self, client):
        r = client.post("/codebooks", content=b"name: x\ncodes:\n\t- id: a\n",
                        headers={"content-type": "application/yaml"})
        assert r.status_code == 422 and "line 3" in detail(r)

    def test_duplicate_ids_empty_labels_unknown_parents(self, client):
        body = ("name: mine\ncodes:\n  - {id: a, label: A}\n  - {id: a, label: B}\n")
        r = client.post("/codebooks", content=body.encode())
        assert r.status_code == 422 and "duplicate code ids: a" in detail(r)
        r = client.post("/codebooks", content=b"name: mine\ncodes:\n  - {id: a, label: ''}\n")
        assert r.status_code == 422 and "label is empty" in detail(r)
        r = client.post("/codebooks", json={"name": "mine", "codes": [{"id": "a", "label": "A", "parent": "zz"}]})
        assert r.status_code == 422 and "unknown parent 'zz'" in detail(r)

    def test_builtin_names_are_not_overwritten(self, client):
        r = client.post("/codebooks", json={"name": "bcttv1", "codes": [{"id": "a", "label": "A"}]})
        assert r.status_code == 409

    def test_binary_codebook(self, client):
        r = client.post("/codebooks", content=b"\x00\x01\x02", headers={"content-type": "application/yaml"})
        assert r.status_code == 415

    def test_unknown_codebook_and_empty_snippet(self, client):
        assert client.get("/codebooks/nope").status_code == 404
        assert client.post("/suggest", json={"text": "x y z", "codebook": "bcttv1+nope"}).status_code == 404
        assert client.post("/suggest", json={"text": ""}).status_code == 422


def test_a_huge_number_is_refused_in_the_callers_terms(client):
    """A 5,001-digit integer where an id, a count or a transcript's field goes: 422 in the caller's terms, never
    Python's conversion limit (sys.set_int_max_str_digits) or a 500."""
    digits = "9" * 5001
    for response in (client.get(f"/transcripts/{digits}"), client.get("/transcripts", params={"limit": digits}),
                     client.get(f"/models/{digits}")):
        assert response.status_code == 422, response.text
        assert "exceeded maximum size" in response.json()["detail"]
    for name, body in (("t.json", '{"turns": [{"speaker": "SP1", "text": "Hi there.", "start": ' + digits + "}]}"),
                       ("t.jsonl", '{"speaker": "SP1", "text": "Hi there.", "start": ' + digits + "}\n")):
        response = client.post("/transcripts/import", files={"files": (name, body.encode())})
        assert response.status_code == 422, response.text
        assert "a number with too many digits" in response.text and "int_max_str" not in response.text
    yaml_codebook = f"name: mine\ncodes:\n  - {{id: {digits}, label: A}}\n".encode()
    response = client.post("/codebooks", content=yaml_codebook, headers={"content-type": "application/yaml"})
    assert response.status_code == 422 and "too many digits" in response.text and "4300" not in response.text
    body = '{"text": "We set a goal.", "top_k": ' + digits + "}"  # a JSON body: 422 like any unreadable body
    response = client.post("/suggest", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "too many digits" in response.json()["detail"]
    assert client.put("/suggest", json={}).headers["allow"] == "POST"  # a 405 says what is allowed


def test_a_value_of_another_json_type_is_refused_not_converted(client):
    """The schema says boolean or integer: 0 is not false and false is not 0 (Schemathesis found both
    accepted before bodies were strict)."""
    for path, body in (("/models/retrain", {"force": 0}), ("/suggest", {"text": "We set a goal.", "context": False}),
                       ("/suggest", {"text": "We set a goal.", "top_k": "3"})):
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
    # an integer is a number
    assert client.post("/suggest", json={"text": "We set a goal.", "threshold": 1}).status_code == 200


def test_the_schema_documents_what_each_format_answers_with(client):
    """Files are documented as the media types they are, and format parameters as the values they take."""
    paths = client.get("/openapi.json").json()["paths"]

    def media(path: str) -> set[str]:
        return set(paths[path]["get"]["responses"]["200"]["content"])

    assert media("/reports/table2") >= {"application/json", "text/markdown", "text/csv"}
    assert media("/reports/counts") == {"text/csv", "application/x-ndjson", "application/vnd.apache.parquet"}
    assert media("/agreement") == {"application/json", "text/plain"}
    assert media("/exports/project.qdpx") == {"application/zip"}
    params = {p["name"]: p["schema"] for p in paths["/exports/segments.{fmt}"]["get"]["parameters"]}
    assert params["fmt"]["enum"] == ["csv", "jsonl", "parquet"]
    assert client.get("/exports/segments.xlsx").status_code == 422
    assert client.get("/reports/counts", params={"format": "csv"}).headers["content-type"].startswith("text/csv")
