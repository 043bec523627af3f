"""Fit a classifier on confirmed labels and validate it in the same pass.

One set of grouped folds (transcripts never split) serves twice: its out-of-fold decision values calibrate
the final model, and, calibrated fold by fold on the other folds, they are the held-out predictions every
figure in the model card comes from. So a fit costs (folds + 1) logistic regressions per code, not more,
which keeps retraining on 10,000 labelled sentences to seconds (bench/retrain.py).
"""

from dataclasses import dataclass

import numpy as np

from training.classifier import (
    CALIBRATION_FOLDS,
    CodeClassifier,
    blend,
    classifier_only,
    cross_fitted_proba,
    fit_classifier,
    grouped_folds,
    out_of_fold_decisions,
)
from training.evaluate import BLEND, CLASSIFIER, SIMILARITY
from training.metrics import Report, evaluate_scores


@dataclass
class FitResult:
    classifier: CodeClassifier
    held_out: dict[str, np.ndarray]  # mode -> out-of-fold scores (rows x codes)
    folds: int


def fit_and_validate(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, similarity: np.ndarray,
                     codes: list[str], *, folds: int = CALIBRATION_FOLDS) -> FitResult:
    splits = grouped_folds(groups, folds)
    oof = out_of_fold_decisions(features, labels, splits) if splits else None
    model = fit_classifier(features, labels, codes=codes, oof=oof)
    held_out = {SIMILARITY: similarity}
    if oof is not None:
        proba = cross_fitted_proba(oof, labels, splits)
        held_out[CLASSIFIER] = classifier_only(similarity, proba)
        held_out[BLEND] = blend(similarity, proba, model.positives)
    return FitResult(model, held_out, len(splits))


def served_scores(model: CodeClassifier, features: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """What the service shows for these sentences with this model: similarity blended with the classifier."""
    return blend(similarity, model.predict_proba(features), model.positives)


def reports(scores: dict[str, np.ndarray], labels: np.ndarray, codes: list[str], *, top_k: int,
            threshold: float, rows: np.ndarray | None = None) -> dict[str, Report]:
    """Each mode's figures over `rows` (all rows by default)."""
    pick = slice(None) if rows is None else rows
    gold = [frozenset(codes[j] for j in np.flatnonzero(row)) for row in labels[pick]]
    return {mode: evaluate_scores(s[pick], gold, codes, top_k=top_k, threshold=threshold)
            for mode, s in scores.items()}
