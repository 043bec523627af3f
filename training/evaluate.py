"""Evaluate suggestions against labelled sentences: zero-shot similarity, a classifier and their blend on
grouped folds (a dialogue or transcript is never split between training and test), and learning curves.

Every sentence is embedded once; folds and curves reuse the vectors.
"""

from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import GroupKFold

from app.engine.code_index import CodeIndex
from app.engine.embed import Embedder
from app.engine.gate import word_counts
from app.engine.suggest import ScoringParams, score_codes, with_context
from training.classifier import blend, classifier_only, fit_classifier, served_scores
from training.labelled import LabelledItem
from training.metrics import Report, evaluate_scores, gold_matrix
from training.selection import fit_selected, select_model

SIMILARITY, CLASSIFIER, BLEND = "similarity", "classifier", "blend"
BASELINE, SERVED = "baseline", "served"
# classifier / blend: one-vs-rest, calibrated, alone or blended (what was served before model selection);
# baseline: multinomial logistic regression, C chosen by inner grouped cross-validation; served: the model a
# retrain serves, chosen by inner grouped cross-validation among several (training/selection.py).
MODES = (SIMILARITY, CLASSIFIER, BLEND, BASELINE, SERVED)
CURVE_SIZES = (0, 25, 50, 100, 200, 400, None)  # None: every label in the training folds


@dataclass(frozen=True)
class EvalConfig:
    top_k: int = 5
    threshold: float = 0.30
    evidence_k: int = 5
    context: int = 0  # neighbouring sentences of the same group blended in (similarity) or added (classifier)
    folds: int = 5
    ks: tuple[int, ...] = (1, 3, 5)
    scoring: ScoringParams | None = None  # None: the defaults, with `evidence_k`


@dataclass(frozen=True)
class CurvePoint:
    labels: int | None  # confirmed labels the simulated coder gave; None = all of the training folds
    mode: str
    top1: float
    hit3: float
    macro_f1: float
    top1_sd: float
    macro_f1_sd: float
    seeds: int
    hit5: float = float("nan")


class EvaluationSet:
    """Labelled items in group order, embedded once, with their similarity scores against one codebook."""

    def __init__(self, items: list[LabelledItem], index: CodeIndex, embedder: Embedder, config: EvalConfig):
        self.items = sorted(items, key=lambda it: (it.group, it.position))
        self.config = config
        self.codes = [c.id for c in index.codes]
        self.gold = [it.codes for it in self.items]
        self.labels = gold_matrix(self.gold, self.codes)
        self.groups = np.array([it.group for it in self.items])
        vectors = embedder.encode([it.text for it in self.items])
        # Context comes from the same speaker turn where the data marks turns, else from the whole group.
        turns = [(it.group, it.turn) for it in self.items]
        around = with_context(vectors, turns, config.context)
        self.similarity = score_codes(index, around, config.scoring or ScoringParams(evidence_k=config.evidence_k),
                                      word_counts([it.text for it in self.items]))[0]
        # The classifier keeps the sentence's own vector and learns how much the neighbours matter.
        self.features = np.hstack([vectors, around]) if config.context else vectors

    def report(self, scores: np.ndarray) -> Report:
        c = self.config
        return evaluate_scores(scores, self.gold, self.codes, top_k=c.top_k, threshold=c.threshold, ks=c.ks)

    def folds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        n_groups = len(set(self.groups))
        if n_groups < 2:
            raise ValueError("cross-validation needs at least two groups (dialogues or transcripts)")
        splitter = GroupKFold(n_splits=min(self.config.folds, n_groups))
        return list(splitter.split(self.features, groups=self.groups))

    def cross_validated(self, train_size: int | None = None, seed: int = 0,
                        modes: tuple[str, ...] = MODES) -> dict[str, np.ndarray]:
        """Out-of-fold scores of each mode; each fold learns from `train_size` random training items."""
        rng = np.random.default_rng(seed)
        out = {mode: self.similarity.copy() for mode in modes}
        for train, test in self.folds():
            if train_size == 0:
                continue
            chosen = rng.permutation(train)[:train_size] if train_size is not None else train
            x, y, g = self.features[chosen], self.labels[chosen], self.groups[chosen]
            if CLASSIFIER in modes or BLEND in modes:
                model = fit_classifier(x, y, g)
                proba = model.predict_proba(self.features[test])
                if CLASSIFIER in modes:
                    out[CLASSIFIER][test] = classifier_only(self.similarity[test], proba)
                if BLEND in modes:
                    out[BLEND][test] = blend(self.similarity[test], proba, model.positives)
            if BASELINE in modes or SERVED in modes:
                selection = select_model(x, y, g, self.similarity[chosen], self.codes,
                                         threshold=self.config.threshold, top_k=self.config.top_k)
                for mode, candidate in ((BASELINE, selection.baseline), (SERVED, selection.best)):
                    if mode in modes:
                        model = fit_selected(candidate, x, y, g, self.codes)
                        out[mode][test] = served_scores(model, self.features[test], self.similarity[test])
        return out


@dataclass
class Evaluation:
    reports: dict[str, Report]
    curve: list[CurvePoint] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"reports": {m: r.as_dict() for m, r in self.reports.items()},
                "curve": [vars(p) for p in self.curve]}


def evaluate(data: EvaluationSet, *, modes: tuple[str, ...] = MODES) -> Evaluation:
    """Zero-shot similarity on every item; classifier and blend out of fold, trained on all training items."""
    scores = {SIMILARITY: data.similarity}
    if set(modes) - {SIMILARITY}:
        scores = data.cross_validated(modes=modes)
    return Evaluation({mode: data.report(scores[mode]) for mode in modes})


def learning_curve(data: EvaluationSet, sizes: tuple[int | None, ...] = CURVE_SIZES,
                   seeds: int = 3, modes: tuple[str, ...] = MODES) -> list[CurvePoint]:
    """Simulate a coder confirming N random labels per training fold, for several seeds, each mode."""
    points: list[CurvePoint] = []
    for size in sizes:
        runs = range(1 if size is None or size == 0 else seeds)  # nothing random to vary at 0 or all
        results: dict[str, list[Report]] = {m: [] for m in modes}
        for seed in runs:
            for mode, scores in data.cross_validated(size, seed, modes).items():
                results[mode].append(data.report(scores))
        for mode, reports in results.items():
            top1 = np.array([r.top1 for r in reports])
            f1 = np.array([r.macro_f1 for r in reports])
            hit3 = float(np.mean([r.hit_at.get(3, float("nan")) for r in reports]))
            hit5 = float(np.mean([r.hit_at.get(5, float("nan")) for r in reports]))
            points.append(CurvePoint(size, mode, float(top1.mean()), hit3, float(f1.mean()),
                                     float(top1.std()), float(f1.std()), len(reports), hit5))
    return points
