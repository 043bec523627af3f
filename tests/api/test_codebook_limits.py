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
