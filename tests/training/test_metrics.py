"""The metric code against small cases worked out by hand (numbers in the comments)."""

import numpy as np
import pytest

from training.classifier import blend, classifier_only
from training.metrics import evaluate_scores, shown

CODES = ["A", "B", "C"]
SCORES = np.array([
    [0.9, 0.5, 0.1],   # gold A:    ranked A B C -> top-1 right
    [0.6, 0.4, 0.2],   # gold B:    ranked A B C -> top-1 wrong (B -> A), B second
    [0.2, 0.8, 0.35],  # gold A, C: ranked B C A -> top-1 wrong (A -> B, C -> B), C second, A third
    [0.1, 0.2, 0.35],  # no gold code: left out of ranking figures, counted for thresholded F1
])
GOLD = [frozenset("A"), frozenset("B"), frozenset("AC"), frozenset()]


def test_ranking_figures_by_hand():
    r = evaluate_scores(SCORES, GOLD, CODES, top_k=2, threshold=0.3, ks=(1, 2, 3))
    assert (r.items, r.labelled_items) == (4, 3)
    assert r.top1 == pytest.approx(1 / 3)
    assert r.hit_at == pytest.approx({1: 1 / 3, 2: 1.0, 3: 1.0})
    # recall@k: share of each item's gold codes in its top k, averaged: @2 = (1 + 1 + 1/2) / 3
    assert r.recall_at == pytest.approx({1: 1 / 3, 2: 2.5 / 3, 3: 1.0})


def test_thresholded_f1_by_hand():
    # Shown (top 2, >= 0.3): {A,B}, {A,B}, {B,C}, {C}.
    # A: TP 1, FP 1, FN 1 -> P .5 R .5 F1 .5;  B: TP 1, FP 2 -> P 1/3 R 1 F1 .5;  C: TP 1, FP 1 -> P .5 R 1 F1 2/3
    r = evaluate_scores(SCORES, GOLD, CODES, top_k=2, threshold=0.3)
    table = {row.code: (row.support, row.predicted, row.precision, row.recall, row.f1) for row in r.per_code}
    assert table["A"] == pytest.approx((2, 2, 0.5, 0.5, 0.5))
    assert table["B"] == pytest.approx((1, 3, 1 / 3, 1.0, 0.5))
    assert table["C"] == pytest.approx((1, 2, 0.5, 1.0, 2 / 3))
    assert r.macro_f1 == pytest.approx((0.5 + 0.5 + 2 / 3) / 3)
    # Pooled: TP 3, FP 4, FN 1 -> P 3/7, R 3/4, F1 6/11
    assert (r.micro_precision, r.micro_recall, r.micro_f1) == pytest.approx((3 / 7, 3 / 4, 6 / 11))
    assert sorted(r.confusions) == [("A", "B", 1), ("B", "A", 1), ("C", "B", 1)]


def test_macro_f1_ignores_codes_nobody_used():
    gold = [frozenset("A"), frozenset()]
    scores = np.array([[0.9, 0.1, 0.1], [0.1, 0.1, 0.1]])
    r = evaluate_scores(scores, gold, CODES, top_k=1, threshold=0.5)
    assert r.macro_f1 == 1.0  # B and C have no gold support: not averaged in as zeros


def test_shown_respects_top_k_and_threshold():
    mask = shown(np.array([[0.5, 0.4, 0.35]]), top_k=2, threshold=0.38)
    assert mask.tolist() == [[True, True, False]]


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="expected"):
        evaluate_scores(SCORES[:, :2], GOLD, CODES)


def test_blend_weights_grow_with_labels_and_fall_back_without_a_model():
    sim = np.array([[0.4, 0.4, 0.4]], dtype=np.float32)
    proba = np.array([[1.0, 1.0, np.nan]], dtype=np.float32)
    out = blend(sim, proba, np.array([10, 1000, 0]))
    # 10 labels: w = 10 / 20 = 0.5 -> 0.7; 1000 labels: w capped at 0.5 -> 0.7; no model: similarity
    assert out.tolist()[0] == pytest.approx([0.7, 0.7, 0.4])
    few = blend(sim, proba, np.array([2, 2, 0]))
    assert few[0, 0] == pytest.approx(0.4 + (2 / 12) * 0.6)
    assert classifier_only(sim, proba).tolist()[0] == pytest.approx([1.0, 1.0, 0.4])


def test_figures_for_items_without_a_gold_code_are_none_when_there_are_none():
    report = evaluate_scores(np.array([[0.9, 0.1]], dtype=np.float32), [frozenset({"A"})], ["A", "B"])
    assert report.as_dict()["none_uncoded"] is None and report.as_dict()["none_shown"] is None
    both = evaluate_scores(np.array([[0.9, 0.1], [0.1, 0.2]], dtype=np.float32), [frozenset({"A"}), frozenset()],
                           ["A", "B"])
    assert both.none_uncoded == 1.0 and both.none_shown == 0.0
