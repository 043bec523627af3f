"""How much confirmed labels improve suggestions: macro F1 after 0, 25, 50, 100, 200 and 400 labels.

Run by hand: `.venv/bin/python bench/learning_curve.py [--seeds 5]`. Needs ../shared
(eval/pa-counseling/utterances.jsonl: 44 dialogues, 773 utterances, 472 with a gold strategy) and our
codebook for it (bench/data/pa-counseling.yaml). A coder is simulated confirming N random labelled utterances
of the training folds (grouped 5-fold by dialogue); each mode is scored on the held-out folds with the
service's top-k and threshold. The classifier is the one the service trains (training/classifier.py:
balanced logistic regression, calibrated per code once it has 10 out-of-fold positives); the blend is what
the service serves. The last columns compare each mode with similarity alone in the same run.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.config import Settings  # noqa: E402
from app.engine.code_index import CodeIndexCache  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from taxonomy import load_codebook_file, resolve  # noqa: E402
from training.evaluate import BLEND, CLASSIFIER, SIMILARITY, EvalConfig, EvaluationSet, learning_curve  # noqa: E402
from training.labelled import load_labelled  # noqa: E402
from training.tables import markdown_table  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LABELLED = REPO.parent / "shared" / "eval" / "pa-counseling" / "utterances.jsonl"
SIZES = (0, 25, 50, 100, 200, 400)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    if not LABELLED.exists():
        sys.exit(f"needs {LABELLED} (the shared evaluation data beside the repository)")
    settings = Settings()
    embedder = Embedder(settings.encoder)
    book = load_codebook_file(REPO / "bench" / "data" / "pa-counseling.yaml")
    resolved = resolve(book.name, {book.name: book}.get)
    items = load_labelled(LABELLED, resolved, codes_field="strategies", group_field="dialog")
    data = EvaluationSet(items, CodeIndexCache(embedder, None).get(resolved), embedder,
                         EvalConfig(top_k=settings.top_k, threshold=settings.threshold))
    points = {(p.labels, p.mode): p for p in learning_curve(data, SIZES, seeds=args.seeds)}
    rows = []
    for size in SIZES:
        sim, clf, mix = (points[(size, m)] for m in (SIMILARITY, CLASSIFIER, BLEND))
        rows.append([str(size), f"{sim.macro_f1:.3f}", f"{clf.macro_f1:.3f} ± {clf.macro_f1_sd:.3f}",
                     f"{mix.macro_f1:.3f} ± {mix.macro_f1_sd:.3f}", f"{mix.macro_f1 / sim.macro_f1:.2f}",
                     f"{mix.top1:.3f}", f"{sim.top1:.3f}", str(mix.seeds)])
        print(" | ".join(rows[-1]), flush=True)
    print()
    print(markdown_table(["confirmed labels", "similarity macro F1", "classifier macro F1", "blend macro F1",
                          "blend / similarity", "blend top-1", "similarity top-1", "seeds"], rows))


if __name__ == "__main__":
    main()
