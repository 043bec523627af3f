"""The scoring rule on hand-made vectors, where every number can be checked by hand."""

import numpy as np
import pytest

from app.engine.code_index import DEFINITION, EXEMPLAR, CodeIndex, EvidenceUnit
from app.engine.suggest import score_codes, suggest, with_context
from taxonomy import Code


def unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def make_index(units: list[tuple[int, str, list[float]]]) -> CodeIndex:
    codes = (Code(id="a", label="A"), Code(id="b", label="B"))
    evidence = tuple(EvidenceUnit(c, kind, f"{kind} {i}", "test") for i, (c, kind, _) in enumerate(units))
    return CodeIndex("test", "digest", "test@1", "model", codes, ("G", None), evidence,
                     np.stack([unit(v) for _, _, v in units]))


INDEX = make_index([
    (0, DEFINITION, [1, 0, 0]),
    (0, EXEMPLAR, [0, 1, 0]),
    (0, EXEMPLAR, [1, 1, 0]),
    (0, EXEMPLAR, [0, 0, 1]),
    (1, DEFINITION, [-1, 0, 0]),
])


def test_score_is_the_mean_of_the_best_k_similarities():
    scores, best = score_codes(INDEX, unit([[1, 0, 0]]), evidence_k=3)
    # code a: sims 1, 0, 0.7071, 0 -> best three 1, 0.7071, 0 -> mean 0.5690; code b: -1, clipped to 0.
    assert scores[0, 0] == pytest.approx((1 + 2 ** -0.5 + 0) / 3, abs=1e-5)
    assert scores[0, 1] == 0.0
    assert best[0, 0] == 0  # the definition matched best


def test_with_k_one_it_is_the_best_match():
    scores, best = score_codes(INDEX, unit([[0, 1, 0]]), evidence_k=1)
    assert scores[0, 0] == pytest.approx(1.0)
    assert best[0, 0] == 1


def test_a_code_with_fewer_units_than_k_averages_what_it_has():
    scores, _ = score_codes(INDEX, unit([[-1, 0, 0]]), evidence_k=3)
    assert scores[0, 1] == pytest.approx(1.0)


def test_suggest_orders_codes_and_reports_evidence():
    [candidates] = suggest(INDEX, unit([0.2, 1, 0])[None, :], top_k=2)
    assert [c.code_id for c in candidates] == ["a", "b"]
    assert candidates[0].evidence_kind == EXEMPLAR and candidates[0].evidence_text == "exemplar 1"
    assert candidates[0].group == "G" and 0 <= candidates[1].score <= candidates[0].score <= 1


def test_context_blends_neighbours_in_the_same_turn_only():
    vectors = np.stack([unit([1, 0, 0]), unit([0, 1, 0]), unit([0, 0, 1])])
    out = with_context(vectors, groups=[0, 0, 1], window=1, weight=0.5)
    assert np.allclose(out[0], unit([1, 0.5, 0]))
    assert np.allclose(out[2], vectors[2])  # alone in its turn: unchanged
    assert np.allclose(np.linalg.norm(out, axis=1), 1)
    assert with_context(vectors, [0, 0, 0], window=0) is vectors
