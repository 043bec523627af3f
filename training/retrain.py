"""Fit a classifier on confirmed labels and validate it in the same pass.

One set of grouped folds (transcripts never split) serves for everything: choosing the model among the
candidates (training/selection.py), the per-code thresholds, and the held-out figures of the model card
(served model, the multinomial baseline and similarity, on the same rows).
"""

from dataclasses import dataclass

import numpy as np

from training.classifier import CALIBRATION_FOLDS, CodeClassifier
from training.evaluate import BASELINE, SERVED, SIMILARITY
from training.metrics import Report, evaluate_scores
from training.selection import Selection, code_thresholds, fit_selected, offsets_from, select_model


@dataclass
class FitResult:
    classifier: CodeClassifier
    held_out: dict[str, np.ndarray]  # mode -> out-of-fold scores (rows x codes)
    folds: int
    selection: Selection
    thresholds: dict[str, float]  # code -> its own threshold, where it has enough held-out labels


def fit_and_validate(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, similarity: np.ndarray,
                     codes: list[str], *, folds: int = CALIBRATION_FOLDS, threshold: float = 0.3,
                     top_k: int = 5) -> FitResult:
    """Choose the model on grouped folds (training/selection.py), fit its own thresholds per code on the same
    held-out scores, and fit it on every label."""
    selection = select_model(features, labels, groups, similarity, codes, folds=folds, threshold=threshold,
                             top_k=top_k)
    held_out = {SIMILARITY: similarity}
    thresholds: dict[int, float] = {}
    if selection.held_out:
        served = selection.held_out[selection.best]
        thresholds = code_thresholds(served, labels, threshold=threshold, top_k=top_k)
        offsets = offsets_from(thresholds, len(codes), threshold)
        held_out[BASELINE] = selection.held_out[selection.baseline]
        held_out[SERVED] = np.clip(served + offsets, 0.0, 1.0) if offsets is not None else served
    model = fit_selected(selection.best, features, labels, groups, codes,
                         offsets_from(thresholds, len(codes), threshold))
    return FitResult(model, held_out, selection.folds, selection, {codes[j]: t for j, t in thresholds.items()})


def reports(scores: dict[str, np.ndarray], labels: np.ndarray, codes: list[str], *, top_k: int,
            threshold: float, rows: np.ndarray | None = None) -> dict[str, Report]:
    """Each mode's figures over `rows` (all rows by default)."""
    pick = slice(None) if rows is None else rows
    gold = [frozenset(codes[j] for j in np.flatnonzero(row)) for row in labels[pick]]
    return {mode: evaluate_scores(s[pick], gold, codes, top_k=top_k, threshold=threshold)
            for mode, s in scores.items()}
