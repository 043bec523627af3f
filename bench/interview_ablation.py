"""What each part of the scoring is worth on the interview set, zero-shot, on its development and test halves.

Run by hand: `.venv/bin/python bench/interview_ablation.py [--split dev|test|both] [--tune]`.
The interview set (bench/data/interviews.jsonl, docs/evaluation.md) is split by transcript; every
choice of the scoring (margin, weights, threshold) was made on the development half (`--tune` prints the grid
it was chosen from, on that half only); the test half is reported, never tuned on.

Rows: the scoring as it stood before this work (2 exemplars a code, exemplar fragments counting alone, no
background, no counterexamples), each part added in turn, the service default with each part taken away, and
the default with one neighbouring sentence of the same turn. Interviewer sentences are not coded by the
service and are left out; every participant sentence counts, those with no technique included.
"""

import argparse
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.config import Settings  # noqa: E402
from app.engine.code_index import CodeIndexCache  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from app.engine.suggest import ScoringParams, score_codes  # noqa: E402
from taxonomy import Codebook, ResolvedCodebook, load_builtin, resolve  # noqa: E402
from training.evaluate import EvalConfig, EvaluationSet  # noqa: E402
from training.labelled import load_labelled  # noqa: E402
from training.metrics import evaluate_scores  # noqa: E402
from training.tables import markdown_table  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
INTERVIEWS = REPO / "bench" / "data" / "interviews.jsonl"
PARTICIPANTS = {"role": {"peer_worker", "supported_peer"}}


def original_exemplars(book: Codebook) -> Codebook:
    """Only the exemplars the codebook had before: the new ones are illustrative with a voice (role) set."""
    codes = [c.model_copy(update={"exemplars": [e for e in c.exemplars
                                                if not (e.source == "illustrative" and e.role)]})
             for c in book.codes]
    return book.model_copy(update={"codes": codes})


def without_background(book: Codebook) -> Codebook:
    return book.model_copy(update={"background": []})


def codebook(*, third_party: bool = True, exemplars: bool = True, background: bool = True) -> ResolvedCodebook:
    books = load_builtin(Settings().taxonomy_dir, third_party=third_party)
    for name, book in list(books.items()):
        book = book if exemplars else original_exemplars(book)
        books[name] = book if background else without_background(book)
    return resolve(Settings().default_codebook, books.get)


def load(book: ResolvedCodebook, split: str):
    return load_labelled(INTERVIEWS, book, group_field="transcript", turn_field="turn",
                         where={"split": {split}} | PARTICIPANTS)


def variants(settings: Settings) -> list[tuple[str, dict]]:
    default = settings.scoring()
    off = dataclasses.replace(default, use_counterexamples=False)
    before = dataclasses.replace(off, evidence_k=3)
    return [
        ("before: 2 exemplars a code, mean of best 3, fragments count, no background/counterexamples",
         dict(book=dict(exemplars=False, background=False), filter_units=False, scoring=before)),
        ("+ 7-8 new exemplars a code (PW, SP, intervention voices)",
         dict(book=dict(background=False), filter_units=False, scoring=before)),
        ("+ mean of best 5 pieces",
         dict(book=dict(background=False), filter_units=False, scoring=off)),
        ("+ fragments under 5 words / 2 content words never count alone",
         dict(book=dict(background=False), scoring=off)),
        ("+ background of ordinary interview talk", dict(scoring=off)),
        ("+ counterexamples = service default", dict()),
        ("service default without the new exemplars", dict(book=dict(exemplars=False))),
        ("service default without the background", dict(book=dict(background=False))),
        ("service default without the fragment rule", dict(filter_units=False)),
        ("service default without counterexamples", dict(scoring=off)),
        ("service default without third-party text (Marks et al.)", dict(book=dict(third_party=False))),
        ("service default + 1 neighbouring sentence of the turn", dict(context=1)),
    ]


def figures(embedder: Embedder, settings: Settings, split: str, *, book: dict | None = None,
            filter_units: bool = True, scoring: ScoringParams | None = None, context: int = 0,
            threshold: float | None = None) -> list[str]:
    resolved = codebook(**(book or {}))
    index = CodeIndexCache(embedder, None, filter_units=filter_units).get(resolved)
    config = EvalConfig(top_k=settings.top_k, threshold=settings.threshold if threshold is None else threshold,
                        context=context, scoring=scoring or settings.scoring())
    data = EvaluationSet(load(resolved, split), index, embedder, config)
    r = data.report(data.similarity)
    return [f"{r.top1:.3f}", f"{r.hit_at[3]:.3f}", f"{r.hit_at[5]:.3f}", f"{r.macro_f1:.3f}",
            f"{r.none_uncoded:.3f}", f"{r.none_shown:.2f}"]


def tune(embedder: Embedder, settings: Settings) -> None:
    """The grid the defaults were chosen from, on the development half only."""
    resolved = codebook()
    index = CodeIndexCache(embedder, None).get(resolved)
    items = load(resolved, "dev")
    vectors = embedder.encode([it.text for it in items])
    gold, codes = [it.codes for it in items], [c.id for c in index.codes]
    rows = []
    for k in (3, 5):
        for counter in (0.0, 1.0):
            for margin in (0.0, 0.02, 0.04, 0.06):
                for weight in (2.0, 4.0):
                    scoring = ScoringParams(evidence_k=k, margin=margin, background_weight=weight,
                                            counter_weight=counter)
                    scores = score_codes(index, vectors, scoring)[0]
                    for threshold in (0.30, 0.35, 0.40):
                        r = evaluate_scores(scores, gold, codes, top_k=settings.top_k, threshold=threshold)
                        rows.append([str(k), f"{counter:g}", f"{margin:.2f}", f"{weight:g}", f"{threshold:.2f}",
                                     f"{r.top1:.3f}", f"{r.hit_at[3]:.3f}", f"{r.macro_f1:.3f}",
                                     f"{r.none_uncoded:.3f}", f"{r.none_shown:.2f}"])
    print(markdown_table(["evidence_k", "counter w", "margin", "bg weight", "threshold", "top-1", "hit@3",
                          "macro F1", "no-code uncoded", "codes/no-code"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "test", "both"], default="both")
    parser.add_argument("--tune", action="store_true", help="print the development-half grid instead")
    args = parser.parse_args()
    if not INTERVIEWS.exists():
        sys.exit(f"needs {INTERVIEWS}")
    settings = Settings()
    embedder = Embedder(settings.encoder)
    if args.tune:
        tune(embedder, settings)
        return
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    head = ["scoring"]
    for split in splits:
        head += [f"{split} top-1", f"{split} hit@3", f"{split} hit@5", f"{split} macro F1",
                 f"{split} no-code uncoded", f"{split} codes/no-code"]
    rows = []
    for name, options in variants(settings):
        cells = [name]
        for split in splits:
            cells += figures(embedder, settings, split, **options)
        rows.append(cells)
        print(" | ".join(cells), flush=True)
    print()
    print(f"threshold {settings.threshold}, top {settings.top_k}; participant sentences only")
    print(markdown_table(head, rows))


if __name__ == "__main__":
    main()
