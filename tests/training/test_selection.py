"""Model selection: the served learner is the one that does best on held-out transcripts."""

import numpy as np
import pytest

from training.selection import code_thresholds, fit_multinomial, knn_model, select_model


def _xor_case(rng: np.random.Generator, per_cluster: int = 12, transcripts: int = 8):
    """Code A lives at +e1 and -e1, code B at +e2 and -e2: no linear model separates them (their means are both
    zero), while the nearest confirmed examples do."""
    dim = 16
    rows, labels, groups = [], [], []
    for t in range(transcripts):
        for code, axis in ((0, 0), (1, 1)):
            for sign in (1, -1):
                for _ in range(per_cluster // transcripts + 1):
                    v = rng.normal(0, 0.15, dim)
                    v[axis] += sign
                    rows.append(v / np.linalg.norm(v))
                    labels.append([code == 0, code == 1])
                    groups.append(t)
    return np.array(rows, dtype=np.float32), np.array(labels), np.array(groups)


def test_selection_picks_the_better_candidate():
    rng = np.random.default_rng(0)
    features, labels, groups = _xor_case(rng)
    similarity = np.full(labels.shape, 0.3, dtype=np.float32)  # a codebook that says nothing here
    selection = select_model(features, labels, groups, similarity, ["A", "B"])
    assert selection.figures[selection.best] == max(selection.figures.values())
    assert selection.best.kind == "knn"
    knn_figure = max(f for c, f in selection.figures.items() if c.kind == "knn")
    linear_figure = max(f for c, f in selection.figures.items() if c.kind == "multinomial")
    assert knn_figure > linear_figure + 0.1
    assert selection.baseline.kind == "multinomial" and selection.baseline.mix == "classifier"


def test_multinomial_and_nearest_examples_score_their_codes():
    rng = np.random.default_rng(1)
    features, labels, _ = _xor_case(rng)
    knn = knn_model(features, labels, ["A", "B"]).predict_proba(features[:4])
    assert (knn[:, 0] > knn[:, 1]).all()  # the first rows are code A
    linear = np.eye(4, 16, dtype=np.float32)
    model = fit_multinomial(linear, np.array([[1, 0], [0, 1], [0, 0], [1, 0]], dtype=bool), 10.0, ["A", "B"])
    proba = model.predict_proba(linear)
    assert proba.shape == (4, 2) and proba[1, 1] > proba[1, 0] and proba[0, 0] > proba[0, 1]


def test_a_code_gets_its_own_threshold_only_with_enough_held_out_labels():
    scores = np.array([[0.8, 0.1]] * 12 + [[0.5, 0.1]] * 12, dtype=np.float32)
    labels = np.array([[True, False]] * 12 + [[False, False]] * 12)
    own = code_thresholds(scores, labels, threshold=0.3, top_k=1)
    assert set(own) == {0} and 0.5 < own[0] <= 0.8  # only code 0 has 10+ positives and negatives


def test_similarity_alone_is_served_when_no_learner_beats_it():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(6), 10)
    labels = np.zeros((60, 4), dtype=bool)
    labels[np.arange(60), rng.integers(0, 4, 60)] = True
    features = rng.normal(size=(60, 16)).astype(np.float32)  # embeddings that say nothing about the codes
    # A good codebook: the right code first and over the threshold, the others under it (selection weighs
    # macro F1 at the threshold beside top-1 and hit@5, so a perfect codebook shows only the right codes).
    similarity = (0.1 + 0.6 * labels + rng.uniform(0, 0.05, labels.shape)).astype(np.float32)
    selection = select_model(features, labels, groups, similarity, ["A", "B", "C", "D"])
    assert selection.best.kind == "none" and selection.best.name == "similarity alone (no model)"
    assert selection.figures[selection.best] == 1.0


def test_selection_counts_macro_f1_as_the_evaluation_does():
    from training.metrics import evaluate_scores
    from training.selection import ranking

    rng = np.random.default_rng(5)
    labels = rng.random((80, 6)) < 0.15
    scores = np.clip(0.25 * labels + rng.uniform(0, 0.5, labels.shape), 0, 1).astype(np.float32)
    top1, hit5, macro = ranking(scores, labels, threshold=0.3, top_k=3)
    codes = [str(j) for j in range(6)]
    report = evaluate_scores(scores, [frozenset(codes[j] for j in np.flatnonzero(r)) for r in labels], codes,
                             top_k=3, threshold=0.3)
    assert (top1, hit5, macro) == pytest.approx((report.top1, report.hit_at[5], report.macro_f1))
