"""Reading labelled files: codes matched by id or label, and clear errors for what cannot be used."""

import json

import pytest

from taxonomy import parse_codebook, resolve
from training.labelled import LabelledFileError, load_labelled

BOOK = parse_codebook("""
name: tiny
codes:
  - {id: "1", label: Goals}
  - {id: "1.1", parent: "1", label: Goal setting}
  - {id: "1.2", parent: "1", label: Problem solving}
""")
RESOLVED = resolve("tiny", {"tiny": BOOK}.get)


def write(tmp_path, rows):
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_codes_by_id_or_label_and_positions_in_group(tmp_path):
    path = write(tmp_path, [
        {"text": "We set a goal.", "codes": ["1.1"], "group": "d1"},
        {"text": "What gets in the way?", "codes": ["problem SOLVING"], "group": "d1"},
        "",
        {"text": "Hello there.", "codes": [], "group": "d2"},
    ])
    items = load_labelled(path, RESOLVED)
    assert [(i.codes, i.group, i.position) for i in items] == [
        (frozenset({"1.1"}), "d1", 0), (frozenset({"1.2"}), "d1", 1), (frozenset(), "d2", 0)]


@pytest.mark.parametrize(("line", "message"), [
    ('{"text": "x", "codes": ["9.9"]}', "labelled.jsonl:1: codes not in codebook tiny: 9.9"),
    ('{"text": "x", "codes": ["1"]}', "codes not in codebook tiny: 1"),  # a group is not a codable leaf
    ('{"text": "", "codes": []}', "needs a non-empty 'text'"),
    ('{"text": "x", "codes": 3}', "must be a list of codes"),
    ("{not json", "labelled.jsonl:1: not valid JSON"),
])
def test_unusable_lines_name_the_line(tmp_path, line, message):
    with pytest.raises(LabelledFileError, match=message.replace(".", r"\.")):
        load_labelled(write(tmp_path, [line]), RESOLVED)


def test_empty_file(tmp_path):
    with pytest.raises(LabelledFileError, match="no labelled lines"):
        load_labelled(write(tmp_path, [""]), RESOLVED)
