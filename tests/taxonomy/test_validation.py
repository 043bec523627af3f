"""Codebook validation: every mistake a codebook author can make gets a message that says where."""

import pytest

from taxonomy import CodebookError, parse_codebook, resolve


def problems(text: str) -> list[str]:
    with pytest.raises(CodebookError) as info:
        book = parse_codebook(text)
        resolve(book.name, lambda n: book if n == book.name else None)
    return [f"{p['loc']}: {p['msg']}" for p in info.value.problems] or [info.value.message]


def test_a_valid_codebook_in_yaml_and_json():
    yaml_book = parse_codebook("name: mine\ncodes:\n  - {id: a, label: A, definition: the a code}\n")
    json_book = parse_codebook('{"name": "mine", "codes": [{"id": "a", "label": "A", "definition": "the a code"}]}')
    assert yaml_book == json_book


def test_duplicate_ids():
    found = problems("name: x\ncodes:\n  - {id: a, label: A}\n  - {id: a, label: B}\n")
    assert any("duplicate code ids: a" in p for p in found)


def test_empty_label_names_the_code():
    found = problems("name: x\ncodes:\n  - {id: a, label: A}\n  - {id: b, label: '  '}\n")
    assert found == ["codes[1] (id b).label: label is empty"]


def test_unknown_parent():
    found = problems("name: x\ncodes:\n  - {id: a, label: A, parent: nowhere}\n")
    assert found == ["x: a: unknown parent 'nowhere'"]


def test_parent_cycle():
    found = problems("name: x\ncodes:\n  - {id: a, label: A, parent: b}\n  - {id: b, label: B, parent: a}\n")
    assert any("parent cycle" in p for p in found)


def test_unquoted_decimal_id_is_refused_not_silently_merged():
    # YAML reads 10.10 as 10.1: silently converting would turn two codes into one.
    found = problems("name: x\ncodes:\n  - {id: 10.1, label: A}\n  - {id: 10.10, label: B}\n")
    assert any("quote ids" in p for p in found)


def test_invalid_yaml_gives_the_line():
    with pytest.raises(CodebookError, match="line 3"):
        parse_codebook("name: x\ncodes:\n\t- {id: a, label: A}\n")  # a tab indent


def test_not_a_mapping():
    with pytest.raises(CodebookError, match="must be a mapping"):
        parse_codebook("- just\n- a list\n")


def test_unknown_field_and_bad_name():
    found = problems("name: 'Has Spaces'\ncodes:\n  - {id: a, label: A, colour: red}\n")
    assert any(p.startswith("name:") for p in found)
    assert any("colour" in p for p in found)


def test_extends_unknown_codebook():
    assert problems("name: x\nextends: [nope]\ncodes:\n  - {id: a, label: A}\n") == ["unknown codebook 'nope'"]


def test_extension_may_not_reuse_an_id_of_its_base():
    base = parse_codebook("name: base\ncodes:\n  - {id: a, label: A}\n")
    ext = parse_codebook("name: ext\nextends: [base]\ncodes:\n"
                         "  - {id: a, label: Again}\n  - {id: b, label: B, parent: a}\n")
    with pytest.raises(CodebookError) as info:
        resolve("ext", {"base": base, "ext": ext}.get)
    assert info.value.problems == [{"loc": "ext: a", "msg": "id already used in base"}]
