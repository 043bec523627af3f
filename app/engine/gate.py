"""What a codebook teaches about itself, learned from its own text when its index is built: which code a
sentence is (a classifier over the codes, fitted on their definitions and exemplars) and whether it carries a
technique at all (the gate, fitted on the exemplars against the background of ordinary talk).

Why: similarity to the codes' wording separates topics, not techniques. Ranked by similarity alone, a new
sentence's first code was right for 53% of the interview development half's technique sentences (EmbeddingGemma);
blended with a classifier fitted on the same definitions and exemplars, 60% (docs/evaluation.md). And a single
margin over the background hid half the techniques: the gate instead learns, from how exemplars and background
sentences score against the codebook (each scored without itself), what the scores of a technique look like:
how high the best code is, how far ahead of the next ones, how close the background comes, and how long the
sentence is. Neither needs a coder's labels, so both work for any codebook with exemplars and a background. The
interview set's development half chose the constants below (before its sentences joined the default codebook as
exemplars and background, taxonomy/codebooks/interview-set/); its test half was never used.

The served score of a code (suggest.score_codes) is then
    sigmoid(gate logit - bias + logit(ANCHOR) + (rank score - best rank score) / SPREAD)
(bias: the operating point, OPERATING_BIAS unless AUTOCODER_GATE_BIAS says otherwise)
so the best code of a sentence the gate takes for a technique scores at least ANCHOR, the service threshold,
and other codes follow it as their rank scores fall behind the best. Everything is plain arrays: loading it
never unpickles code.
"""

import math
from dataclasses import dataclass

import numpy as np

from app.engine.markers import without_markers

# The service threshold that the gate's operating point is mapped onto: a sentence's best code scores this
# when its gate logit equals the operating point (0: the gate exactly undecided between balanced classes).
ANCHOR = 0.30
# How much of the rank score comes from the codebook classifier (the rest from similarity); how fast a code's
# score falls as it ranks behind the best (in standard deviations of the sentence's rank scores). Chosen on
# the interview development half (bench/gate.py --tune): BLEND, 0.7 of 0-1 by top-1 + hit@3; SPREAD, the
# smallest (fewest codes shown beside the best) at which the runner-up's score still reads as a number (0.01
# or more) for most sentences shown: at 0.05 the runner-up scored under 0.01 for 62% of them, a list of zeros.
BLEND = 0.7
SPREAD = 0.1
# Above the line a score also says how sure the code is: the gate's margin over ANCHOR is scaled by the code's
# probability among the codebook's codes, a softmax of the rank scores at the encoder's temperature (its
# registry entry's code_temperature, fitted on the interview development half's technique sentences by the
# likelihood of their gold codes: temperature scaling; there EmbeddingGemma's mean top probability, 0.60, met
# its top-1, 0.59). So a shown code the ranking is unsure of reads just over the threshold, a sure one near 1;
# what is shown does not change (score >= ANCHOR exactly when the gate shows it), nor does the order.
TEMPERATURE = 0.5  # for a model of a user's own
# The gate's operating point (its logit must reach this for a sentence to be shown; AUTOCODER_GATE_BIAS). Chosen
# by a rule fixed before the data it ran on existed (docs/evaluation.md, "Three more sets"): of -1 to +0.5, the
# one with the largest mean, over six interview sets each scored with a codebook fitted on the other five, of
# the smaller of technique sentences shown and no-technique sentences left uncoded (0.848 here, 0.845 at 0).
OPERATING_BIAS = -0.25
# A code's classifier column is only as good as the text it was fitted on: its weight is BLEND x n / (n +
# BLEND_PRIOR) for a code with n definition and exemplar pieces, so a team's new code with one exemplar is
# ranked mostly by its similarity (a classifier fitted on two pieces would bury it under the codes with ten).
BLEND_PRIOR = 3.0  # the smallest of 3/6/10 that ranks such a code first on its own paraphrase
CLASSIFIER_C = 10.0  # of 1/10/100 on the development half (top-1 and hit@3)
GATE_C = 1.0
EVIDENCE_K = 5  # matches the scoring's evidence_k: gate features are the served similarity's statistics
FEATURES = ("best code", "second code", "mean of best 5 codes", "background", "best minus background",
            "log(1 + words)")


@dataclass(frozen=True)
class CodebookModel:
    """The classifier over a codebook's codes and its technique gate (standardised linear features)."""

    coef: np.ndarray  # codes x dimension
    intercept: np.ndarray  # codes
    gate_coef: np.ndarray  # len(FEATURES)
    gate_intercept: float
    gate_mean: np.ndarray
    gate_scale: np.ndarray
    words_mean: float  # the gate's training mean of log(1 + words): the value used when a text's words are unknown
    pieces: np.ndarray  # codes: definition and exemplar pieces each code's classifier column was fitted on
    temperature: float = TEMPERATURE  # the encoder's, set when the index is built (not fitted here)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "intercept": self.intercept, "gate_coef": self.gate_coef,
                "gate_intercept": np.array(self.gate_intercept), "gate_mean": self.gate_mean,
                "gate_scale": self.gate_scale, "words_mean": np.array(self.words_mean), "pieces": self.pieces}

    @classmethod
    def from_arrays(cls, data) -> "CodebookModel":
        return cls(data["coef"], data["intercept"], data["gate_coef"], float(data["gate_intercept"]),
                   data["gate_mean"], data["gate_scale"], float(data["words_mean"]), data["pieces"])

    def log_proba(self, vectors: np.ndarray) -> np.ndarray:
        """log P(code | sentence) under the codebook classifier (rows x codes)."""
        z = vectors.astype(np.float32) @ self.coef.T + self.intercept
        z -= z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def gate_logit(self, similarity: np.ndarray, background: np.ndarray, words: np.ndarray | None) -> np.ndarray:
        """The gate's log-odds that each sentence carries a technique (0: undecided)."""
        if words is None:
            words_feature = np.full(len(similarity), self.words_mean, dtype=np.float32)
        else:
            words_feature = np.log1p(np.asarray(words, dtype=np.float32))
        x = gate_features(similarity, background, words_feature)
        return ((x - self.gate_mean) / self.gate_scale) @ self.gate_coef + self.gate_intercept


def gate_features(similarity: np.ndarray, background: np.ndarray, log_words: np.ndarray) -> np.ndarray:
    ordered = -np.sort(-similarity, axis=1)
    top = ordered[:, 0]
    return np.column_stack([top, ordered[:, 1] if ordered.shape[1] > 1 else top,
                            ordered[:, :5].mean(axis=1), background, top - background, log_words])


def word_counts(texts: list[str]) -> np.ndarray:
    """Words said: a transcriber's "[laughs]" is not one (the encoder does not read it either)."""
    return np.array([len(without_markers(t).split()) for t in texts], dtype=np.float32)


def served(similarity: np.ndarray, log_proba: np.ndarray, gate_logit: np.ndarray, pieces: np.ndarray, *,
           blend: float = BLEND, spread: float = SPREAD, bias: float = 0.0,
           temperature: float = TEMPERATURE) -> np.ndarray:
    """The served scores (rows x codes, in (0, 1)): the gate's verdict on the sentence, carried by its best
    code and falling off for codes ranked behind it. `bias` moves the gate's operating point (positive: fewer
    sentences shown)."""
    if len(similarity) == 0:
        return similarity.astype(np.float32)
    rank = rank_scores(similarity, log_proba, pieces, blend)
    behind = rank - rank.max(axis=1, keepdims=True)
    logit = (gate_logit - bias)[:, None] + math.log(ANCHOR / (1 - ANCHOR)) + behind / spread
    verdict = 1.0 / (1.0 + np.exp(-np.clip(logit, -40, 40)))
    share = code_probability(rank, temperature)
    return np.where(verdict >= ANCHOR, ANCHOR + (verdict - ANCHOR) * share, verdict).astype(np.float32)


def rank_scores(similarity: np.ndarray, log_proba: np.ndarray, pieces: np.ndarray, blend: float = BLEND
                ) -> np.ndarray:
    """Similarity blended with the codebook classifier, per code by how much text its column was fitted on."""
    weight = blend * pieces / (pieces + BLEND_PRIOR)
    return (1 - weight) * _standardised(similarity) + weight * _standardised(log_proba)


def code_probability(rank: np.ndarray, temperature: float = TEMPERATURE) -> np.ndarray:
    """Each code's probability among the codebook's, given the sentence carries one: a softmax of rank scores."""
    z = (rank - rank.max(axis=1, keepdims=True)) / temperature
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _standardised(values: np.ndarray) -> np.ndarray:
    return (values - values.mean(axis=1, keepdims=True)) / (values.std(axis=1, keepdims=True) + 1e-9)


def fit(unit_vectors: np.ndarray, unit_codes: np.ndarray, unit_texts: list[str], exemplar: np.ndarray,
        same_exemplar: np.ndarray, code_slices: list[tuple[int, int]], background_vectors: np.ndarray,
        background_texts: list[str]) -> CodebookModel | None:
    """Fit both parts from a codebook's evidence units (definitions and exemplars, grouped by code) and its
    background. `exemplar` marks the exemplar units (the gate's positives); `same_exemplar` (exemplar units x
    units) marks, for each, the units cut from the same exemplar, which are hidden when it is scored, as a new
    sentence never matches itself. None when there is nothing to learn a gate from (no background, or fewer
    than two codes)."""
    from sklearn.linear_model import LogisticRegression

    if len(background_vectors) < 2 or len(code_slices) < 2 or not exemplar.any():
        return None
    classifier = LogisticRegression(C=CLASSIFIER_C, max_iter=3000).fit(unit_vectors, unit_codes)
    coef = np.zeros((len(code_slices), unit_vectors.shape[1]), dtype=np.float32)
    intercept = np.full(len(code_slices), -30.0, dtype=np.float32)  # a code with no text is never ranked up
    coef[classifier.classes_] = classifier.coef_
    intercept[classifier.classes_] = classifier.intercept_

    x, y = gate_training_set(unit_vectors, unit_texts, exemplar, same_exemplar, code_slices, background_vectors,
                             background_texts)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    gate = LogisticRegression(C=GATE_C, class_weight="balanced", max_iter=5000).fit((x - mean) / scale, y)
    pieces = np.bincount(unit_codes, minlength=len(code_slices)).astype(np.float32)
    return CodebookModel(coef, intercept, gate.coef_[0].astype(np.float32), float(gate.intercept_[0]),
                         mean.astype(np.float32), scale.astype(np.float32), float(mean[-1]), pieces)


def gate_training_set(unit_vectors: np.ndarray, unit_texts: list[str], exemplar: np.ndarray,
                      same_exemplar: np.ndarray, code_slices: list[tuple[int, int]], background_vectors: np.ndarray,
                      background_texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The gate's features and labels: each exemplar (1) and background sentence (0) scored as a new sentence
    against the codebook, without itself."""
    rows = np.flatnonzero(exemplar)
    sims = unit_vectors[rows] @ unit_vectors.T
    sims[same_exemplar] = -1.0
    positives = _similarity(sims, code_slices)
    positive_background = _top_mean(unit_vectors[rows] @ background_vectors.T)
    own = background_vectors @ background_vectors.T
    np.fill_diagonal(own, -1.0)
    negatives = _similarity(background_vectors @ unit_vectors.T, code_slices)
    x = np.vstack([
        gate_features(positives, positive_background, np.log1p(word_counts([unit_texts[i] for i in rows]))),
        gate_features(negatives, _top_mean(own), np.log1p(word_counts(background_texts))),
    ])
    return x, np.r_[np.ones(len(rows)), np.zeros(len(background_vectors))]


def _similarity(sims: np.ndarray, code_slices: list[tuple[int, int]]) -> np.ndarray:
    return np.column_stack([_top_mean(sims[:, a:b]) for a, b in code_slices])


def _top_mean(sims: np.ndarray, k: int = EVIDENCE_K) -> np.ndarray:
    k = min(k, sims.shape[1])
    return np.partition(sims, sims.shape[1] - k, axis=1)[:, sims.shape[1] - k:].mean(axis=1)
