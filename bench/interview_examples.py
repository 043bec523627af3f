"""What the interview set's coded sentences are worth as codebook evidence (training/interview_examples.py),
measured across sets written by different people: fitted with one set's sentences, scored on the other's.

Run by hand (docs/evaluation.md):
    .venv/bin/python bench/interview_examples.py                 # dev -> held-out and held-out -> dev
    .venv/bin/python bench/interview_examples.py --encoders minilm,embeddinggemma
    .venv/bin/python bench/interview_examples.py --test          # the shipped supplements on the test half
    .venv/bin/python bench/interview_examples.py --curve [--test]  # each run over the gate's bias
    .venv/bin/python bench/interview_examples.py --fourth --curve  # the fourth set (it chose the operating point)
    .venv/bin/python bench/interview_examples.py --leave-one-out dev,holdout,fourth,fifth,sixth,seventh --curve

The choice to ship the first two sets' sentences was made on the two cross-set runs, the choice to ship all six
on `--leave-one-out` (docs/evaluation.md); `--test` scores the test half, which no codebook contains, with the
supplements as shipped.
"""

import argparse
import dataclasses
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.config import Settings  # noqa: E402
from app.engine.code_index import CodeIndexCache  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from app.engine.encoders import REGISTRY, installed_path  # noqa: E402
from app.engine.gate import word_counts  # noqa: E402
from app.engine.suggest import score_codes  # noqa: E402
from taxonomy import load_builtin, resolve  # noqa: E402
from training.interview_examples import SHIPPED, SOURCES, code_owners, read_rows, supplements  # noqa: E402
from training.labelled import load_labelled  # noqa: E402
from training.metrics import evaluate_scores  # noqa: E402
from training.tables import markdown_table  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PARTICIPANTS = {"role": {"peer_worker", "supported_peer"}}
HEAD = ["top-1", "hit@3", "hit@5", "macro F1", "technique shown", "right code shown", "no-code uncoded", "kappa"]


def codebook(settings: Settings, splits: tuple[str, ...]):
    """The default codebook with the supplements made from these splits' sentences (none: its own text)."""
    books = load_builtin(settings.taxonomy_dir, third_party=settings.third_party_text)
    made = supplements(read_rows(splits), code_owners(settings.taxonomy_dir)).values() if splits else []
    return resolve(settings.default_codebook, books.get, list(made))


def figures(embedder: Embedder, book, split: str, settings: Settings, biases: tuple[float, ...] = (0.0,)
            ) -> list[list[str]]:
    """The figures at each gate bias (0: the service's operating point)."""
    items = load_labelled(SOURCES[split], book, group_field="transcript", turn_field="turn",
                          where={"split": {split}} | PARTICIPANTS)
    texts = [it.text for it in items]
    index = CodeIndexCache(embedder, None).get(book)  # no disk cache: every variant is fitted afresh
    vectors, words, out = embedder.encode(texts), word_counts(texts), []
    for bias in biases:
        scores = score_codes(index, vectors, dataclasses.replace(settings.scoring(), gate_bias=bias), words)[0]
        r = evaluate_scores(scores, [it.codes for it in items], [c.id for c in index.codes], top_k=settings.top_k,
                            threshold=settings.threshold)
        out.append([f"{r.top1:.3f}", f"{r.hit_at[3]:.3f}", f"{r.hit_at[5]:.3f}", f"{r.macro_f1:.3f}",
                    f"{r.technique_shown:.3f}", f"{r.right_shown:.3f}", f"{r.none_uncoded:.3f}",
                    "-" if r.kappa is None else f"{r.kappa:.3f}"])
    return out


def leave_one_out(sets: list[str]) -> list[tuple[tuple[str, ...], str]]:
    """For each set: scored with the first two sets' sentences (less its own; what shipped before the six), then
    with every other set's (what ships now)."""
    runs = []
    for scored in sets:
        runs.append((tuple(s for s in ("dev", "holdout") if s != scored), scored))
        runs.append((tuple(s for s in sets if s != scored), scored))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="embeddinggemma", help="comma-separated registry names")
    parser.add_argument("--test", action="store_true", help="score the test half with the shipped supplements")
    parser.add_argument("--fourth", action="store_true", help="score the fourth set (interviews-fourth.jsonl) with "
                        "the development half's and held-out set's sentences, as it was scored before it joined them")
    parser.add_argument("--leave-one-out", metavar="SETS", help="comma-separated sets (e.g. dev,holdout,fourth,"
                        "fifth): each scored with the first two sets' sentences less itself, then with all the others'")
    parser.add_argument("--curve", action="store_true", help="each run over the gate bias (AUTOCODER_GATE_BIAS)")
    args = parser.parse_args()
    biases = (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5) if args.curve else (0.0,)
    settings = Settings()
    if args.leave_one_out:
        for split in args.leave_one_out.split(","):
            if split not in SOURCES:
                SOURCES[split] = REPO / "bench" / "data" / f"interviews-{split}.jsonl"
        runs = leave_one_out(args.leave_one_out.split(","))
    elif args.test:
        runs = [((), "test"), (SHIPPED, "test")]
    elif args.fourth:  # as it was scored to choose the operating point, before its own sentences joined
        runs = [((), "fourth"), (("dev", "holdout"), "fourth")]
    else:
        runs = [((), "holdout"), (("dev",), "holdout"), ((), "dev"), (("holdout",), "dev")]
    for name in args.encoders.split(","):
        if not installed_path(REGISTRY[name], settings.encoders_dir):
            print(f"{name} is not installed; skipped")
            continue
        embedder = Embedder(name, encoders_dir=settings.encoders_dir, cache_dir=settings.cache_dir,
                            device=settings.embedding_device)
        rows = [[" + ".join(fitted) or "none (the codebooks' own text)", scored]
                + ([f"{bias:+.2f}"] if args.curve else []) + cells for fitted, scored in runs
                for bias, cells in zip(biases, figures(embedder, codebook(settings, fitted), scored, settings, biases),
                                       strict=True)]
        head = ["interview sentences in the codebook", "scored on"] + (["gate bias"] if args.curve else []) + HEAD
        print(f"\n## {embedder.model_id}\n")
        print(markdown_table(head, rows), flush=True)


if __name__ == "__main__":
    main()
