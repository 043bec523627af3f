"""How long retraining takes on 10,000 labelled segments, on this machine.

Run by hand: `.venv/bin/python bench/retrain.py [--segments 10000]`. Builds a real SQLite database in a
temporary folder: transcripts of 50 sentences whose stored embeddings are real MiniLM vectors of the
counselling set's utterances (../shared/eval/pa-counseling, or built-in sentences without it), each
perturbed a little so no two rows are the same, and one coder's 'add' decisions labelling every segment with
BCTTv1 codes (a learnable rule: the nearest of 60 random code directions, plus a second code on a fifth of
them). Then it times what `autocoder train` does: read decisions and stored embeddings, fit one calibrated
model per code on grouped folds, validate, compare, write the version and its card. The baseline, in the
same run, is a plain one-vs-rest logistic regression fitted once on the same matrix (no folds, no
calibration): the ratio says what validation and calibration cost on top of a bare fit.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.multiclass import OneVsRestClassifier  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402
from app.db.tables import Decision, Segment, Transcript, User  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from app.services.codebooks import CodebookCatalog  # noqa: E402
from app.services.coding import Coder  # noqa: E402
from app.services.learning import Learner, training_data  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
UTTERANCES = REPO.parent / "shared" / "eval" / "pa-counseling" / "utterances.jsonl"
PER_TRANSCRIPT = 50


def sentences() -> list[str]:
    if UTTERANCES.exists():
        with UTTERANCES.open(encoding="utf-8") as handle:
            return [t for line in handle if line.strip() and len((t := json.loads(line)["text"]).split()) >= 3]
    return [f"I walked to the shops {n} times this week with my peer worker." for n in range(200)]


def build(settings: Settings, embedder: Embedder, codes: list[str], n: int) -> None:
    rng = np.random.default_rng(0)
    base = embedder.encode(sentences())
    rows = base[rng.integers(0, len(base), n)] + rng.normal(0, 0.02, (n, base.shape[1])).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    directions = rng.normal(size=(60, rows.shape[1])).astype(np.float32)
    first = np.argmax(rows @ directions.T, axis=1)
    second = np.argsort(rows @ directions.T, axis=1)[:, -2]
    chosen = rng.choice(len(codes), 60, replace=False)
    upgrade(settings.database_url)
    sessions = make_session_factory(make_engine(settings.database_url))
    with sessions() as session:
        coder = User(name="bench", role="coder")
        session.add(coder)
        for t in range(0, n, PER_TRANSCRIPT):
            transcript = Transcript(title=f"bench {t // PER_TRANSCRIPT}", source_format="text", text="", extra={})
            transcript.segments = [
                Segment(position=i, turn_index=0, sentence_index=i, speaker="SP", role="supported_peer",
                        char_start=0, char_end=0, text=f"segment {t + i}", embedding=rows[t + i].tobytes(),
                        embedding_model=embedder.model_id) for i in range(min(PER_TRANSCRIPT, n - t))]
            session.add(transcript)
        session.flush()
        segments = session.query(Segment.id, Segment.transcript_id).order_by(Segment.id).all()
        decisions = [dict(transcript_id=tid, segment_id=sid, coder_id=coder.id, action="add",
                          code_id=codes[chosen[first[i]]]) for i, (sid, tid) in enumerate(segments)]
        decisions += [dict(transcript_id=tid, segment_id=sid, coder_id=coder.id, action="add",
                           code_id=codes[chosen[second[i]]]) for i, (sid, tid) in enumerate(segments) if i % 5 == 0]
        session.execute(insert(Decision), decisions)
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/bench.db", cache_dir=Path(folder) / "cache",
                            models_dir=Path(folder) / "models")
        embedder = Embedder(settings.encoder)
        coder = Coder(settings, embedder, CodebookCatalog.from_settings(settings))
        upgrade(settings.database_url)
        sessions = make_session_factory(make_engine(settings.database_url))
        with sessions() as session:
            _, index = coder.index_for(session, None)
        codes = [c.id for c in index.codes]
        build(settings, embedder, codes, args.segments)
        learner = Learner(settings, coder, sessions)

        with sessions() as session:
            data = training_data(session, codes, embedder.model_id, 10**12)
        print(f"{len(data.segment_ids)} labelled segments, {len(set(data.groups.tolist()))} transcripts, "
              f"{int((data.labels.sum(axis=0) > 0).sum())} codes used, {int(data.labels.sum())} labels")
        used = data.labels.sum(axis=0) >= 3
        start = time.perf_counter()
        OneVsRestClassifier(LogisticRegression(class_weight="balanced", max_iter=2000)).fit(
            data.features, data.labels[:, used])
        baseline = time.perf_counter() - start

        with sessions() as session:
            version = learner.request(session, None, trigger="cli").id
        start = time.perf_counter()
        learner.run(version)
        ours = time.perf_counter() - start
        with sessions() as session:
            row = learner.get(session, version)
            assert row.status == "ready", row.message
            blend = row.card["validation"]["modes"]["blend"]
        print(f"baseline: one plain one-vs-rest logistic regression fit, no folds: {baseline:.1f} s")
        print(f"autocoder train (read labels, {settings.retrain_folds} grouped folds + final fit, calibration, "
              f"validation, card): {ours:.1f} s; held-out blend macro F1 {blend['macro_f1']:.3f}")
        print(f"ratio (autocoder train / baseline): {ours / baseline:.2f}")


if __name__ == "__main__":
    main()
