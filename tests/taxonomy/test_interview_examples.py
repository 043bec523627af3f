"""The interview set's coded sentences as codebook evidence: written from the set as the generator says, never
from the test half, and left out when a team turns them off."""

import json
from pathlib import Path

import pytest
import yaml

from app.config import Settings
from app.engine.code_index import default_background
from taxonomy import load_builtin, parse_codebook, resolve
from taxonomy.loader import INTERVIEW_SET_DIR, CodebookError, load_interview_set
from taxonomy.schema import Supplement
from training.interview_examples import SOURCES, as_yaml, code_owners, read_rows, supplements

CODEBOOKS = Path(Settings().taxonomy_dir)


def test_the_files_are_what_the_generator_writes():
    """Hand edits (or a changed interview set) would make the shipped evidence differ from its documented source."""
    made = supplements(read_rows(), code_owners(CODEBOOKS))
    on_disk = {p.stem: p.read_text(encoding="utf-8") for p in (CODEBOOKS / INTERVIEW_SET_DIR).glob("*.yaml")}
    assert on_disk == {book: as_yaml(s) for book, s in made.items()}, "run: python -m training.interview_examples"


def every_text(book) -> set[str]:
    texts = {b.text for b in book.background}
    for code in book.codes:
        texts |= {code.definition} | {e.text for e in code.exemplars + code.counterexamples + code.source_definitions}
    return texts


def test_no_sentence_of_the_test_half_is_in_any_codebook():
    with SOURCES["dev"].open(encoding="utf-8") as handle:  # the test half is in the development half's file
        test_half = {row["text"] for line in handle if line.strip() and (row := json.loads(line))["split"] == "test"}
    assert len(test_half) > 400
    books = load_builtin(CODEBOOKS)
    shipped = set().union(*(every_text(b) for b in books.values()))
    shipped |= every_text(resolve("bcttv1+relational-aspects", books.get, load_interview_set(CODEBOOKS, books)))
    assert not test_half & shipped


def test_coded_sentences_become_exemplars_and_the_rest_background():
    books = load_builtin(CODEBOOKS, third_party=False)
    interview_set = load_interview_set(CODEBOOKS, books)
    before = resolve("bcttv1+relational-aspects", books.get)
    after = resolve("bcttv1+relational-aspects", books.get, interview_set)
    assert before.digest != after.digest  # caches of the index and gate are keyed on it
    texts = {c.id: [e.text for e in c.exemplars] for c in after.codes}
    # development half, PS01: coded 3.2 and 6.1, so an exemplar of both
    both = ("So the first time I went with him and I did most of the talking, and he just sat and watched how I "
            "dealt with them.")
    assert both in texts["3.2"] and both in texts["6.1"]
    assert "So she knew." not in {t for ts in texts.values() for t in ts}  # coded only by its context
    background = {b.text for b in after.background}
    assert "I kept seeing her at home for the rest of the ten weeks." in background  # no code, development half
    assert len(after.background) - len(before.background) > 300
    assert {b.text for b in before.background} <= background


def test_they_hold_only_where_the_codebooks_they_were_coded_with_are_combined():
    """'No code' of BCTTv1 with the relational codes is not 'no code' of BCTTv1 alone (there relational talk is
    what discovery looks for), nor of any other codebook."""
    books = load_builtin(CODEBOOKS, third_party=False)
    interview_set = load_interview_set(CODEBOOKS, books)
    for name in ("bcttv1", "relational-aspects", "peer-change-model", "interview-talk",
                 "bcttv1+relational-aspects+peer-change-model"):
        assert resolve(name, books.get, interview_set).digest == resolve(name, books.get).digest, name
    assert resolve("relational-aspects+bcttv1", books.get, interview_set).digest != \
        resolve("relational-aspects+bcttv1", books.get).digest  # the same combination, either order
    # A team's codebook extending both brings codes of its own, not coded against: it gets none of them.
    team = parse_codebook("name: team\nextends: [bcttv1, relational-aspects]\ncodes:\n  - {id: P.1, label: Walks, "
                          "definition: Going for a walk together during a session.}\n")
    lookup = {**books, "team": team}.get
    assert resolve("team", lookup, interview_set).digest == resolve("team", lookup).digest
    assert default_background() == tuple(books["interview-talk"].background)


def test_a_supplement_may_bring_background_alone_but_not_nothing():
    book = load_builtin(CODEBOOKS)["interview-talk"]
    extra = Supplement(supplements="interview-talk", attribution="us", licence="CC0",
                       background=[{"text": "We met on Tuesdays, mostly."}])
    assert extra.apply(book).background[-1].text == "We met on Tuesdays, mostly."
    with pytest.raises(ValueError, match="codes or background"):
        Supplement(supplements="interview-talk", attribution="us", licence="CC0")


def test_a_broken_interview_set_file_stops_loading(tmp_path):
    books = load_builtin(CODEBOOKS)
    (tmp_path / INTERVIEW_SET_DIR).mkdir()
    (tmp_path / INTERVIEW_SET_DIR / "x.yaml").write_text(yaml.safe_dump(
        {"supplements": "bcttv1", "attribution": "us", "licence": "CC0",
         "codes": [{"id": "99.9", "exemplars": [{"text": "A code BCTTv1 does not have."}]}]}), encoding="utf-8")
    with pytest.raises(CodebookError, match="99.9"):
        load_interview_set(tmp_path, books)
    (tmp_path / INTERVIEW_SET_DIR / "x.yaml").write_text(yaml.safe_dump(
        {"supplements": "bcttv1", "requires": ["no-such-book"], "attribution": "us", "licence": "CC0",
         "background": [{"text": "Fine, thanks."}]}), encoding="utf-8")
    with pytest.raises(CodebookError, match="no-such-book"):
        load_interview_set(tmp_path, books)
