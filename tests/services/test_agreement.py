"""Agreement statistics against published worked examples, and the unit rules of compare()."""

import math

import pytest

from app.services.agreement import alpha, compare, kappa, percent

NAN = math.nan


def test_alpha_matches_krippendorffs_worked_example():
    """Krippendorff (2011), 'Computing Krippendorff's Alpha-Reliability', nominal data, 4 observers, 12 units,
    with missing values: alpha = 0.743."""
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
            [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN]]
    assert alpha(data) == pytest.approx(0.743, abs=5e-4)


def test_alpha_matches_the_encyclopedia_example():
    """The 3-coder, 15-unit example with missing values in the Krippendorff's alpha article: nominal 0.691."""
    data = [[NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
            [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
            [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4]]
    assert alpha(data) == pytest.approx(0.691, abs=5e-4)


def test_kappa_worked_example_and_undefined_cases():
    a = [1] * 25 + [0] * 25
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert kappa(a, b) == pytest.approx(0.4) and percent(a, b) == pytest.approx(0.7)
    assert kappa([0, 0, 0], [0, 0, 0]) is None and percent([0, 0, 0], [0, 0, 0]) == 1.0
    assert kappa([], []) is None and percent([], []) is None
    assert alpha([[1, 1], [1, 1]]) is None


def test_units_are_segments_each_coder_decided_on():
    alice = {1: frozenset({"a"}), 2: frozenset(), 3: frozenset({"a", "b"})}
    bob = {1: frozenset({"a"}), 2: frozenset({"b"}), 4: frozenset({"a"})}  # 3 and 4 are not shared
    report = compare({"alice": alice, "bob": bob}, model={1: frozenset({"a"}), 2: frozenset(), 3: frozenset()})
    assert report.units == 2 and report.codes == ["a", "b"]  # only segments 1 and 2, codes used there
    (pair,) = report.pairs
    # Pooled units (segment, code): (1,a) 1/1, (2,a) 0/0, (1,b) 0/0, (2,b) 0/1 -> 3 of 4 agree
    assert pair.units == 2 and pair.percent_agreement == pytest.approx(0.75)
    by_code = {c.code: c for c in report.per_code}
    assert by_code["a"].pairs[0].percent_agreement == 1.0 and by_code["a"].applied == {"alice": 1, "bob": 1}
    assert by_code["b"].applied == {"alice": 0, "bob": 1}
    model_alice = next(p for p in report.model if p.b == "alice")
    assert model_alice.units == 3  # the model rated every coded segment; alice decided on 1, 2 and 3
