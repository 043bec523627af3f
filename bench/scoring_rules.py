"""Compare ways of combining a code's definition and exemplars into one score, on held-out quotes.

Run by hand: `.venv/bin/python bench/scoring_rules.py`. Two held-out sets, against all 98 codes of
bcttv1 + relational-aspects:
  - leave-one-out: each of the 9 Marks et al. (2022) quotes, with that quote's evidence removed;
  - new quotes: tests/data/new_quotes.yaml, written for the tests and in no codebook.
For each rule it prints top-1 and top-3 hit rates. The service uses "mean of best 3" (app/engine/suggest.py).
"""

import os
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from app.config import Settings  # noqa: E402
from app.engine.code_index import DEFINITION, evidence_units  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from taxonomy import load_codebook_file, resolve  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

# Each rule: (similarity to the definition, similarities to the exemplar pieces) -> score.
Rule = Callable[[float, np.ndarray], float]


def top_mean(k: int) -> Rule:
    return lambda d, ex: float(np.sort(np.r_[d, ex])[-k:].mean())


RULES: dict[str, Rule] = {
    "definition only": lambda d, ex: d,
    "best exemplar (or definition)": lambda d, ex: float(ex.max()) if len(ex) else d,
    "max of definition and exemplars": lambda d, ex: float(max(d, *ex)) if len(ex) else d,
    "mean of definition and best exemplar": lambda d, ex: (d + float(ex.max())) / 2 if len(ex) else d,
    "0.3 definition + 0.7 best exemplar": lambda d, ex: 0.3 * d + 0.7 * float(ex.max()) if len(ex) else d,
    "mean of best 2": top_mean(2),
    "mean of best 3 (service default)": top_mean(3),
    "mean of best 4": top_mean(4),
}


def main() -> None:
    settings = Settings()
    books = {p.stem: load_codebook_file(p) for p in settings.taxonomy_dir.glob("*.yaml")}
    codebook = resolve("bcttv1+relational-aspects", books.get)
    units = evidence_units(codebook)
    embedder = Embedder(settings.encoder)
    vectors = embedder.encode([u.text for u in units])
    ids = [c.id for c in codebook.leaves]
    code_of = np.array([u.code for u in units])
    is_def = np.array([u.kind == DEFINITION for u in units])

    loo = [(c.id, ex.text) for c in codebook.leaves for ex in c.exemplars if "Marks et al." in ex.source]
    new = [(q["code"], q["text"]) for q in yaml.safe_load((REPO / "tests/data/new_quotes.yaml").read_text())]

    def rank(rule: Rule, query: np.ndarray, held_out: str | None) -> list[str]:
        sims = vectors @ query
        keep = np.array([u.kind == DEFINITION or held_out is None or u.text not in held_out for u in units])
        scores = [rule(float(sims[(code_of == c) & is_def][0]), sims[(code_of == c) & ~is_def & keep])
                  for c in range(len(ids))]
        return [ids[i] for i in np.argsort(scores)[::-1]]

    q_loo = embedder.encode([t for _, t in loo])
    q_new = embedder.encode([t for _, t in new])
    print(f"{'rule':40} {'LOO top-1':>9} {'LOO top-3':>9} {'new top-1':>9} {'new top-3':>9}")
    for name, rule in RULES.items():
        r_loo = [rank(rule, q, text).index(code) + 1 for (code, text), q in zip(loo, q_loo, strict=True)]
        r_new = [rank(rule, q, None).index(code) + 1 for (code, _), q in zip(new, q_new, strict=True)]
        cells = [np.mean(np.array(r) <= k) for r in (r_loo, r_new) for k in (1, 3)]
        print(f"{name:40} {cells[0]:9.2f} {cells[1]:9.2f} {cells[2]:9.2f} {cells[3]:9.2f}")
    print(f"(leave-one-out: {len(loo)} seed quotes; new quotes: {len(new)})")


if __name__ == "__main__":
    main()
