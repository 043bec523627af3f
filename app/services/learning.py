"""Learning from confirmed labels: build the training set from decisions, fit and validate a classifier,
version it with a model card, promote it only if it beats what is served, and roll back.

Training labels: every coder's current labels, replayed from their decisions. On a segment, a code any
coder accepted or added is a positive; a code rejected (and confirmed by no one) is a negative, as is every
code nobody gave a reviewed segment. Embeddings are the ones stored with the segments: training never
encodes a sentence again (segments embedded by another model are counted and left out).

Promotion: a new version is compared with what is served on labels the served version never saw (segments
first decided on after its training labels were taken), using the new version's out-of-fold scores there,
so both sides are judged on held-out data. Against similarity alone (nothing served yet) every labelled
segment is held out, since similarity learns nothing. The new version is promoted if its macro F1 is higher;
an admin can force it, or promote and roll back any version by hand.
"""

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import classifiers as db
from app.db import decisions as decisions_db
from app.db.tables import Classifier, ServingChange, User, utcnow
from app.engine.code_index import CodeIndex
from app.engine.embed import backend_of
from app.engine.suggest import score_codes
from app.errors import Conflict, InvalidInput, NotFound
from app.services.accounts import require
from app.services.coding import Coder
from app.services.review import replay
from app.services.serving import UNREADABLE
from training.classifier import BLEND_CAP, BLEND_PRIOR, MIN_POSITIVES, served_scores
from training.registry import load_card, save_version
from training.retrain import SERVED, fit_and_validate, reports
from training.selection import THRESHOLD_MIN_POSITIVES

log = logging.getLogger("autocoder.learning")
MIN_HELD_OUT = 5  # newly labelled segments needed to judge a new version against the served one


@dataclass
class TrainingData:
    codes: list[str]
    segment_ids: np.ndarray
    groups: np.ndarray  # transcript id of each row: folds never split a transcript
    features: np.ndarray
    labels: np.ndarray  # rows x codes, bool
    first_decision: np.ndarray  # id of the first decision on each row's segment
    decisions: int
    coders: int
    rejections: int
    not_embedded: int  # labelled segments left out: stored under another embedding model


def training_data(session: Session, codes: list[str], model_id: str, until_id: int,
                  encode: Callable[[list[str]], np.ndarray] | None = None) -> TrainingData:
    """Confirmed labels for `codes`, from decisions up to `until_id`, on segments embedded by `model_id`.

    `encode` (the embedder that makes `model_id`'s vectors): labelled segments stored under another model (a
    changed backend or model) are encoded again and the new vectors kept, so no label is lost to the change;
    without it they are left out and counted in `not_embedded`."""
    decisions = decisions_db.decisions(session, until_id=until_id)
    first: dict[int, int] = {}
    for d in decisions:
        first.setdefault(d.segment_id, d.id)
    known = set(codes)
    positive: dict[int, set[str]] = {}
    rejected: dict[int, set[str]] = {}
    coders = set()
    passages: set[int] = set()
    for (segment, coder), state in replay(decisions).items():
        labels, rejections = set(state.labels) & known, set(state.rejected) & known
        if labels or rejections:
            coders.add(coder)
            positive.setdefault(segment, set()).update(labels)
            rejected.setdefault(segment, set()).update(rejections)
        if labels & set(state.ends):
            passages.add(segment)
    # A code on a span belongs to the passage: the span's first sentence is neither a positive nor (as a
    # reviewed sentence without it) a negative for it, so sentences that start a coded span are left out.
    reviewed = sorted(set(positive) - passages)
    if encode is not None and (stale := decisions_db.segments_not_embedded_by(session, ids=reviewed,
                                                                             model_id=model_id)):
        log.info("encoding %d labelled segments stored under another embedding model", len(stale))
        for segment, vector in zip(stale, encode([s.text for s in stale]), strict=True):
            segment.embedding, segment.embedding_model = vector.tobytes(), model_id
        session.flush()
    vectors = decisions_db.segment_vectors(session, ids=reviewed, model_id=model_id)
    rows = [s for s in reviewed if s in vectors]
    column = {c: j for j, c in enumerate(codes)}
    labels = np.zeros((len(rows), len(codes)), dtype=bool)
    for i, s in enumerate(rows):
        labels[i, [column[c] for c in positive[s]]] = True
    dim = len(vectors[rows[0]][1]) // 4 if rows else 0
    features = (np.stack([np.frombuffer(vectors[s][1], dtype=np.float32) for s in rows]) if rows
                else np.zeros((0, dim), dtype=np.float32))
    return TrainingData(codes, np.array(rows, dtype=np.int64), np.array([vectors[s][0] for s in rows]),
                        features, labels, np.array([first[s] for s in rows], dtype=np.int64), len(decisions),
                        len(coders), sum(len(rejected[s] - positive[s]) for s in rows), len(reviewed) - len(rows))


class Learner:
    def __init__(self, settings: Settings, coder: Coder, sessions: sessionmaker[Session]):
        self.settings, self.coder, self.sessions = settings, coder, sessions
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retrain")

    def start(self) -> None:
        with self.sessions() as session:
            if db.fail_unfinished(session, message="the service stopped while this version was training"):
                session.commit()
            for problem in self.unusable_served(session):
                log.warning(problem)

    def unusable_served(self, session: Session) -> list[str]:
        """Why a served classifier is not used: it was trained on another embedding model's vectors (the
        backend or model changed), so suggestions fall back to similarity and confirmed examples."""
        problems = []
        model_id = self.coder.embedder.model_id
        for change in db.served_everywhere(session):
            row = db.get_classifier(session, classifier_id=change.classifier_id) if change.classifier_id else None
            if row is not None and row.embedding_model != model_id:
                problems.append(
                    f"codebook {change.codebook_name}: the served classifier (version {row.id}) was trained on "
                    f"{row.embedding_model} vectors and this service makes {model_id}, so it is not used: "
                    "suggestions rest on similarity and confirmed examples until a version is trained on these "
                    "vectors (POST /models/retrain encodes the labelled sentences again), or set "
                    f"AUTOCODER_EMBEDDING_BACKEND={backend_of(row.embedding_model)} to serve it as trained")
        return problems

    def stop(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    # -- training --------------------------------------------------------------------------------------------

    def request(self, session: Session, user: User | None, *, codebook: str | None = None, trigger: str = "api",
                force: bool = False) -> Classifier:
        """Register a fit (status 'training') of the labels confirmed so far; run() does the work."""
        if user is not None:
            require(user, "admin")
        resolved, index = self.coder.index_for(session, codebook)
        row = db.add_classifier(session, codebook_name=resolved.name, codebook_digest=resolved.digest,
                                embedding_model=self.coder.embedder.model_id, status="training", trigger=trigger,
                                created_by=user.id if user else None, force=force,
                                decisions_until=db.last_decision_id(session))
        session.commit()
        return row

    def retrain_in_background(self, session: Session, user: User | None, **options) -> Classifier:
        row = self.request(session, user, **options)
        self._executor.submit(self.run, row.id)
        return row

    def run(self, classifier_id: int) -> None:
        """Fit, validate, save and (if it earns it) promote one requested version; failures are recorded."""
        with self.sessions() as session:
            row = db.get_classifier(session, classifier_id=classifier_id)
            try:
                self._fit(session, row)
                session.commit()
            except Exception as exc:  # recorded on the version, readable through the API and the CLI
                session.rollback()
                if not isinstance(exc, InvalidInput):
                    log.exception("training version %s failed", classifier_id)
                row = db.get_classifier(session, classifier_id=classifier_id)
                row.status, row.message, row.finished_at = "failed", str(exc), utcnow()
                session.commit()

    def _fit(self, session: Session, row: Classifier) -> None:
        started = time.perf_counter()
        resolved, index = self.coder.index_for(session, row.codebook_name)
        codes = [c.id for c in index.codes]
        embedder = self.coder.embedder
        data = training_data(session, codes, row.embedding_model, row.decisions_until or 0,
                             embedder.encode if row.embedding_model == embedder.model_id else None)
        trainable = [c for c, n in zip(codes, data.labels.sum(axis=0), strict=True) if n >= MIN_POSITIVES]
        if not trainable:
            raise InvalidInput(f"too few confirmed labels: {len(data.segment_ids)} reviewed segments, and no code "
                               f"has the {MIN_POSITIVES} positive examples a model needs")
        similarity = score_codes(index, data.features, self.settings.scoring())[0]
        params = dict(top_k=self.settings.top_k, threshold=self.settings.threshold)
        result = fit_and_validate(data.features, data.labels, data.groups, similarity, codes,
                                  folds=self.settings.retrain_folds, **params)
        validation = reports(result.held_out, data.labels, codes, **params)
        verdict = self._compare(session, row, data, index, similarity, result.held_out.get(SERVED), params)
        chosen = result.selection
        card = {
            "version": row.id, "codebook": {"name": resolved.name, "version": resolved.version,
                                            "digest": resolved.digest},
            "embedding_model": row.embedding_model, "trigger": row.trigger, "triggered_by": row.created_by,
            "requested_at": row.created_at.isoformat(), "trained_at": utcnow().isoformat(),
            "data": {"segments": int(len(data.segment_ids)), "transcripts": int(len(set(data.groups.tolist()))),
                     "decisions": data.decisions, "coders": data.coders, "rejections": data.rejections,
                     "left_out_other_embedding_model": data.not_embedded,
                     "decisions_until": row.decisions_until,
                     "positives": {c: int(n) for c, n in zip(codes, data.labels.sum(axis=0), strict=True) if n}},
            "model": {"kind": chosen.best.kind, "C": chosen.best.c, "mix": chosen.best.mix,
                      "chosen": chosen.best.name, "baseline": chosen.baseline.name,
                      "candidates": {c.name: round(f, 4) for c, f in chosen.figures.items()},
                      "chosen_by": "held-out mean of top-1, hit@5 and macro F1 on grouped folds",
                      "codes_with_model": [c for c, ok in zip(codes, result.classifier.fitted, strict=True) if ok],
                      "min_positives": MIN_POSITIVES,
                      "blend": f"(1 - w) * similarity + w * probability, w = min(n / (n + {BLEND_PRIOR:g}), "
                               f"{BLEND_CAP:g}) for n positive labels; similarity alone below {MIN_POSITIVES}",
                      "thresholds": {"common": self.settings.threshold, "own": result.thresholds,
                                     "rule": f"a code with >= {THRESHOLD_MIN_POSITIVES} held-out positives and "
                                             "negatives gets the threshold that maximises its held-out F1; its "
                                             "served score is shifted by (common - own)"}},
            "validation": {"folds": result.folds, "grouped_by": "transcript", **params,
                           "modes": {m: r.as_dict() for m, r in validation.items()}},
            "promotion": verdict,
            "seconds": round(time.perf_counter() - started, 3),
        }
        row.path = save_version(self.settings.models_dir, row.id, result.classifier, card)
        row.card, row.status, row.finished_at = card, "ready", utcnow()
        row.message = verdict["reason"]
        if verdict["promoted"]:
            db.add_serving_change(session, codebook_name=row.codebook_name, classifier_id=row.id,
                                  reason="forced" if row.force and not verdict["better"] else "promoted",
                                  changed_by=row.created_by)

    def _compare(self, session: Session, row: Classifier, data: TrainingData, index: CodeIndex,
                 similarity: np.ndarray, candidate: np.ndarray | None, params: dict) -> dict:
        """Is the new version better than what is served, on labels neither has learned from?"""
        served = self.coder.served.current(session, row.codebook_name)
        if served is None:
            against, held_out, baseline = "similarity", np.arange(len(data.segment_ids)), similarity
        else:
            old_row, old = served
            against = f"v{old_row.id}"
            held_out = np.flatnonzero(data.first_decision > (old_row.decisions_until or 0))
            baseline = served_scores(old.for_codes(data.codes), data.features, similarity)
        verdict = {"against": against, "held_out_segments": int(len(held_out))}
        if candidate is None:
            verdict["reason"] = "the labels come from one transcript: no held-out folds to judge it on"
            better = False
        elif len(held_out) < MIN_HELD_OUT:
            verdict["reason"] = (f"{len(held_out)} segments labelled since {against} was trained: "
                                 f"at least {MIN_HELD_OUT} are needed to show a new version is better")
            better = False
        else:
            figures = reports({"new": candidate, "served": baseline}, data.labels, data.codes, rows=held_out,
                              **params)
            new, old_f1 = figures["new"].macro_f1, figures["served"].macro_f1
            verdict |= {"new_macro_f1": new, "served_macro_f1": old_f1,
                        "new_micro_f1": figures["new"].micro_f1, "served_micro_f1": figures["served"].micro_f1}
            better = new > old_f1
            verdict["reason"] = (f"macro F1 {new:.3f} vs {old_f1:.3f} for {against} on {len(held_out)} "
                                 f"held-out segments: " + ("better" if better else "not better"))
        verdict["better"] = better
        verdict["promoted"] = better or row.force
        if row.force and not better:
            verdict["reason"] += "; promoted because an admin forced it"
        return verdict

    # -- registry --------------------------------------------------------------------------------------------

    def get(self, session: Session, classifier_id: int) -> Classifier:
        row = db.get_classifier(session, classifier_id=classifier_id)
        if row is None:
            raise NotFound(f"no model version {classifier_id}")
        return row

    def card(self, row: Classifier) -> dict | None:
        """The version's model card; where its files are gone or damaged, a card that says so (never a 500)."""
        if not row.path:
            return None
        try:
            return load_card(self.settings.models_dir / row.path)
        except (OSError, ValueError) as exc:
            return {"unreadable": f"the files of version {row.id} cannot be read from "
                                  f"{self.settings.models_dir / row.path} ({type(exc).__name__}); it is not "
                                  "served: retrain, or roll back to another version"}

    def serving(self, session: Session, codebook: str | None) -> tuple[str, ServingChange | None]:
        name = self.coder.catalog.resolve(session, codebook or self.settings.default_codebook).name
        return name, db.served(session, codebook_name=name)

    def promote(self, session: Session, user: User, classifier_id: int) -> ServingChange:
        """Serve a ready version from the next request on (an admin's decision: no comparison)."""
        require(user, "admin")
        row = self.get(session, classifier_id)
        if row.status != "ready":
            raise Conflict(f"version {classifier_id} is {row.status}, not ready to serve")
        if row.embedding_model != self.coder.embedder.model_id:
            raise Conflict(f"version {classifier_id} was trained on {row.embedding_model} embeddings; the "
                           f"service runs {self.coder.embedder.model_id}")
        self._readable(row)
        change = db.add_serving_change(session, codebook_name=row.codebook_name, classifier_id=row.id,
                                       reason="forced", changed_by=user.id)
        session.commit()
        return change

    def _readable(self, row: Classifier) -> None:
        """Refuse (409) to serve a version whose files are missing or damaged."""
        try:
            self.coder.served.verify(row)
        except UNREADABLE as exc:
            where = self.settings.models_dir / (row.path or "")
            raise Conflict(f"version {row.id}'s files cannot be read from {where} ({type(exc).__name__}); it "
                           "cannot be served: retrain, or roll back to another") from None

    def rollback(self, session: Session, user: User, codebook: str | None,
                 to: int | None = None, similarity_only: bool = False) -> ServingChange:
        """Serve an earlier version again: `to`, or else the one served before the current one
        (similarity alone if there was none); `similarity_only` stops serving any classifier."""
        require(user, "admin")
        name, current = self.serving(session, codebook)
        if to is not None:
            row = self.get(session, to)
            if row.codebook_name != name:
                raise InvalidInput(f"version {to} was trained for {row.codebook_name}, not {name}")
            if row.status != "ready":
                raise Conflict(f"version {to} is {row.status}, not ready to serve")
            self._readable(row)
            target = row.id
        elif similarity_only:
            target = None
        else:
            if current is None:
                raise Conflict(f"no classifier has been served for {name}: nothing to roll back")
            history = db.serving_history(session, codebook_name=name)
            earlier = [h for h in history[1:] if h.classifier_id != current.classifier_id]
            target = earlier[0].classifier_id if earlier else None
        change = db.add_serving_change(session, codebook_name=name, classifier_id=target, reason="rollback",
                                       changed_by=user.id)
        session.commit()
        return change

    # -- automatic retraining --------------------------------------------------------------------------------

    def after_decisions(self, session: Session) -> Classifier | None:
        """Start a fit when `retrain_every` label decisions have been made since the newest version."""
        every = self.settings.retrain_every
        if not every:
            return None
        name = self.coder.catalog.resolve(session, self.settings.default_codebook).name
        versions = db.list_classifiers(session, codebook_name=name)
        if versions and versions[0].status == "training":
            return None
        since = (versions[0].decisions_until or 0) if versions else 0
        if db.count_label_decisions(session, after_id=since) < every:
            return None
        return self.retrain_in_background(session, None, trigger="auto")
