"""A multi-label classifier on sentence embeddings, calibrated per code, and how it is blended with similarity.

One logistic regression per code (one-vs-rest), with balanced class weights because most codes are rare.
Balanced weights buy recall on rare codes but inflate their probabilities, so each code's decision values
are then calibrated (Platt scaling: a one-feature logistic regression) on out-of-fold predictions from
grouped folds inside the training data. Calibrated, a 0.4 from one code means what a 0.4 from another does,
and the service's threshold applies to every code alike.

A code with fewer than `min_positives` confirmed examples (or with no negatives) gets no model: its column
is NaN and the blend falls back to the similarity score, so a new code is never silenced by missing labels.

The fitted model is plain arrays (coefficients, intercepts, calibration), saved as .npz: loading a model
never unpickles code.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

MIN_POSITIVES = 3
CALIBRATION_FOLDS = 3
# Platt scaling needs this many out-of-fold positives of a code; below it the model's own probability is kept
# (which balanced weights push high, towards the similarity scale). On the counselling learning curve,
# calibrating from 2 to 5 examples cost the blend up to 7 points of top-1 at 50-100 labels; from 10 it cost
# at most 1.6 points of macro F1 there and added 8 points of macro F1 from 400 labels up.
CALIBRATION_MIN_POSITIVES = 10
# Blend weight of a code's classifier probability: n / (n + BLEND_PRIOR) for n positive labels, at most
# BLEND_CAP. Set by validation, not learned per fit: on the public counselling set's learning curve
# (bench/learning_curve.py) this schedule kept the blend at or above similarity from 25 labels up, while a
# weight learned per code from a few dozen labels would be fitted to the very labels it is judged on.
# With a handful of labels the codebook's similarity dominates; the cap keeps definitions and exemplars in
# the score even when labels are plentiful, since they carry what the labels have not seen.
BLEND_PRIOR = 10.0
BLEND_CAP = 0.5
# Above this many (rows x codes) the per-code fits run on every core; below it, process start-up costs more.
PARALLEL_WORK = 200_000


@dataclass
class CodeClassifier:
    codes: list[str]
    coef: np.ndarray  # codes x dimension; zero rows for codes without a model
    intercept: np.ndarray  # codes
    fitted: np.ndarray  # codes, bool
    positives: np.ndarray  # confirmed positive labels per code
    platt: np.ndarray  # codes x 2: calibrated p = sigmoid(slope * decision + offset)

    def decision(self, features: np.ndarray) -> np.ndarray:
        return features.astype(np.float32) @ self.coef.T + self.intercept

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (rows x codes); NaN for codes without a model."""
        z = self.platt[:, 0] * self.decision(features) + self.platt[:, 1]
        proba = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return np.where(self.fitted, proba, np.nan).astype(np.float32)

    def for_codes(self, codes: list[str]) -> "CodeClassifier":
        """The same model with its columns in `codes` order; codes it does not know get no model."""
        where = {c: i for i, c in enumerate(self.codes)}
        take = np.array([where.get(c, -1) for c in codes])
        known = take >= 0
        idx = np.where(known, take, 0)
        return CodeClassifier(list(codes), self.coef[idx] * known[:, None], self.intercept[idx] * known,
                              self.fitted[idx] & known, self.positives[idx] * known, self.platt[idx])

    def save(self, path: Path) -> None:
        np.savez(path, coef=self.coef, intercept=self.intercept, fitted=self.fitted, positives=self.positives,
                 platt=self.platt, codes=np.array(json.dumps(self.codes)))

    @classmethod
    def load(cls, path: Path) -> "CodeClassifier":
        with np.load(path, allow_pickle=False) as data:
            return cls(json.loads(str(data["codes"])), data["coef"], data["intercept"], data["fitted"],
                       data["positives"], data["platt"])


def _fit_one(features: np.ndarray, target: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, tol=1e-3)
    model.fit(features, target)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def _fit_linear(features: np.ndarray, labels: np.ndarray, c: float,
                min_positives: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uncalibrated one-vs-rest fits: (coef, intercept, fitted)."""
    positives = labels.sum(axis=0)
    todo = [j for j in range(labels.shape[1]) if min_positives <= positives[j] < len(labels)]
    coef = np.zeros((labels.shape[1], features.shape[1]), dtype=np.float32)
    intercept = np.zeros(labels.shape[1], dtype=np.float32)
    fitted = np.zeros(labels.shape[1], dtype=bool)
    jobs = -1 if len(features) * len(todo) > PARALLEL_WORK else 1
    results = Parallel(n_jobs=jobs)(delayed(_fit_one)(features, labels[:, j], c) for j in todo)
    for j, (w, b) in zip(todo, results, strict=True):
        coef[j], intercept[j], fitted[j] = w, b, True
    return coef, intercept, fitted


def grouped_folds(groups: np.ndarray, folds: int = CALIBRATION_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row indices; a group (transcript, dialogue) is never split. Empty with fewer than 2 groups."""
    n_groups = len(set(groups.tolist()))
    if n_groups < 2:
        return []
    return list(GroupKFold(n_splits=min(folds, n_groups)).split(np.zeros(len(groups)), groups=groups))


def out_of_fold_decisions(features: np.ndarray, labels: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]],
                          *, c: float = 1.0, min_positives: int = MIN_POSITIVES) -> np.ndarray:
    """Each row's decision values from a model that did not see its fold; NaN where a fold had no model."""
    out = np.full(labels.shape, np.nan, dtype=np.float32)
    for train, test in splits:
        coef, intercept, fitted = _fit_linear(features[train], labels[train], c, min_positives)
        values = features[test].astype(np.float32) @ coef.T + intercept
        out[test] = np.where(fitted, values, np.nan)
    return out


def platt_scaling(decisions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(slope, offset) per code from out-of-fold decisions; (1, 0), the model's own sigmoid, where a code has
    too few out-of-fold positives or negatives to calibrate."""
    params = np.tile(np.array([1.0, 0.0], dtype=np.float32), (labels.shape[1], 1))
    for j in range(labels.shape[1]):
        known = ~np.isnan(decisions[:, j])
        y = labels[known, j]
        if y.sum() < CALIBRATION_MIN_POSITIVES or (~y).sum() < CALIBRATION_MIN_POSITIVES:
            continue
        model = LogisticRegression(C=100.0).fit(decisions[known, j].reshape(-1, 1), y)
        slope = float(model.coef_[0, 0])
        if slope > 0:  # a negative slope means the folds disagree: keep the model's own scale
            params[j] = (slope, float(model.intercept_[0]))
    return params


def fit_classifier(features: np.ndarray, labels: np.ndarray, groups: np.ndarray | None = None, *,
                   codes: list[str] | None = None, c: float = 1.0, min_positives: int = MIN_POSITIVES,
                   oof: np.ndarray | None = None) -> CodeClassifier:
    """labels: boolean (rows x codes); rows with no code are negatives for every code. groups (transcripts,
    dialogues) keep calibration folds honest; without them, or given `oof` decisions already computed, the
    fit is calibrated on those or not at all."""
    coef, intercept, fitted = _fit_linear(features, labels, c, min_positives)
    if oof is None and groups is not None:
        oof = out_of_fold_decisions(features, labels, grouped_folds(groups), c=c, min_positives=min_positives)
    platt = platt_scaling(oof, labels) if oof is not None else np.tile([1.0, 0.0], (labels.shape[1], 1))
    names = codes if codes is not None else [str(j) for j in range(labels.shape[1])]
    return CodeClassifier(list(names), coef, intercept, fitted, labels.sum(axis=0).astype(np.int64),
                          platt.astype(np.float32))


def cross_fitted_proba(oof: np.ndarray, labels: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Out-of-fold probabilities for validation: each fold's decisions calibrated on the other folds only, so
    the figures never rest on a calibration fitted to the rows they judge."""
    proba = np.full(oof.shape, np.nan, dtype=np.float32)
    for train, test in splits:
        platt = platt_scaling(oof[train], labels[train])
        z = platt[:, 0] * oof[test] + platt[:, 1]
        proba[test] = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    return proba


def blend(similarity: np.ndarray, proba: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """Per code: (1 - w) * similarity + w * probability, w = min(n / (n + BLEND_PRIOR), BLEND_CAP)."""
    weight = np.minimum(positives / (positives + BLEND_PRIOR), BLEND_CAP).astype(np.float32)
    mixed = (1 - weight) * similarity + weight * proba
    return np.where(np.isnan(proba), similarity, mixed)


def classifier_only(similarity: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """The classifier's probability where a code has a model; similarity where it has too few labels."""
    return np.where(np.isnan(proba), similarity, proba)
