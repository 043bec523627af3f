"""Passage (span) suggestions on hand-made vectors and scores, where every number can be checked by hand."""

import numpy as np
import pytest

from app.engine.code_index import DEFINITION, CodeIndex, EvidenceUnit
from app.engine.passages import merge, passage_candidates, pick_spans, windows
from app.engine.suggest import Candidate, ScoringParams, score_served
from taxonomy import Code

PLAIN = ScoringParams(evidence_k=1, use_background=False, use_counterexamples=False)


def unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


INDEX = CodeIndex("test", "digest", "test@1", "model", (Code(id="a", label="A"), Code(id="b", label="B")),
                  (None, None), (EvidenceUnit(0, DEFINITION, "a's definition", "test"),
                                 EvidenceUnit(1, DEFINITION, "b's definition", "test")),
                  unit(np.array([[1, 0, 0], [0, 0, 1]])))


def test_windows_are_runs_of_codable_sentences_of_one_turn():
    turns = [0, 1, 1, 1, 1, 1, 2, 2]
    codable = [True, True, True, False, True, True, True, True]
    assert windows(turns, codable, longest=4) == [(1, 2), (4, 5), (6, 7)]
    assert windows([0, 0, 0, 0, 0], [True] * 5, longest=3) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 4),
                                                                (3, 4)]
    assert windows([0, 0, 0], [True] * 3, longest=1) == []  # 1 turns passages off


def _spans(window_vector, sentence_vectors, threshold=0.3, margin=0.05):
    sentences = score_served(INDEX, unit(np.array(sentence_vectors)), PLAIN).scores
    window = score_served(INDEX, unit(np.array([window_vector])), PLAIN)
    return passage_candidates(INDEX, window, [(0, len(sentence_vectors) - 1)], sentences, threshold, margin)


def test_a_window_that_outscores_each_of_its_sentences_is_a_span_suggestion():
    # Each sentence half-matches code a (cosine 0.707); together they say it (the window: cosine 0.995).
    [(first, candidate)] = _spans([1, 0.1, 0], [[1, 1, 0], [1, -1, 0]])
    assert first == 0 and candidate.end == 1
    assert candidate.code_id == "a" and candidate.score == pytest.approx(0.995, abs=1e-3)
    assert candidate.evidence_text == "a's definition"


def test_a_window_no_better_than_its_best_sentence_is_no_span():
    # The first sentence already says code a as well as the passage does: its own suggestion is enough.
    assert _spans([1, 0.1, 0], [[1, 0.1, 0], [0, 1, 0]]) == []
    # Better than its sentences but by less than the margin: no span either.
    assert _spans([1, 0.1, 0], [[1, 0.2, 0], [0, 1, 0]], margin=0.05) == []
    # Better by the margin but under the run's threshold: no span.
    assert _spans([1, 3, 0], [[1, 5, 0], [1, -5, 0]], threshold=0.5) == []


def test_per_code_spans_do_not_overlap_and_the_best_window_wins():
    spans = [(0, 1), (0, 2), (1, 2), (3, 4)]
    sentences = np.full((5, 2), 0.1, dtype=np.float32)
    windows_scores = np.array([[0.5, 0.0], [0.6, 0.0], [0.55, 0.45], [0.5, 0.0]], dtype=np.float32)
    picked = pick_spans(windows_scores, spans, sentences, threshold=0.3, margin=0.05)
    # code a: (0, 2) is best; (0, 1) and (1, 2) overlap it; (3, 4) is apart. Code b: only (1, 2) qualifies.
    assert picked == [(1, 0), (2, 1), (3, 0)]


def test_a_tie_prefers_the_longer_window():
    sentences = np.zeros((3, 1), dtype=np.float32)
    picked = pick_spans(np.array([[0.5], [0.5]], dtype=np.float32), [(0, 1), (0, 2)], sentences, 0.3, 0.05)
    assert picked == [(1, 0)]


def _candidate(code, score, end=None):
    return Candidate(code, code.upper(), None, score, DEFINITION, "", "test", end)


def test_a_span_replaces_the_sentence_s_own_suggestion_of_its_code_within_top_k():
    own = [_candidate("a", 0.4), _candidate("b", 0.3), _candidate("c", 0.2)]
    merged = merge(own, [_candidate("b", 0.5, end=3)], top_k=3)
    assert [(c.code_id, c.end) for c in merged] == [("b", 3), ("a", None), ("c", None)]
    assert merge(own, [], top_k=3) is own
