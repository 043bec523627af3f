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

# scikit-learn and joblib are imported where a model is fitted: loading and applying a fitted model needs only
# numpy, and importing them cost 0.8 s of CPU in the start-up of every service and `precode` run.

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


KNN_K = 3  # nearest confirmed examples of a code whose similarities are averaged (as for codebook evidence)


@dataclass
class CodeClassifier:
    """A fitted model over codes. `kind` says how probabilities are computed:
    - "ovr": one logistic regression per code, Platt-calibrated (coef, intercept, platt);
    - "multinomial": one softmax over the codes and a 'no code' class (coef, intercept, none_coef, none_intercept);
    - "knn": the mean similarity of a sentence to the code's KNN_K nearest confirmed examples (examples,
      example_labels).
    `mix` says how it is served with similarity: "blend" (the schedule in `blend`) or "classifier" (its own
    probability, similarity only for codes it has no model for). `offsets` shift each code's served score by
    (threshold - the code's own threshold fitted on held-out labels), so one threshold applies to every code.
    """

    codes: list[str]
    coef: np.ndarray  # codes x dimension; zero rows for codes without a model
    intercept: np.ndarray  # codes
    fitted: np.ndarray  # codes, bool
    positives: np.ndarray  # confirmed positive labels per code
    platt: np.ndarray  # codes x 2: calibrated p = sigmoid(slope * decision + offset)
    kind: str = "ovr"
    mix: str = "blend"
    none_coef: np.ndarray | None = None  # multinomial: the 'no code' class
    none_intercept: float = 0.0
    examples: np.ndarray | None = None  # knn: confirmed sentence vectors
    example_labels: np.ndarray | None = None  # knn: examples x codes, bool
    offsets: np.ndarray | None = None  # codes: added to the served score (0 where no own threshold)

    def decision(self, features: np.ndarray) -> np.ndarray:
        return features.astype(np.float32) @ self.coef.T + self.intercept

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Probabilities (rows x codes) on the service's scale; NaN for codes without a model."""
        if self.kind == "multinomial":
            z = np.hstack([self.decision(features), (features.astype(np.float32) @ self.none_coef
                                                     + self.none_intercept)[:, None]])
            z = np.exp(z - z.max(axis=1, keepdims=True))
            proba = (z / z.sum(axis=1, keepdims=True))[:, :-1]
        elif self.kind == "knn":
            proba = np.full((len(features), len(self.codes)), np.nan, dtype=np.float32)
            if self.examples is not None and len(self.examples) and len(features):
                sims = features.astype(np.float32) @ self.examples.T
                for j in np.flatnonzero(self.fitted):
                    block = sims[:, self.example_labels[:, j]]
                    k = min(KNN_K, block.shape[1])
                    proba[:, j] = np.clip(np.sort(block, axis=1)[:, -k:].mean(axis=1), 0.0, 1.0)
        else:
            z = self.platt[:, 0] * self.decision(features) + self.platt[:, 1]
            proba = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return np.where(self.fitted, proba, np.nan).astype(np.float32)

    def for_codes(self, codes: list[str]) -> "CodeClassifier":
        """The same model with its columns in `codes` order; codes it does not know get no model."""
        where = {c: i for i, c in enumerate(self.codes)}
        take = np.array([where.get(c, -1) for c in codes])
        known = take >= 0
        idx = np.where(known, take, 0)
        labels = self.example_labels[:, idx] & known if self.example_labels is not None else None
        offsets = self.offsets[idx] * known if self.offsets is not None else None
        return CodeClassifier(list(codes), self.coef[idx] * known[:, None], self.intercept[idx] * known,
                              self.fitted[idx] & known, self.positives[idx] * known, self.platt[idx], self.kind,
                              self.mix, self.none_coef, self.none_intercept, self.examples, labels, offsets)

    def save(self, path: Path) -> None:
        extra = {"none_coef": self.none_coef, "examples": self.examples, "example_labels": self.example_labels,
                 "offsets": self.offsets}
        np.savez(path, coef=self.coef, intercept=self.intercept, fitted=self.fitted, positives=self.positives,
                 platt=self.platt, codes=np.array(json.dumps(self.codes)),
                 meta=np.array(json.dumps({"kind": self.kind, "mix": self.mix,
                                           "none_intercept": float(self.none_intercept)})),
                 **{k: v for k, v in extra.items() if v is not None})

    @classmethod
    def load(cls, path: Path) -> "CodeClassifier":
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"])) if "meta" in data else {}
            optional = {k: data[k] for k in ("none_coef", "examples", "example_labels", "offsets") if k in data}
            return cls(json.loads(str(data["codes"])), data["coef"], data["intercept"], data["fitted"],
                       data["positives"], data["platt"], meta.get("kind", "ovr"), meta.get("mix", "blend"),
                       none_intercept=meta.get("none_intercept", 0.0), **optional)


def _fit_one(features: np.ndarray, target: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

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
    from joblib import Parallel, delayed

    jobs = -1 if len(features) * len(todo) > PARALLEL_WORK else 1
    results = Parallel(n_jobs=jobs)(delayed(_fit_one)(features, labels[:, j], c) for j in todo)
    for j, (w, b) in zip(todo, results, strict=True):
        coef[j], intercept[j], fitted[j] = w, b, True
    return coef, intercept, fitted


def grouped_folds(groups: np.ndarray, folds: int = CALIBRATION_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row indices; a group (transcript, dialogue) is never split. Empty with fewer than 2 groups."""
    from sklearn.model_selection import GroupKFold

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
    from sklearn.linear_model import LogisticRegression

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


def blend(similarity: np.ndarray, proba: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """Per code: (1 - w) * similarity + w * probability, w = min(n / (n + BLEND_PRIOR), BLEND_CAP)."""
    weight = np.minimum(positives / (positives + BLEND_PRIOR), BLEND_CAP).astype(np.float32)
    mixed = (1 - weight) * similarity + weight * proba
    return np.where(np.isnan(proba), similarity, mixed)


def classifier_only(similarity: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """The classifier's probability where a code has a model; similarity where it has too few labels."""
    return np.where(np.isnan(proba), similarity, proba)


def served_scores(model: CodeClassifier, features: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """What the service shows for these sentences with this model: the classifier mixed with similarity as
    the model says, each code shifted onto the common threshold by its own fitted threshold."""
    proba = model.predict_proba(features)
    scores = classifier_only(similarity, proba) if model.mix == "classifier" else blend(similarity, proba,
                                                                                        model.positives)
    if model.offsets is not None:
        scores = np.clip(scores + model.offsets, 0.0, 1.0)
    return scores
