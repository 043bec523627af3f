"""The gate and the codebook classifier on the interview set, zero-shot: each step on and off, each encoder, the
gate's whole trade-off as a curve, and the grid the constants were chosen from (development half only).

Run by hand (docs/evaluation.md):
    .venv/bin/python bench/gate.py                       # every installed encoder, both halves
    .venv/bin/python bench/gate.py --encoders embeddinggemma --split dev --tune
    .venv/bin/python bench/gate.py --curve               # technique shown against no-code left uncoded
    .venv/bin/python bench/gate.py --encoders embeddinggemma --split dev --prompts \
        classification,classification+sentence-similarity  # one prompt against the prompt ensemble
    .venv/bin/python bench/gate.py --encoders embeddinggemma --split holdout   # the later held-out set

Every choice (prompt, BLEND, SPREAD, the operating point) was made with `--split dev`; the test half is
reported, never tuned on. It scores the codebooks' own text, without the interview set's sentences (they hold
the development half and the held-out set): bench/interview_examples.py measures those. Interviewer sentences
are left out, as the service does not code them; every participant sentence counts, those with no technique
included.
"""

import argparse
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from app.config import Settings  # noqa: E402
from app.engine.code_index import CodeIndexCache  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from app.engine.encoders import ENSEMBLE_JOIN, REGISTRY, installed_path  # noqa: E402
from app.engine.gate import word_counts  # noqa: E402
from app.engine.suggest import ScoringParams, score_codes  # noqa: E402
from taxonomy import load_builtin, resolve  # noqa: E402
from training.labelled import load_labelled  # noqa: E402
from training.metrics import evaluate_scores  # noqa: E402
from training.tables import markdown_table  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
INTERVIEWS = REPO / "bench" / "data" / "interviews.jsonl"
# Written after the test half had been seen, to decide what the test half no longer can (docs/evaluation.md).
HOLDOUT = REPO / "bench" / "data" / "interviews-holdout.jsonl"
PARTICIPANTS = {"role": {"peer_worker", "supported_peer"}}
HEAD = ["top-1", "hit@3", "hit@5", "macro F1", "technique shown", "right code shown", "no-code uncoded",
        "codes/no-code", "kappa"]


class Half:
    """One half of the interview set, encoded once, scored under any ScoringParams."""

    def __init__(self, embedder: Embedder, index, book, split: str):
        self.items = load_labelled(HOLDOUT if split == "holdout" else INTERVIEWS, book, group_field="transcript",
                                   turn_field="turn", where={"split": {split}} | PARTICIPANTS)
        self.index, self.codes = index, [c.id for c in index.codes]
        self.vectors = embedder.encode([it.text for it in self.items])
        self.words = word_counts([it.text for it in self.items])

    def scores(self, scoring: ScoringParams) -> np.ndarray:
        return score_codes(self.index, self.vectors, scoring, self.words)[0]

    def figures(self, scoring: ScoringParams, threshold: float, top_k: int):
        return evaluate_scores(self.scores(scoring), [it.codes for it in self.items], self.codes, top_k=top_k,
                               threshold=threshold)


def cells(r) -> list[str]:
    return [f"{r.top1:.3f}", f"{r.hit_at[3]:.3f}", f"{r.hit_at[5]:.3f}", f"{r.macro_f1:.3f}",
            f"{r.technique_shown:.3f}", f"{r.right_shown:.3f}", f"{r.none_uncoded:.3f}", f"{r.none_shown:.2f}",
            "-" if r.kappa is None else f"{r.kappa:.3f}"]


def steps(default: ScoringParams) -> list[tuple[str, ScoringParams]]:
    return [
        ("before: background margin, similarity ranking", dataclasses.replace(default, gate=False)),
        ("+ gate instead of the margin (similarity ranking)", dataclasses.replace(default, blend=0.0)),
        ("+ codebook classifier in the ranking = service default", default),
        ("service default without counterexamples", dataclasses.replace(default, use_counterexamples=False)),
        ("service default, classifier ranking alone", dataclasses.replace(default, blend=1.0)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="", help="comma-separated registry names (default: all installed)")
    parser.add_argument("--prompts", default="", help="comma-separated prompts to compare (default: each's own); "
                        f"'a{ENSEMBLE_JOIN}b' is the ensemble of prompts a and b")
    parser.add_argument("--split", choices=["dev", "test", "both", "holdout"], default="both",
                        help="holdout: the later set, bench/data/interviews-holdout.jsonl")
    parser.add_argument("--tune", action="store_true", help="print the development-half grid of BLEND and SPREAD")
    parser.add_argument("--curve", action="store_true", help="print the gate's trade-off over its bias")
    args = parser.parse_args()
    settings = Settings()
    names = [n for n in args.encoders.split(",") if n] or [n for n, s in REGISTRY.items()
                                                            if installed_path(s, settings.encoders_dir)]
    book = resolve(settings.default_codebook, load_builtin(settings.taxonomy_dir, third_party=True).get)
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    default = settings.scoring()
    for name in names:
        spec = REGISTRY[name]
        for prompt in [p for p in args.prompts.split(",") if p] or [None]:
            if prompt is not None and not set(prompt.split(ENSEMBLE_JOIN)) <= set(spec.prompts):
                continue
            embedder = Embedder(name, prompt=prompt, encoders_dir=settings.encoders_dir,
                                cache_dir=settings.cache_dir, device=settings.embedding_device)
            index = CodeIndexCache(embedder, settings.cache_dir).get(book)
            halves = {split: Half(embedder, index, book, split) for split in splits}
            print(f"\n## {embedder.model_id}\n", flush=True)
            if args.tune:
                tune(halves["dev"] if "dev" in halves else sys.exit("--tune needs --split dev"), default,
                     settings)
                continue
            if args.curve:
                curve(halves, default, settings)
                continue
            rows = [[label, split] + cells(half.figures(scoring, settings.threshold, settings.top_k))
                    for label, scoring in steps(default) for split, half in halves.items()]
            if prompt is None:  # the default prompt: the ensemble beside it, as a step
                rows += ensemble_rows(name, book, splits, default, settings)
            print(markdown_table(["scoring", "half"] + HEAD, rows), flush=True)


# The prompt ensemble of the step row below (encoders.ENSEMBLE_JOIN): one encoding of each sentence per prompt.
ENSEMBLE = f"classification{ENSEMBLE_JOIN}sentence-similarity"


def ensemble_rows(name: str, book, splits: list[str], default: ScoringParams, settings: Settings) -> list[list[str]]:
    """The service default with the classification and sentence-similarity prompts' vectors joined (an encoder
    that has both prompts only): its own index, gate and codebook classifier, fitted on the joined vectors."""
    if not set(ENSEMBLE.split(ENSEMBLE_JOIN)) <= set(REGISTRY[name].prompts):
        return []
    embedder = Embedder(name, prompt=ENSEMBLE, encoders_dir=settings.encoders_dir, cache_dir=settings.cache_dir,
                        device=settings.embedding_device)
    index = CodeIndexCache(embedder, settings.cache_dir).get(book)
    return [[f"service default, prompt ensemble {ENSEMBLE}", split]
            + cells(Half(embedder, index, book, split).figures(default, settings.threshold, settings.top_k))
            for split in splits]


def tune(half: Half, default: ScoringParams, settings: Settings) -> None:
    rows = []
    for blend in (0.0, 0.3, 0.5, 0.7, 1.0):
        for spread in (0.05, 0.1, 0.15, 0.2, 0.3):
            r = half.figures(dataclasses.replace(default, blend=blend, spread=spread), settings.threshold,
                             settings.top_k)
            rows.append([f"{blend:g}", f"{spread:g}"] + cells(r) + [f"{r.micro_f1:.3f}"])
    print(markdown_table(["blend", "spread"] + HEAD + ["micro F1"], rows), flush=True)


def curve(halves: dict[str, Half], default: ScoringParams, settings: Settings) -> None:
    rows = []
    for bias in (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0):
        row = [f"{bias:+.1f}"]
        for half in halves.values():
            r = half.figures(dataclasses.replace(default, gate_bias=bias), settings.threshold, settings.top_k)
            row += [f"{r.technique_shown:.3f}", f"{r.right_shown:.3f}", f"{r.none_uncoded:.3f}",
                    f"{r.macro_f1:.3f}", "-" if r.kappa is None else f"{r.kappa:.3f}"]
        rows.append(row)
    head = ["gate bias"] + [f"{split} {h}" for split in halves for h in
                            ("technique shown", "right code shown", "no-code uncoded", "macro F1", "kappa")]
    print(markdown_table(head, rows), flush=True)


if __name__ == "__main__":
    main()
