"""Gate variants against the served gate, each interview set scored with a codebook of the other sets' sentences
(rule 3 of docs/evaluation.md, "Three more sets": none gained 0.01, so the served gate stayed).

Run by hand:
    .venv/bin/python bench/gate_variants.py                     # dev, holdout, fourth (where they were tried)
    .venv/bin/python bench/gate_variants.py --sets fifth,sixth,seventh

Each variant is fitted on exactly what the service fits its gate on (code_index.fit_inputs and
gate.gate_training_set) and judged by its AUC and by the best, over the gate biases the service offers, of the
smaller of technique sentences shown and no-technique sentences left uncoded.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from interview_examples import PARTICIPANTS, codebook  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.preprocessing import PolynomialFeatures  # noqa: E402

from app.config import Settings  # noqa: E402
from app.engine import gate  # noqa: E402
from app.engine.code_index import CodeIndexCache, background_units, fit_inputs  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from training.interview_examples import SHIPPED, SOURCES  # noqa: E402
from training.labelled import load_labelled  # noqa: E402
from training.tables import markdown_table  # noqa: E402

BIASES = (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5)


def nearest(to_exemplars: np.ndarray, to_background: np.ndarray, k: int = 10) -> np.ndarray:
    """Nearest exemplar, nearest background sentence, their difference, and the exemplars' share of the k nearest."""
    both = np.hstack([to_exemplars, to_background])
    is_exemplar = np.r_[np.ones(to_exemplars.shape[1]), np.zeros(to_background.shape[1])]
    share = is_exemplar[np.argpartition(-both, k, axis=1)[:, :k]].mean(axis=1)
    a, b = to_exemplars.max(axis=1), to_background.max(axis=1)
    return np.column_stack([a, b, a - b, share])


def logistic(x: np.ndarray, y: np.ndarray, new: np.ndarray, products: bool = False) -> np.ndarray:
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    x, new = (x - mean) / scale, (new - mean) / scale
    if products:
        pairs = PolynomialFeatures(2, include_bias=False).fit(x)
        x, new = pairs.transform(x), pairs.transform(new)
    return LogisticRegression(C=gate.GATE_C, class_weight="balanced", max_iter=5000).fit(x, y).decision_function(new)


def trees(x: np.ndarray, y: np.ndarray, new: np.ndarray) -> np.ndarray:
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=0)
    p = np.clip(model.fit(x, y, sample_weight=weight).predict_proba(new)[:, 1], 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def variants(embedder: Embedder, settings: Settings, scored: str, sets: list[str]) -> dict[str, np.ndarray]:
    """Each variant's gate logits for the scored set's participant sentences, and their gold (1: a technique)."""
    book = codebook(settings, tuple(s for s in sets if s != scored))
    index = CodeIndexCache(embedder, None).get(book)
    vectors, codes, texts, exemplar, same, slices, background, _ = inputs = fit_inputs(index, background_units(book))
    x, y = gate.gate_training_set(vectors, texts, exemplar, same, slices, background, inputs[7])
    rows = np.flatnonzero(exemplar)
    to_self = vectors[rows] @ vectors[rows].T
    to_self[same[:, rows]] = -1.0  # as the gate's own training set: an exemplar never meets itself
    own = background @ background.T
    np.fill_diagonal(own, -1.0)
    near = np.vstack([nearest(to_self, vectors[rows] @ background.T), nearest(background @ vectors[rows].T, own)])

    items = load_labelled(SOURCES[scored], book, group_field="transcript", turn_field="turn",
                          where={"split": {scored}} | PARTICIPANTS)
    said = [it.text for it in items]
    v = embedder.encode(said)
    sims = v @ vectors.T
    similarity = gate._similarity(sims, slices)
    bg = gate._top_mean(v @ background.T)
    new = gate.gate_features(similarity, bg, np.log1p(gate.word_counts(said)))
    new_near = nearest(sims[:, rows], v @ background.T)
    return {"gold": np.array([1 if it.codes else 0 for it in items]),
            "as served (logistic, six features)": index.model.gate_logit(similarity, bg, gate.word_counts(said)),
            "the same with pairwise products of the features": logistic(x, y, new, products=True),
            "gradient-boosted trees on the six features": trees(x, y, new),
            "+ nearest exemplar, nearest background sentence, their difference, exemplar share of the 10 nearest":
                logistic(np.hstack([x, near]), y, np.hstack([new, new_near])),
            "+ nearest exemplar, nearest background sentence, their difference":
                logistic(np.hstack([x, near[:, :3]]), y, np.hstack([new, new_near[:, :3]]))}


def balance(logit: np.ndarray, gold: np.ndarray) -> float:
    """The best, over BIASES, of the smaller of technique shown and no-technique left uncoded."""
    return max(min((logit[gold == 1] >= b).mean(), (logit[gold == 0] < b).mean()) for b in BIASES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="dev,holdout,fourth", help="the sets to score, each in turn")
    args = parser.parse_args()
    settings = Settings()
    embedder = Embedder("embeddinggemma", encoders_dir=settings.encoders_dir, cache_dir=settings.cache_dir,
                        device=settings.embedding_device)
    scored = args.sets.split(",")
    cells: dict[str, list[str]] = {}
    for split in scored:
        logits = variants(embedder, settings, split, list(SHIPPED))
        gold = logits.pop("gold")
        for name, logit in logits.items():
            cells.setdefault(name, []).append(f"{roc_auc_score(gold, logit):.3f}; {balance(logit, gold):.3f}")
    print(markdown_table(["gate", *scored], [[name, *row] for name, row in cells.items()]))


if __name__ == "__main__":
    main()
