"""Which parts of a codebook move zero-shot suggestion quality, on the public counselling set.

Run by hand: `.venv/bin/python bench/zero_shot.py`. Needs ../shared (eval/pa-counseling/utterances.jsonl:
44 dialogues, 773 utterances, 472 with a gold strategy) and scores our codebook for it
(bench/data/pa-counseling.yaml) with parts removed, so each row shows what one addition is worth. Nothing is
fitted here: the scoring rule and the service defaults were set on other data (the foundation issue, then
the interview development half), so these figures are not tuned to this set. The last rows add the
classifier and blend (grouped 5-fold by dialogue) for comparison. Figures: docs/evaluation.md.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.config import Settings  # noqa: E402
from app.engine.code_index import CodeIndexCache  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from taxonomy import Codebook, load_codebook_file, resolve  # noqa: E402
from training.evaluate import EvalConfig, EvaluationSet, evaluate  # noqa: E402
from training.labelled import load_labelled  # noqa: E402
from training.tables import markdown_table  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LABELLED = REPO.parent / "shared" / "eval" / "pa-counseling" / "utterances.jsonl"


def variant(book: Codebook, *, label_as_id: bool = False, synonyms: bool = True, definition: bool = True,
            exemplars: bool = True) -> Codebook:
    codes = [c.model_copy(update={
        "label": c.id if label_as_id else c.label,
        "synonyms": c.synonyms if synonyms else [],
        "definition": c.definition if definition else "",
        "exemplars": c.exemplars if exemplars else [],
    }) for c in book.codes]
    return book.model_copy(update={"codes": codes})


def main() -> None:
    if not LABELLED.exists():
        sys.exit(f"needs {LABELLED} (the shared evaluation data beside the repository)")
    settings = Settings()
    embedder = Embedder(settings.encoder)
    cache = CodeIndexCache(embedder, None)
    book = load_codebook_file(REPO / "bench" / "data" / "pa-counseling.yaml")
    bare = dict(synonyms=False, definition=False, exemplars=False)
    rows = [
        ("bare strategy name (e.g. 'Monitoring')", variant(book, label_as_id=True, **bare), 3, 0, ("similarity",)),
        ("label ('Self-monitoring and adherence')", variant(book, **bare), 3, 0, ("similarity",)),
        ("label + synonyms", variant(book, definition=False, exemplars=False), 3, 0, ("similarity",)),
        ("label + synonyms + definition", variant(book, exemplars=False), 3, 0, ("similarity",)),
        ("+ exemplars, best single piece", book, 1, 0, ("similarity",)),
        ("+ exemplars, mean of best 3", book, 3, 0, ("similarity",)),
        ("+ exemplars, mean of best 5 (service default)", book, 5, 0, ("similarity",)),
        ("service default + 1 neighbouring utterance", book, 5, 1, ("similarity",)),
        ("service default + 2 neighbouring utterances", book, 5, 2, ("similarity",)),
        ("classifier / blend, all labels, 5-fold", book, 5, 0, ("classifier", "blend")),
        ("classifier / blend + 1 neighbour", book, 5, 1, ("classifier", "blend")),
    ]
    table = []
    for name, codebook, evidence_k, context, modes in rows:
        resolved = resolve(codebook.name, {codebook.name: codebook}.get)
        items = load_labelled(LABELLED, resolved, codes_field="strategies", group_field="dialog")
        config = EvalConfig(top_k=settings.top_k, threshold=settings.threshold, evidence_k=evidence_k,
                            context=context)
        data = EvaluationSet(items, cache.get(resolved), embedder, config)
        for mode, r in evaluate(data, modes=modes).reports.items():
            table.append([name if len(modes) == 1 else f"{name}: {mode}", f"{r.top1:.3f}", f"{r.hit_at[3]:.3f}",
                          f"{r.macro_f1:.3f}"])
            print(" | ".join(table[-1]), flush=True)
    print()
    print(markdown_table(["codebook / scoring", "top-1", "hit@3", f"macro F1 @ {settings.threshold}"], table))


if __name__ == "__main__":
    main()
