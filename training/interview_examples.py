"""The interview set's coded sentences as codebook evidence: each participant sentence with a technique becomes
an exemplar of its codes, each with none a background sentence, written as supplements of the built-in codebooks
(taxonomy/codebooks/interview-set/). Every set but the test half is used: the test half stays out of every
codebook, so it can still say how the service does on talk it never saw.

Why: the codebooks' exemplars are short, clean quotes, and their background was written as examples of ordinary
talk; a real interview is neither. Fitted with the coded sentences of one set of interviews as well, the gate
and codebook classifier did better on another set, written by someone else (docs/evaluation.md, measured
both ways by bench/interview_examples.py).

Regenerate after changing either file: .venv/bin/python -m training.interview_examples
"""

import json
from collections import defaultdict
from pathlib import Path

import yaml

from taxonomy import load_builtin
from taxonomy.schema import Exemplar, Supplement, SupplementCode, code_order

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "bench" / "data"
# Every coded set, by split name (the test half lives in the development half's file). Each was written and
# gold-coded by a different writer (docs/evaluation.md).
SOURCES = {"dev": DATA / "interviews.jsonl", "test": DATA / "interviews.jsonl",
           "holdout": DATA / "interviews-holdout.jsonl"} | {
    split: DATA / f"interviews-{split}.jsonl" for split in ("fourth", "fifth", "sixth", "seventh")}
SPLIT_NAMES = {"dev": "development half", "holdout": "held-out set", "fourth": "fourth set", "fifth": "fifth set",
               "sixth": "sixth set", "seventh": "seventh set"}
# The sets whose sentences the codebook carries, never "test". All six since each, scored with a codebook
# fitted on the other five, did better than with the first two alone (docs/evaluation.md, "Three more sets").
SHIPPED = ("dev", "holdout", "fourth", "fifth", "sixth", "seventh")
PARTICIPANTS = frozenset({"peer_worker", "supported_peer"})  # the service never codes the interviewer
# The sentences with no code are background of BCTTv1 (with the relational codes), not of interview-talk: that
# is every codebook's background, and for a codebook of other codes (a team's own) "no BCT" is no negative.
BACKGROUND_BOOK = "bcttv1"
FOLDER = REPO / "taxonomy" / "codebooks" / "interview-set"
ATTRIBUTION = ("Sentences of the bct-autocoder interview sets (bench/data/interviews.jsonl, development half; "
               "bench/data/interviews-holdout.jsonl, -fourth, -fifth, -sixth and -seventh.jsonl), written and "
               "coded by the bct-autocoder authors; no real interview was used.")
LICENCE = "CC0 1.0"


def read_rows(splits: tuple[str, ...] = SHIPPED) -> list[dict]:
    """The sentences of these splits, less any whose words the test half also has (short replies such as
    "A bit." recur): the test half must share no sentence with a codebook."""
    if "test" in splits:
        raise ValueError("the test half is never codebook evidence")
    held_back = test_half_texts()
    return [row for split in splits for row in _split_rows(SOURCES[split], split) if row["text"] not in held_back]


def test_half_texts() -> set[str]:
    return {row["text"] for row in _split_rows(SOURCES["test"], "test")}


def _split_rows(path: Path, split: str) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [row for line in handle if line.strip() and (row := json.loads(line))["split"] == split]


def supplements(rows: list[dict], owners: dict[str, str]) -> dict[str, Supplement]:
    """Supplements by the codebook they add to. `owners` maps each code id to the codebook that has it.
    Each requires the others: the sentences were coded against BCTTv1 and the relational codes together, so
    "no code" (background) and "3.2 alone" hold for that combination, not for BCTTv1 alone, where discovery
    looks for the relational talk the codebook lacks.

    A sentence coded only because of what was said around it ("context": true, e.g. "So she knew.") is left
    out: an exemplar has to show its code on its own, as a coder reads it in the evidence."""
    exemplars: dict[str, dict[str, list[Exemplar]]] = defaultdict(lambda: defaultdict(list))
    background: dict[str, Exemplar] = {}
    for row in rows:
        if row["role"] not in PARTICIPANTS:
            continue
        source = f"interview set {row['transcript']} ({SPLIT_NAMES[row['split']]})"
        if not row["codes"]:
            background.setdefault(row["text"], Exemplar(text=row["text"], source=source))
        elif not row.get("context"):
            for code in row["codes"]:
                exemplars[owners[code]][code].append(Exemplar(text=row["text"], source=source, role=row["role"]))
    books = sorted(exemplars)
    return {book: Supplement(supplements=book, requires=[b for b in books if b != book],
                             title="Interview-set sentences", attribution=ATTRIBUTION, licence=LICENCE,
                             codes=[SupplementCode(id=code, exemplars=by_code[code])
                                    for code in sorted(by_code, key=code_order)],
                             background=list(background.values()) if book == BACKGROUND_BOOK else [])
            for book, by_code in exemplars.items()}


def code_owners(taxonomy_dir: Path) -> dict[str, str]:
    books = load_builtin(taxonomy_dir, third_party=False)
    return {code.id: book.name for book in books.values() for code in book.codes}


def as_yaml(supplement: Supplement) -> str:
    header = ("# Generated by `python -m training.interview_examples` from the interview set; do not edit by hand.\n"
              "# The test half of bench/data/interviews.jsonl is never written here (tests/taxonomy check it).\n")
    data = supplement.model_dump(exclude_defaults=True)
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def write(folder: Path = FOLDER) -> list[Path]:
    made = supplements(read_rows(), code_owners(folder.parent))
    folder.mkdir(exist_ok=True)
    paths = []
    for book, supplement in sorted(made.items()):
        path = folder / f"{book}.yaml"
        path.write_text(as_yaml(supplement), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write():
        print(written.relative_to(REPO))
