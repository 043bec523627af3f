"""Codebook uploads: YAML aliases cannot expand a small upload into a huge stored codebook, and a stored
codebook is validated once, not on every read."""

from taxonomy.schema import Codebook

GOOD = "name: mine\ntitle: Mine\ncodes:\n  - {id: a, label: A, definition: Going out together.}\n"


def alias_bomb(codes: int = 300, per_list: int = 300) -> str:
    lines = ["name: bomb", "title: Bomb", "codes:",
             "  - id: c0", "    label: C0", "    exemplars: &many",
             *["      - &e {text: 'We went for a walk together every single morning.', source: x}" if i == 0 else
               "      - *e" for i in range(per_list)]]
    lines += [f"  - {{id: c{i}, label: C{i}, exemplars: *many}}" for i in range(1, codes)]
    return "\n".join(lines) + "\n"


def test_alias_expansion_is_refused(client, row_counts):
    text = alias_bomb()
    assert len(text) < 30_000
    before = row_counts()
    response = client.post("/codebooks", content=text, headers={"content-type": "application/yaml"})
    assert response.status_code == 422 and "YAML aliases" in response.json()["detail"]
    assert row_counts() == before
    deep = "name: deep\ntitle: Deep\ncodes: " + "[" * 5000 + "]" * 5000 + "\n"
    response = client.post("/codebooks", content=deep, headers={"content-type": "application/yaml"})
    assert response.status_code == 422 and "nested" in response.json()["detail"]
    small = alias_bomb(codes=3, per_list=3)  # aliases that stay small are fine
    assert client.post("/codebooks", content=small, headers={"content-type": "application/yaml"}).status_code == 201


def test_stored_codebooks_are_validated_once(client, monkeypatch):
    assert client.post("/codebooks", content=GOOD, headers={"content-type": "application/yaml"}).status_code == 201
    calls = []
    validate = Codebook.model_validate.__func__

    def counting(cls, *args, **kwargs):
        calls.append(1)
        return validate(cls, *args, **kwargs)

    monkeypatch.setattr(Codebook, "model_validate", classmethod(counting))
    for _ in range(3):
        listed = {c["name"]: c for c in client.get("/codebooks").json()}
        assert listed["mine"]["leaves"] == 1
        assert client.get("/codebooks/mine").json()["leaves"] == ["a"]
    assert calls == []


def test_what_an_upload_would_have_encoded_is_bounded_and_nothing_is_stored(settings, embedder, row_counts):
    """Every text of a codebook is encoded when it is first used: an upload of 20,000 quotes once took minutes
    of the encoder. Its texts (with what it extends) are counted, and each text's length is bounded."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import add_user

    small = settings.model_copy(update={"max_codebook_texts": 100})
    with TestClient(create_app(small, embedder)) as client:
        client.headers.update(add_user(client.app, "admin", "admin"))
        before = row_counts()
        extends = "name: mine\ntitle: Mine\nextends: [bcttv1]\ncodes:\n  - {id: x1, label: X, definition: Mine.}\n"
        response = client.post("/codebooks", content=extends, headers={"content-type": "application/yaml"})
        assert response.status_code == 422
        assert "more than the 100 a codebook may have (AUTOCODER_MAX_CODEBOOK_TEXTS)" in response.json()["detail"]
        quotes = "".join(f"      - {{text: 'We walked to shop number {i} together.'}}\n" for i in range(101))
        many = "name: many\ntitle: Many\ncodes:\n  - id: a\n    label: A\n    exemplars:\n" + quotes
        response = client.post("/codebooks", content=many, headers={"content-type": "application/yaml"})
        assert response.status_code == 422 and "many would have 102 texts to encode" in response.json()["detail"]
        # A long quote is encoded whole and sentence by sentence: 40 sentences count as 41 texts, not one.
        story = " ".join(f"Then we walked to shop number {i} together." for i in range(40))
        talk = "name: talk\ntitle: Talk\ncodes:\n" + "".join(
            f"  - {{id: t{k}, label: T{k}, exemplars: [{{text: '{story}'}}]}}\n" for k in range(3))
        response = client.post("/codebooks", content=talk, headers={"content-type": "application/yaml"})
        assert response.status_code == 422 and "talk would have 126 texts" in response.json()["detail"]
        # The label, synonyms and definition are one encoded line: a thousand synonyms make it too long.
        synonyms = "name: syn\ntitle: Syn\ncodes:\n  - {id: a, label: A, synonyms: [" + ", ".join(
            f"'walking together number {i}'" for i in range(200)) + "]}\n"
        response = client.post("/codebooks", content=synonyms, headers={"content-type": "application/yaml"})
        assert response.status_code == 422 and "label, synonyms and definition together" in response.text
        long = many.replace(quotes, "      - {text: '" + "word " * 401 + "'}\n")  # 2,004 characters once stripped
        response = client.post("/codebooks", content=long, headers={"content-type": "application/yaml"})
        assert response.status_code == 422
        assert response.json()["problems"] == ["code a exemplars[0]: 2004 characters, more than 2000"]
        reserved = GOOD.replace("name: mine", "name: interview-set")
        response = client.post("/codebooks", content=reserved, headers={"content-type": "application/yaml"})
        assert response.status_code == 409 and "supplements" in response.json()["detail"]
        assert row_counts() == before
        fits = many.replace(quotes, "".join(quotes.splitlines(keepends=True)[:99]))  # 100 texts with the definition
        assert client.post("/codebooks", content=fits, headers={"content-type": "application/yaml"}).status_code == 201
        # Each upload fits; joined at use they do not, and are refused wherever a codebook name is taken.
        other = fits.replace("name: many", "name: other").replace("id: a", "id: b").replace("shop", "market")
        assert client.post("/codebooks", content=other, headers={"content-type": "application/yaml"}).status_code == 201
        assert client.get("/codebooks/many+other").status_code == 200  # reading it encodes nothing
        suggested = client.post("/suggest", json={"text": "We walked to the shop.", "codebook": "many+other"})
        assert suggested.status_code == 422
        assert "many+other would have 200 texts" in suggested.json()["detail"]
        assert {c["name"] for c in client.get("/codebooks").json()} >= {"many", "other"}  # listing still works
