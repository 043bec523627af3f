"""Whether passage (span) suggestions help, on the interview set's development half, and what they cost.

Run by hand: `.venv/bin/python bench/passages.py [--split dev|test] [--margins 0.0,0.03,...] [--timing]`.
The margin (AUTOCODER_PASSAGE_MARGIN) was chosen on the development half only; the test half is for reporting
once, never for choosing (docs/spans.md).

Every participant sentence of at least min_words words is codable, as in the service. Windows of 2..N
consecutive codable sentences of one turn are scored through the service's own functions (app/engine/passages.py)
and a span counts for every sentence it covers: a sentence's codes are its own top_k, with a covering span's
code at the span's score where that is higher. Reported:
- spans: span suggestions made, and how many have the code on at least one of their sentences (gold);
- hit@3 on `context: true` rows (sentences whose code shows only with their neighbours) and on all coded rows;
- top-1 on coded rows that are not context rows: single-sentence quality must not drop; counting covering spans,
  and "as listed": the sentence's own list as the service shows it (a span only in its first sentence's list);
- shown on no-code rows: codes at or over the threshold on sentences with no technique (noise).
`--timing` codes a 49-turn transcript (turns of the development half) through Coder.code_transcript with
passages off and on and prints the wall time of each.
"""

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from app.config import Settings  # noqa: E402
from app.engine.code_index import CodeIndexCache  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from app.engine.gate import word_counts  # noqa: E402
from app.engine.passages import pick_spans, windows  # noqa: E402
from app.engine.suggest import score_served  # noqa: E402
from taxonomy import load_builtin, resolve  # noqa: E402
from training.tables import markdown_table  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
INTERVIEWS = REPO / "bench" / "data" / "interviews.jsonl"
PARTICIPANTS = {"peer_worker", "supported_peer"}


def rows_of(split: str) -> list[dict]:
    return [r for line in INTERVIEWS.read_text().splitlines() if (r := json.loads(line))["split"] == split]


def ranked_codes(own: np.ndarray, covering: dict[int, float], top_k: int) -> list[tuple[int, float]]:
    """A sentence's codes, best first: its own top_k, a covering span's code at the span's score if higher."""
    best = {int(c): float(own[c]) for c in np.argsort(-own)[:top_k]}
    for c, score in covering.items():
        best[c] = max(best.get(c, 0.0), score)
    return sorted(best.items(), key=lambda cs: -cs[1])


def evaluate(split: str, margins: list[float], tops: list[int | None], longest: int,
             show: tuple[float, int | None] | None = None) -> None:
    settings = Settings()
    embedder = Embedder(settings.encoder)
    book = resolve(settings.default_codebook, load_builtin(settings.taxonomy_dir).get)
    index = CodeIndexCache(embedder, None).get(book)
    codes = [c.id for c in index.codes]
    rows = rows_of(split)
    by_transcript: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_transcript[r["transcript"]].append(r)
    sentences, spans, gold, context, windows_text = [], [], [], [], []
    for name in sorted(by_transcript):
        items = sorted(by_transcript[name], key=lambda r: r["index"])
        base = len(sentences)
        codable = [r["role"] in PARTICIPANTS and len(r["text"].split()) >= settings.min_words for r in items]
        turns = [r["turn"] for r in items]
        for a, b in windows(turns, codable, longest):
            spans.append((base + a, base + b))
            windows_text.append(" ".join(r["text"] for r in items[a:b + 1]))
        sentences += [r["text"] if ok else None for r, ok in zip(items, codable, strict=True)]
        gold += [set(r["codes"]) for r in items]
        context += [bool(r.get("context")) for r in items]
    coded = [i for i, s in enumerate(sentences) if s is not None]
    scoring = settings.scoring()
    safe = embedder.model_id.replace("/", "_")
    cache = Path(f"/tmp/passages-{safe}-{split}-{longest}.npz")  # scores only: reruns of the grid skip encoding
    if cache.exists():
        saved = np.load(cache)
        sentence_scores, window_scores = saved["sentences"], saved["windows"]
    else:
        sentence_scores = np.zeros((len(sentences), len(codes)), dtype=np.float32)
        texts = [sentences[i] for i in coded]
        sentence_scores[coded] = score_served(index, embedder.encode(texts), scoring,
                                              words=word_counts(texts)).scores
        window_scores = score_served(index, embedder.encode(windows_text), scoring,
                                     words=word_counts(windows_text)).scores
        np.savez(cache, sentences=sentence_scores, windows=window_scores)
    if show is not None:
        for w, c in pick_spans(window_scores, spans, sentence_scores, settings.threshold, *show):
            a, b = spans[w]
            print(f"{codes[c]} {window_scores[w, c]:.3f} (best sentence "
                  f"{sentence_scores[a:b + 1, c].max():.3f}) gold {[sorted(g) for g in gold[a:b + 1]]}: "
                  f"{windows_text[w][:160]}")
    threshold, top_k = settings.threshold, settings.top_k
    print(f"{split} half: {len(coded)} coded sentences, {len(spans)} windows of 2..{longest}, "
          f"{sum(1 for i in coded if context[i] and gold[i])} context rows; threshold {threshold}, top {top_k}")
    table = []
    for margin, top in [(None, None)] + [(m, t) for m in margins for t in tops]:
        picked = [] if margin is None else pick_spans(window_scores, spans, sentence_scores, threshold, margin,
                                                      top)
        covering: dict[int, dict[int, float]] = defaultdict(dict)
        right = 0
        for w, c in picked:
            a, b = spans[w]
            right += any(codes[c] in gold[i] for i in range(a, b + 1))
            for i in range(a, b + 1):
                covering[i][c] = max(covering[i].get(c, 0.0), float(window_scores[w, c]))
        ranked = {i: ranked_codes(sentence_scores[i], covering.get(i, {}), top_k) for i in coded}
        starting: dict[int, dict[int, float]] = defaultdict(dict)  # as the service lists them: on the first
        for w, c in picked:
            starting[spans[w][0]][c] = float(window_scores[w, c])
        listed = {i: ranked_codes(sentence_scores[i], starting.get(i, {}), top_k) for i in coded}

        def hit(i: int, k: int) -> bool:
            return any(codes[c] in gold[i] for c, _ in ranked[i][:k])  # noqa: B023

        ctx = [i for i in coded if context[i] and gold[i]]
        plain = [i for i in coded if not context[i] and gold[i]]
        labelled = [i for i in coded if gold[i]]
        none = [i for i in coded if not gold[i]]
        shown_none = sum(sum(1 for _, s in ranked[i] if s >= threshold) for i in none) / max(len(none), 1)
        table.append(["off" if margin is None else f"{margin:.2f}", "-" if top is None else str(top),
                      str(len(picked)), str(right),
                      f"{np.mean([hit(i, 3) for i in ctx]):.3f}", f"{np.mean([hit(i, 1) for i in ctx]):.3f}",
                      f"{np.mean([hit(i, 3) for i in labelled]):.3f}", f"{np.mean([hit(i, 1) for i in plain]):.3f}",
                      f"{np.mean([any(codes[c] in gold[i] for c, _ in listed[i][:1]) for i in plain]):.3f}",
                      f"{shown_none:.3f}"])
    print(markdown_table(["margin", "window's top", "spans", "spans with a gold code", "context hit@3", "context top-1",
                          "all hit@3", "non-context top-1", "non-context top-1 as listed",
                          "codes shown / no-code row"], table))


def timing(longest: int) -> None:
    """Wall time of coding a 49-turn transcript through the service, passages off and on."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from app.db import store
    from app.db.tables import Base
    from app.services.codebooks import CodebookCatalog
    from app.services.coding import Coder, TranscriptInput

    turns: list[tuple[str, str]] = []
    for r in rows_of("dev"):
        if turns and turns[-1][0] == r["speaker"]:
            turns[-1] = (r["speaker"], turns[-1][1] + " " + r["text"])
        elif len(turns) < 49:
            turns.append((r["speaker"], r["text"]))
    text = "\n".join(f"{speaker}: {words}" for speaker, words in turns) + "\n"
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    sessions = sessionmaker(engine)
    base = Settings(cache_dir=Path("/tmp/passages-bench-cache"))
    embedder = Embedder(base.encoder)
    # Alternated, three times each: the first call also warms the model and caches, and a shared machine's load
    # drifts; CPU time (every thread of this process) is steadier than wall time there.
    for windows_on in (1, longest, 3, 1, longest, 3, 1, longest, 3):
        settings = base.model_copy(update={"passage_windows": windows_on})
        coder = Coder(settings, embedder, CodebookCatalog(settings.taxonomy_dir))
        with sessions() as session:
            started, cpu = time.perf_counter(), time.process_time()
            transcript, run = coder.code_transcript(session, TranscriptInput(text=text))
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
            spans = sum(1 for s in store.run_suggestions(session, run_id=run.id) if s.end_segment_id)
            print(f"passage_windows={windows_on}: {len(turns)} turns, {len(transcript.segments)} sentences, "
                  f"{took:.2f} s wall, {cpu:.2f} s CPU, {spans} span suggestions", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--margins", default="0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9")
    parser.add_argument("--tops", default="1,2,all", help="spans only for the window's best N codes (all: any)")
    parser.add_argument("--longest", type=int, default=4)
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--show", type=float, help="print the spans made at this margin (window's top code)")
    args = parser.parse_args()
    if not INTERVIEWS.exists():
        sys.exit(f"needs {INTERVIEWS}")
    if args.timing:
        timing(args.longest)
    else:
        evaluate(args.split, [float(m) for m in args.margins.split(",")],
                 [None if t == "all" else int(t) for t in args.tops.split(",")], args.longest,
                 (args.show, 1) if args.show is not None else None)


if __name__ == "__main__":
    main()
