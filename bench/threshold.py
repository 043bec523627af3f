"""How the suggestion threshold separates on-topic from off-topic sentences.

Run by hand: `.venv/bin/python bench/threshold.py`. On-topic: tests/data/new_quotes.yaml (20 sentences, each
with a code). Off-topic: bench/data/off_topic.yaml (30 sentences of small talk and logistics). For each
threshold, the share of each set that would be marked 'suggested' (some code at or over the threshold)
against bcttv1 + relational-aspects, and for on-topic sentences also whether their own code is among the
suggestions over the threshold.
"""

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from app.config import Settings  # noqa: E402
from app.engine.code_index import CodeIndexCache  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from app.engine.suggest import score_codes  # noqa: E402
from taxonomy import load_codebook_file, resolve  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    settings = Settings()
    books = {p.stem: load_codebook_file(p) for p in settings.taxonomy_dir.glob("*.yaml")}
    embedder = Embedder(settings.encoder)
    index = CodeIndexCache(embedder, None).get(resolve("bcttv1+relational-aspects", books.get))
    ids = [c.id for c in index.codes]
    on = yaml.safe_load((REPO / "tests/data/new_quotes.yaml").read_text())
    off = yaml.safe_load((REPO / "bench/data/off_topic.yaml").read_text())
    on_scores, _ = score_codes(index, embedder.encode([q["text"] for q in on]), settings.evidence_k)
    off_scores, _ = score_codes(index, embedder.encode(off), settings.evidence_k)
    own = np.array([on_scores[i, ids.index(q["code"])] for i, q in enumerate(on)])
    print(f"on-topic best score: min {on_scores.max(1).min():.3f} median {np.median(on_scores.max(1)):.3f}; "
          f"own code: min {own.min():.3f} median {np.median(own):.3f}")
    print(f"off-topic best score: median {np.median(off_scores.max(1)):.3f} max {off_scores.max(1).max():.3f}")
    print(f"{'threshold':>9} {'on-topic suggested':>19} {'own code over it':>17} {'off-topic suggested':>20}")
    for t in np.arange(0.25, 0.51, 0.025):
        print(f"{t:9.3f} {np.mean(on_scores.max(1) >= t):19.2f} {np.mean(own >= t):17.2f} "
              f"{np.mean(off_scores.max(1) >= t):20.2f}")
    print(f"(service default threshold: {settings.threshold}; {len(on)} on-topic, {len(off)} off-topic sentences)")


if __name__ == "__main__":
    main()
