"""The codebooks we ship: complete, correctly numbered, faithful to the seed study, and combinable."""

import difflib
import re
from pathlib import Path

import pytest

from app.config import Settings
from taxonomy import load_builtin, load_codebook_file, resolve
from tests.conftest import shared_path

CODEBOOKS = Path(Settings().taxonomy_dir)
BOOKS = {p.stem: load_codebook_file(p) for p in CODEBOOKS.glob("*.yaml")}
# Techniques per BCTTv1 group, 1 to 16 (Michie et al. 2013).
GROUP_SIZES = [9, 7, 3, 4, 6, 3, 8, 7, 3, 11, 4, 6, 5, 10, 4, 3]


def test_file_names_match_codebook_names():
    assert {p.stem for p in CODEBOOKS.glob("*.yaml")} == {b.name for b in BOOKS.values()}


def test_bcttv1_has_93_techniques_numbered_in_16_groups():
    book = resolve("bcttv1", BOOKS.get)
    groups = [c for c in book.codes if c.parent is None]
    assert [g.id for g in groups] == [str(i) for i in range(1, 17)]
    for group, size in zip(groups, GROUP_SIZES, strict=True):
        children = [c.id for c in book.codes if c.parent == group.id]
        assert children == [f"{group.id}.{i}" for i in range(1, size + 1)]
    assert len(book.leaves) == 93


def test_every_technique_has_a_definition_and_exemplars():
    for name in BOOKS:
        for code in resolve(name, BOOKS.get).leaves:
            assert len(code.definition.split()) >= 5, code.id
            assert code.exemplars, code.id
            assert all(e.source for e in code.exemplars), code.id


def test_bcttv1_labels_match_the_seed_table():
    text = shared_path("seeds").glob("002_*.txt").__next__().read_text(encoding="utf-8")
    seed = dict(re.findall(r"^(\d+\.\d+)\t([^\t\n]+)", text, flags=re.MULTILINE))
    seed = {k: v for k, v in seed.items() if not k.endswith(".0")}
    ours = {c.id: c.label for c in resolve("bcttv1", BOOKS.get).leaves}
    assert set(seed) == set(ours)
    for code_id, label in ours.items():
        # The seed's table has small typos ("Goal setting behaviour"); names must still be the same technique.
        ratio = difflib.SequenceMatcher(None, label.lower(), seed[code_id].lower()).ratio()
        assert ratio > 0.8, (code_id, label, seed[code_id])


def test_relational_aspects_carry_the_seeds_definitions_and_quotes():
    text = next(shared_path("seeds").glob("001_*.txt")).read_text(encoding="utf-8")
    flat = " ".join(text.split())
    book = load_builtin(CODEBOOKS)["relational-aspects"]  # with the third-party supplement applied
    leaves = [c for c in book.codes if c.parent == "17"]
    assert [(c.id, c.label) for c in leaves] == [
        ("17.1", "Sharing experiential knowledge"), ("17.2", "Promote reciprocity"),
        ("17.3", "Promote autonomy"), ("17.4", "Offer confidentiality"), ("17.5", "Validating relationship")]
    quotes = 0
    for code in leaves:
        assert [f"{code.label}: {d.text}" in flat for d in code.source_definitions] == [True]
        for ex in code.exemplars:
            if "Marks et al." in ex.source:
                assert ex.text in flat, ex.text[:60]  # verbatim, as the article's licence requires
                quotes += 1
    assert quotes == 9


def test_the_service_runs_without_third_party_text():
    """Marks et al. (2022) is CC BY-NC-ND: its text lives only in its own file, which can be left out."""
    supplement = CODEBOOKS / "third-party" / "marks2022-relational-aspects.yaml"
    assert "CC BY-NC-ND 4.0" in supplement.read_text(encoding="utf-8").splitlines()[0]
    text = next(shared_path("seeds").glob("001_*.txt")).read_text(encoding="utf-8")
    flat = " ".join(text.split())
    own = load_builtin(CODEBOOKS, third_party=False)
    book = resolve("bcttv1+relational-aspects", own.get)
    assert len(book.leaves) == 98
    for code in book.leaves:
        assert not code.source_definitions
        assert all("Marks et al." not in e.source for e in code.exemplars), code.id
        assert len(code.definition) > 40 and code.definition not in flat, code.id  # our own words
        assert len(code.exemplars) >= 8, code.id


def test_bcttv1_plus_relational_aspects_has_98_codes():
    assert len(resolve("bcttv1+relational-aspects", BOOKS.get).leaves) == 98


def test_peer_change_model_has_three_mechanisms_and_their_subthemes():
    book = resolve("peer-change-model", BOOKS.get)
    mechanisms = [c for c in book.codes if c.parent is None]
    assert [m.label.split()[0] for m in mechanisms] == ["Building", "Role-modelling", "Engaging"]
    assert [len([c for c in book.codes if c.parent == m.id]) for m in mechanisms] == [3, 4, 4]


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_digest_is_stable_and_changes_with_content(name):
    a, b = resolve(name, BOOKS.get), resolve(name, BOOKS.get)
    assert a.digest == b.digest
    changed = BOOKS[name].model_copy(update={"version": "changed"})
    assert resolve(name, lambda n: changed if n == name else BOOKS.get(n)).digest != a.digest
