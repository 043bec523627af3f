"""A multi-label classifier on sentence embeddings, and how its probabilities are blended with similarity.

One logistic regression per code (one-vs-rest), with balanced class weights because most codes are rare.
A code with fewer than `min_positives` confirmed examples (or with no negatives) gets no model: its column
is NaN and the blend falls back to the similarity score, so a new code is never silenced by missing labels.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

MIN_POSITIVES = 2
# Blend weight of a code's classifier probability: n / (n + BLEND_PRIOR) for n positive labels, at most
# BLEND_CAP. With a handful of labels the codebook's similarity dominates; the cap keeps the definitions and
# exemplars in the score even when labels are plentiful, since they carry what the labels have not seen.
# Chosen on the public counselling set's learning curve (README, "How good are the suggestions?").
BLEND_PRIOR = 10.0
BLEND_CAP = 0.5


@dataclass
class CodeClassifier:
    models: list[LogisticRegression | None]
    positives: np.ndarray  # confirmed positive labels per code

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Probabilities (rows x codes); NaN for codes without a model."""
        out = np.full((len(features), len(self.models)), np.nan, dtype=np.float32)
        for j, model in enumerate(self.models):
            if model is not None:
                out[:, j] = model.predict_proba(features)[:, 1]
        return out


def fit_classifier(features: np.ndarray, labels: np.ndarray, *, c: float = 1.0,
                   min_positives: int = MIN_POSITIVES) -> CodeClassifier:
    """labels: boolean (rows x codes). Rows with no code are negatives for every code."""
    positives = labels.sum(axis=0)
    models: list[LogisticRegression | None] = []
    for j in range(labels.shape[1]):
        if positives[j] < min_positives or positives[j] == len(labels):
            models.append(None)
            continue
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        models.append(model.fit(features, labels[:, j]))
    return CodeClassifier(models, positives)


def blend(similarity: np.ndarray, proba: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """Per code: (1 - w) * similarity + w * probability, w = min(n / (n + BLEND_PRIOR), BLEND_CAP)."""
    weight = np.minimum(positives / (positives + BLEND_PRIOR), BLEND_CAP).astype(np.float32)
    mixed = (1 - weight) * similarity + weight * proba
    return np.where(np.isnan(proba), similarity, mixed)


def classifier_only(similarity: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """The classifier's probability where a code has a model; similarity where it has too few labels."""
    return np.where(np.isnan(proba), similarity, proba)
