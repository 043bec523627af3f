"""How good a score matrix is against gold codes: ranking figures, thresholded F1, per-code table, confusions.

Definitions (docs/evaluation.md and `autocoder evaluate` use these words):
- top-1 accuracy: among items with at least one gold code, the share whose best-ranked code is a gold code.
- hit@k: among those items, the share with at least one gold code in the k best-ranked codes.
- recall@k: among those items, the mean share of their gold codes found in the k best-ranked codes.
- left uncoded: among items with no gold code, the share where no code is shown (nothing reaches the
  threshold); shown per item: codes shown on an average item with no gold code.
- technique shown: among items with a gold code, the share where some code is shown (the other side of the
  gate's trade-off: a technique with nothing shown costs a coder a full read); right code shown: the share
  where a gold code is among those shown.
- kappa: the model as a second coder at the served point, as `autocoder agreement` computes it: Cohen's kappa
  over every (item, code) for the codes either side used, a code shown counting as the model coding it.
- thresholded: the service shows a code when it is among the top_k and scores at least the threshold; over
  every item (items with no gold code count: anything shown there is a false positive), precision, recall
  and F1 per code, macro F1 (mean over codes with gold support) and micro F1 (pooled counts).
"""

from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import precision_recall_fscore_support


@dataclass(frozen=True)
class CodeRow:
    code: str
    support: int
    predicted: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Report:
    items: int
    labelled_items: int
    top1: float
    hit_at: dict[int, float]
    recall_at: dict[int, float]
    macro_f1: float
    micro_f1: float
    micro_precision: float
    micro_recall: float
    none_uncoded: float  # items with no gold code that get no code shown, as a share of those items
    none_shown: float  # codes shown on an average item with no gold code
    per_code: list[CodeRow]
    confusions: list[tuple[str, str, int]]  # (gold code, code ranked first instead, count)
    technique_shown: float = float("nan")  # items with a gold code that get some code shown
    right_shown: float = float("nan")  # items with a gold code that get a gold code shown
    kappa: float | None = None  # model (shown codes) against gold, pooled over (item, used code)

    def as_dict(self) -> dict:
        return {
            "items": self.items, "labelled_items": self.labelled_items, "top1": self.top1,
            "hit_at": {str(k): v for k, v in self.hit_at.items()},
            "recall_at": {str(k): v for k, v in self.recall_at.items()},
            "macro_f1": self.macro_f1, "micro_f1": self.micro_f1,
            "micro_precision": self.micro_precision, "micro_recall": self.micro_recall,
            # None where no item lacks a gold code (JSON has no NaN; PostgreSQL's json type refuses it)
            "none_uncoded": _finite(self.none_uncoded), "none_shown": _finite(self.none_shown),
            "technique_shown": _finite(self.technique_shown), "right_shown": _finite(self.right_shown),
            "kappa": self.kappa,
            "per_code": [vars(row) for row in self.per_code],
            "confusions": [{"gold": g, "ranked_first": p, "count": n} for g, p, n in self.confusions],
        }


def _finite(value: float) -> float | None:
    return None if value != value else value


def gold_matrix(gold: list[frozenset[str]], codes: list[str]) -> np.ndarray:
    column = {c: i for i, c in enumerate(codes)}
    matrix = np.zeros((len(gold), len(codes)), dtype=bool)
    for row, labels in enumerate(gold):
        matrix[row, [column[c] for c in labels]] = True
    return matrix


def shown(scores: np.ndarray, top_k: int, threshold: float) -> np.ndarray:
    """What the service shows: the top_k codes of each row that reach the threshold (ties broken by order)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :top_k]
    mask = np.zeros(scores.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask & (scores >= threshold)


def evaluate_scores(scores: np.ndarray, gold: list[frozenset[str]], codes: list[str], *, top_k: int = 5,
                    threshold: float = 0.3, ks: tuple[int, ...] = (1, 3, 5), confusions: int = 10) -> Report:
    if scores.shape != (len(gold), len(codes)):
        raise ValueError(f"scores are {scores.shape}, expected {(len(gold), len(codes))}")
    truth = gold_matrix(gold, codes)
    labelled = truth.any(axis=1)
    ranked = np.argsort(-scores[labelled], axis=1, kind="stable")
    truth_l = truth[labelled]
    in_gold = np.take_along_axis(truth_l, ranked, axis=1)  # row i, column r: is the r-th ranked code gold?
    n_labelled = int(labelled.sum())

    def mean(values: np.ndarray) -> float:
        return float(values.mean()) if n_labelled else 0.0

    hit_at = {k: mean(in_gold[:, :k].any(axis=1)) for k in ks}
    recall_at = {k: mean(in_gold[:, :k].sum(axis=1) / truth_l.sum(axis=1)) for k in ks}

    predicted = shown(scores, top_k, threshold)
    p, r, f, support = precision_recall_fscore_support(truth, predicted, average=None, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(truth, predicted, average="micro", zero_division=0)
    rows = [CodeRow(code, int(s), int(predicted[:, i].sum()), float(p[i]), float(r[i]), float(f[i]))
            for i, (code, s) in enumerate(zip(codes, support, strict=True))]
    with_support = [row.f1 for row in rows if row.support]
    macro = float(np.mean(with_support)) if with_support else 0.0

    mixups: Counter[tuple[str, str]] = Counter()
    for row, first in zip(truth_l, ranked[:, 0], strict=True):
        if not row[first]:
            for g in np.flatnonzero(row):
                mixups[(codes[g], codes[first])] += 1
    unlabelled = predicted[~labelled]
    none_uncoded = float((~unlabelled.any(axis=1)).mean()) if len(unlabelled) else float("nan")
    none_shown = float(unlabelled.sum(axis=1).mean()) if len(unlabelled) else float("nan")
    technique_shown = mean(predicted[labelled].any(axis=1))
    right_shown = mean((predicted[labelled] & truth_l).any(axis=1))
    return Report(len(gold), n_labelled, hit_at.get(1, mean(in_gold[:, 0])), hit_at, recall_at, macro,
                  float(mf), float(mp), float(mr), none_uncoded, none_shown, rows,
                  [(g, w, n) for (g, w), n in mixups.most_common(confusions)], technique_shown, right_shown,
                  pooled_kappa(truth, predicted))


def pooled_kappa(truth: np.ndarray, predicted: np.ndarray) -> float | None:
    """Cohen's kappa of two codings over every (item, code) for the codes either used; None if undefined."""
    from sklearn.metrics import cohen_kappa_score

    used = truth.any(axis=0) | predicted.any(axis=0)
    a, b = truth[:, used].ravel(), predicted[:, used].ravel()
    if not len(a) or (a.all() and b.all()) or (not a.any() and not b.any()):
        return None
    value = cohen_kappa_score(a, b)
    return None if np.isnan(value) else float(value)
