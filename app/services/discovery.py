"""Inductive discovery: what a team's codebook misses, as candidate new codes it can adopt.

A run takes the sentences of the chosen transcripts that no code explains well and clusters them
(app/engine/discovery.py). A sentence counts as unexplained when no coder and no consensus code covers it
(a code on a span covers every sentence of the span) and either no code reached the suggestion threshold on it
in its transcript's current run ('under_threshold'), or the best code shown fits it weakly ('weak_fit': the
codebook's own classifier, app/engine/gate.py, gives that code under the encoder's fit floor), or every code
that did was rejected by the coders ('all_rejected'), or a coder wrote a memo on it and gave it no code
('flagged': "no code fits"). A run may take only some of these kinds. Runs happen in the background, one at a
time, with their stage and progress on the run row; each run is kept with its filters, parameters, codebook and
model, so its results are a version.

Reading every coder's rejections is reading their work, so discovery is for adjudicators and admins (who see
every coder's work under blind coding). Promoting a candidate writes a new version of a codebook everyone codes
with, and re-codes transcripts: that is for admins.
"""

import logging
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np
import yaml
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import decisions as decisions_db
from app.db import discovery as db
from app.db import store
from app.db.tables import DiscoveryCandidate, DiscoveryRun, User, utcnow
from app.engine.discovery import LIMITS, DiscoveryParams, describe, discover
from app.engine.transcripts import SuggestOptions
from app.errors import Conflict, InvalidInput, NotFound
from app.services.accounts import require
from app.services.coding import Coder
from app.services.visibility import replay
from taxonomy import Codebook
from taxonomy.schema import NAME_PATTERN

log = logging.getLogger("autocoder.discovery")

ENGINE_VERSION = 1  # bumped when what a run computes changes, so runs from different methods are told apart
MAP_POINTS = 5_000  # sentences kept for a run's 2-D map (a seeded sample above this)
MAX_UNITS = 200_000  # sentences one run may cluster (the engine samples above its max_points)
KINDS = ("under_threshold", "weak_fit", "all_rejected", "flagged")
TUNABLE = (*LIMITS, "reduce")  # the clustering parameters a request may set (the rest are the engine's)
# The gate shows a code for talk that sounds like a technique, whether or not the codebook has the right one:
# talk a codebook misses is shown its nearest code, which the codebook's classifier then rates weakly. Each
# encoder has its floor (app/engine/encoders.py, fit_floor). On the interview development half coded with
# BCTTv1 alone, a shown code under it marked 76% of the relational sentences (the group BCTTv1 lacks) and 34% of
# the BCTTv1 ones with EmbeddingGemma at 0.10 (87% and 71% with the bundled MiniLM at 0.15; the background
# margin before: 57% and 48%). This floor is for a model of a user's own.
FIT_FLOOR = 0.10
ROLES = ("peer_worker", "supported_peer", "interviewer", "other")
MAX_TEXT = 4_000  # a name is shorter; a definition or dismissal reason at most this long
_CODE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PROGRESS_EVERY = 1.0  # seconds between progress writes
# Promotions read a codebook's newest version and write the next; merges number the next candidate; a re-code
# checks none is running. Each is a read-then-write: one at a time in this process, or two at once would both
# write "version 6" (one code lost) or the same candidate number. (The command line is another process: a
# promotion there while the service promotes into the same codebook is not guarded.)
_WRITES = threading.Lock()


@dataclass(frozen=True)
class DiscoveryFilters:
    """Which sentences a run looks at; None: all."""

    codebook: str | None = None  # transcripts whose current run used this codebook (default: the service's)
    role: str | None = None  # the speaker's role
    site: str | None = None
    arm: str | None = None
    transcripts: tuple[int, ...] | None = None
    # Which unexplained sentences: under the threshold, every shown code rejected, flagged with a memo and no
    # code. A team that marks "no code fits" as it codes can cluster just those (kinds=("flagged",
    # "all_rejected")), which keeps ordinary talk out.
    kinds: tuple[str, ...] = KINDS


@dataclass
class Units:
    """The unexplained sentences of a run, row-aligned, and what was counted on the way."""

    segment_ids: list[int] = field(default_factory=list)
    transcript_ids: list[int] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    vectors: np.ndarray | None = None
    counts: Counter = field(default_factory=Counter)


def _covered(decisions, places: dict[int, tuple[int, int]], by_place: dict[tuple[int, int], int]):
    """Segments some label covers (a span covers its every sentence), codes rejected per segment, and the
    segments a coder wrote a memo on."""
    covered: set[int] = set()
    rejected: dict[int, set[str]] = {}
    memos: set[int] = set()
    for (segment, _coder), state in replay(decisions).items():
        for code in state.labels:
            end = state.ends.get(code)
            if end is None or segment not in places or end not in places:
                covered.add(segment)
                continue
            (tid, first), (_, last) = places[segment], places[end]
            covered.update(by_place[(tid, p)] for p in range(first, last + 1) if (tid, p) in by_place)
        if state.rejected:
            rejected.setdefault(segment, set()).update(state.rejected)
        if any(m.strip() for m in state.memos):
            memos.add(segment)
    return covered, rejected, memos


def unexplained(session: Session, coder: Coder, codebook_name: str, filters: DiscoveryFilters) -> Units:
    """The sentences of the chosen transcripts that no code explains well (see the module's docstring)."""
    chosen = db.chosen_transcripts(session, codebook_name=codebook_name, site=filters.site, arm=filters.arm,
                                   transcript_ids=filters.transcripts)
    units = Units()
    units.counts["transcripts"] = len(chosen)
    if not chosen:  # an empty (0, dim) matrix, as below: the engine takes no None
        units.vectors = np.zeros((0, coder.embedder.dimension), dtype=np.float32)
        return units
    tids = [t for t, _, _ in chosen]
    shown: dict[int, dict[str, float]] = {}
    for sid, code, score, threshold in db.sentence_suggestions(session, run_ids=[r for _, r, _ in chosen]):
        if score >= threshold:
            shown.setdefault(sid, {})[code] = score
    places = {sid: (tid, pos) for sid, tid, _turn, pos, _skip in decisions_db.segment_places(
        session, transcript_ids=tids)}
    by_place = {place: sid for sid, place in places.items()}
    covered, rejected, memos = set(), {}, set()
    for stage in ("coding", "consensus"):  # replayed apart: an adjudicator may also have coded
        stage_covered, stage_rejected, stage_memos = _covered(
            decisions_db.decisions(session, transcript_ids=tids, stage=stage), places, by_place)
        covered |= stage_covered
        memos |= stage_memos
        for sid, codes in stage_rejected.items():
            rejected.setdefault(sid, set()).update(codes)
    model_id = coder.embedder.model_id
    _, index = coder.index_for(session, codebook_name)
    column = {c.id: j for j, c in enumerate(index.codes)}
    found: list[tuple] = []  # (reason, sid, tid, role, text, vector or None)
    shown_best: list[tuple] = []  # (code column, sid, tid, role, text, vector or None): checked for fit below
    for sid, tid, role, text, embedding, embedding_model in db.codable_segments(session, transcript_ids=tids,
                                                                               role=filters.role):
        units.counts["sentences"] += 1
        if sid in covered:
            units.counts["coded"] += 1
            continue
        vector = np.frombuffer(embedding, dtype=np.float32) if (
            embedding is not None and embedding_model == model_id) else None
        codes = shown.get(sid, {})
        kept = {c: score for c, score in codes.items() if c not in rejected.get(sid, set())}
        if sid in memos:  # a coder wrote about it and gave it no code: what a team flags as "no code fits"
            found.append(("flagged", sid, tid, role, text, vector))
        elif kept:
            best = max(kept, key=kept.get)
            if index.model is not None and best in column:
                shown_best.append((column[best], sid, tid, role, text, vector))
            else:
                units.counts["explained"] += 1
        else:
            found.append(("all_rejected" if codes else "under_threshold", sid, tid, role, text, vector))
    if shown_best:
        vectors = _vectors(coder, [row[4] for row in shown_best], [row[5] for row in shown_best], units)
        fit = np.exp(index.model.log_proba(vectors)[np.arange(len(shown_best)), [row[0] for row in shown_best]])
        for row, vector, p in zip(shown_best, vectors, fit, strict=True):
            if p < (coder.embedder.fit_floor or FIT_FLOOR):
                found.append(("weak_fit", *row[1:5], vector))
            else:
                units.counts["explained"] += 1
    rows: list[np.ndarray | None] = []
    for reason, sid, tid, role, text, vector in found:
        units.counts[reason] += 1
        if reason not in filters.kinds:
            continue
        if len(units.segment_ids) >= MAX_UNITS:
            units.counts["over_limit"] += 1
            continue
        units.segment_ids.append(sid)
        units.transcript_ids.append(tid)
        units.roles.append(role)
        units.texts.append(text)
        rows.append(vector)
    units.vectors = (_vectors(coder, units.texts, rows, units) if rows
                     else np.zeros((0, coder.embedder.dimension), dtype=np.float32))
    return units


def _vectors(coder: Coder, texts: list[str], rows: list[np.ndarray | None], units: Units) -> np.ndarray:
    """The stored vectors, encoding (not storing) those kept under another model or none."""
    stale = [i for i, row in enumerate(rows) if row is None]
    if stale:
        rows = list(rows)
        for i, vector in zip(stale, coder.embedder.encode([texts[i] for i in stale]), strict=True):
            rows[i] = np.asarray(vector, dtype=np.float32)
        units.counts["re_encoded"] = units.counts.get("re_encoded", 0) + len(stale)
    return np.stack(rows).astype(np.float32)


def code_vectors(coder: Coder, session: Session, codebook_name: str) -> tuple[list[str], np.ndarray]:
    """One unit-length vector per codable code: the mean of its definition's and exemplars' vectors."""
    _, index = coder.index_for(session, codebook_name)
    ids = [c.id for c in index.codes]
    sums = np.zeros((len(ids), index.vectors.shape[1]), dtype=np.float32)
    for unit, vector in zip(index.units, index.vectors, strict=True):
        sums[unit.code] += vector
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return ids, sums / np.where(norms == 0, 1, norms)


def check_params(values: dict) -> DiscoveryParams:
    """Clustering parameters from a request (the API, the command line, the pages): keys other than TUNABLE are
    refused; DiscoveryParams checks the values, and its message is the InvalidInput's."""
    unknown = sorted(set(values) - set(TUNABLE))
    if unknown:
        raise InvalidInput(f"unknown discovery parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(TUNABLE))}")
    try:
        return DiscoveryParams(**values)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


class Discoverer:
    """Runs discovery in the background (one run at a time) and carries out a team's decisions on candidates."""

    def __init__(self, settings: Settings, coder: Coder, sessions: sessionmaker[Session]):
        self.settings, self.coder, self.sessions = settings, coder, sessions
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="discovery")
        self._stopping = threading.Event()  # a re-code stops between transcripts when the service stops

    def start(self) -> None:
        with self.sessions() as session:
            message = "the service stopped before this run finished"
            if db.fail_unfinished(session, message=message) + db.fail_unfinished_recodes(session, message=message):
                session.commit()

    def stop(self) -> None:
        self._stopping.set()
        self._executor.shutdown(wait=True, cancel_futures=True)

    # -- runs ------------------------------------------------------------------------------------------------

    def request(self, session: Session, user: User | None, filters: DiscoveryFilters,
                params: DiscoveryParams) -> DiscoveryRun:
        """Register a run (status 'queued'); submit(run.id) or run(run.id) does the work."""
        if user is not None:
            require(user, "adjudicator")
        if not filters.kinds or set(filters.kinds) - set(KINDS):
            raise InvalidInput(f"kinds must be one or more of {', '.join(KINDS)}")
        if filters.role is not None and filters.role not in ROLES:
            raise InvalidInput(f"unknown role {filters.role!r}; choose one of {', '.join(ROLES)}")
        resolved = self.coder.catalog.resolve(session, filters.codebook or self.settings.default_codebook)
        row = db.add_run(session, status="queued", created_by=user.id if user else None,
                         codebook_name=resolved.name, codebook_digest=resolved.digest,
                         model_id=self.coder.embedder.model_id,
                         filters={k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(filters).items()},
                         params={**asdict(params), "engine": ENGINE_VERSION}, stage="queued", progress=0.0, units=0)
        session.commit()
        return row

    def submit(self, run_id: int) -> None:
        self._executor.submit(self._run_logged, run_id)

    def _run_logged(self, run_id: int) -> None:
        try:
            self.run(run_id)
        except Exception:  # noqa: BLE001 - recorded on the run; a background thread has no caller to raise to
            log.exception("discovery run %s failed", run_id)

    def run(self, run_id: int) -> DiscoveryRun:
        """Select, cluster, describe and store; the run row says how it went."""
        with self.sessions() as session:
            run = db.get_run(session, run_id=run_id)
            if run is None:
                raise NotFound(f"no discovery run {run_id}")
            try:
                self._execute(session, run)
            except Exception as exc:
                session.rollback()
                run = db.get_run(session, run_id=run_id)
                run.status, run.message, run.finished_at = "failed", f"{type(exc).__name__}: {exc}", utcnow()
                session.commit()
                if not isinstance(exc, InvalidInput | NotFound):
                    raise
            return run

    def _execute(self, session: Session, run: DiscoveryRun) -> None:
        started = time.perf_counter()
        run.status, run.stage = "running", "select"
        session.commit()
        filters = DiscoveryFilters(**{**run.filters, "transcripts": tuple(run.filters["transcripts"])
                                      if run.filters.get("transcripts") else None,
                                      "kinds": tuple(run.filters.get("kinds") or KINDS)})
        units = unexplained(session, self.coder, run.codebook_name, filters)
        code_ids, vectors = code_vectors(self.coder, session, run.codebook_name)
        params = DiscoveryParams(**{k: v for k, v in run.params.items() if k != "engine"})
        run.units = len(units.segment_ids)
        session.commit()
        last = [0.0]

        def progress(stage: str, fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] < _PROGRESS_EVERY and fraction < 1:
                return
            last[0] = now
            run.stage, run.progress = stage, round(float(fraction), 3)
            session.commit()

        result = discover(units.vectors, units.texts, code_ids, vectors, params, progress)
        rows = [dict(number=cand.number, status="open",
                     stability=None if cand.stability is None else round(float(cand.stability), 3),
                     **_stored(cand, units.segment_ids, units.roles, units.transcript_ids))
                for cand in result.candidates]
        db.add_candidates(session, run_id=run.id, rows=rows)
        number = np.zeros(len(units.segment_ids), dtype=int)
        for cand in result.candidates:
            number[cand.members] = cand.number
        keep = np.arange(len(units.segment_ids))
        if len(keep) > MAP_POINTS:
            keep = np.sort(np.random.default_rng(params.seed).choice(keep, MAP_POINTS, replace=False))
        run.points = [[units.segment_ids[i], round(float(result.points[i, 0]), 4),
                       round(float(result.points[i, 1]), 4), int(number[i])] for i in keep]
        run.summary = {**dict(units.counts), "units": len(units.segment_ids), "clustered": result.clustered,
                       "noise": len(result.noise), "candidates": len(rows),
                       "params": asdict(result.params),
                       "timings": {k: round(v, 2) for k, v in result.timings.items()},
                       "seconds": round(time.perf_counter() - started, 2)}
        if not units.counts["transcripts"]:
            elsewhere = ", ".join(f"{name} ({n})" for name, n in sorted(db.current_codebooks(session).items()))
            run.message = (f"no transcript's current suggestions used {run.codebook_name}"
                           + (f"; they used {elsewhere}" if elsewhere else "; there are no transcripts")
                           + (" (within the filters)" if any(v for k, v in run.filters.items()
                                                            if k not in ("codebook", "kinds")) else ""))
        run.status, run.stage, run.progress, run.finished_at = "done", "done", 1.0, utcnow()
        session.commit()

    def get(self, session: Session, run_id: int) -> DiscoveryRun:
        run = db.get_run(session, run_id=run_id)
        if run is None:
            raise NotFound(f"no discovery run {run_id}")
        return run

    # -- a team's decisions on candidates ---------------------------------------------------------------------

    def candidate(self, session: Session, run_id: int, number: int) -> DiscoveryCandidate:
        self.get(session, run_id)
        row = db.candidate(session, run_id=run_id, number=number)
        if row is None:
            raise NotFound(f"discovery run {run_id} has no candidate {number}")
        return row

    def _open(self, session: Session, user: User | None, run_id: int, number: int,
              needed: str = "adjudicator") -> DiscoveryCandidate:
        if user is not None:
            require(user, needed)
        row = self.candidate(session, run_id, number)
        if row.status != "open":
            raise Conflict(f"candidate {number} is {row.status}; only open candidates can be changed")
        return row

    @staticmethod
    def _touch(row: DiscoveryCandidate, user: User | None) -> None:
        row.updated_by, row.updated_at = (user.id if user else None), utcnow()

    def edit(self, session: Session, user: User | None, run_id: int, number: int, *, name: str | None = None,
             definition: str | None = None, exemplars: list[int] | None = None) -> DiscoveryCandidate:
        """Name a candidate, write its definition, pick its exemplar quotes (segment ids of its members)."""
        row = self._open(session, user, run_id, number)
        if name is not None:
            name = name.strip()
            if not 1 <= len(name) <= 300:
                raise InvalidInput("name must be 1 to 300 characters")
            row.name = name
        if definition is not None:
            if len(definition) > MAX_TEXT:
                raise InvalidInput(f"definition must be at most {MAX_TEXT} characters")
            row.definition = definition.strip() or None
        if exemplars is not None:
            outside = sorted(set(exemplars) - set(row.members))
            if outside:
                raise InvalidInput(f"exemplars must be sentences of the candidate; not in it: "
                                   f"{', '.join(map(str, outside[:10]))}")
            if not 1 <= len(exemplars) <= 50:
                raise InvalidInput("pick 1 to 50 exemplar sentences")
            row.exemplars = list(dict.fromkeys(exemplars))
        self._touch(row, user)
        session.commit()
        return row

    def dismiss(self, session: Session, user: User | None, run_id: int, number: int, reason: str) -> DiscoveryCandidate:
        row = self._open(session, user, run_id, number)
        reason = (reason or "").strip()
        if not 1 <= len(reason) <= MAX_TEXT:
            raise InvalidInput(f"say why the candidate is dismissed (1 to {MAX_TEXT} characters): the reason is kept")
        row.status, row.reason = "dismissed", reason
        self._touch(row, user)
        session.commit()
        return row

    def reopen(self, session: Session, user: User | None, run_id: int, number: int) -> DiscoveryCandidate:
        """Undo a dismissal (the reason is kept on the row until it is dismissed again)."""
        if user is not None:
            require(user, "adjudicator")
        row = self.candidate(session, run_id, number)
        if row.status != "dismissed":
            raise Conflict(f"candidate {number} is {row.status}; only a dismissed candidate can be reopened")
        row.status = "open"
        self._touch(row, user)
        session.commit()
        return row

    def merge(self, session: Session, user: User | None, run_id: int, numbers: list[int],
              name: str | None = None) -> DiscoveryCandidate:
        """Combine open candidates into a new one (described afresh); the merged ones point to it."""
        with _WRITES:
            return self._merge(session, user, run_id, numbers, name)

    def _merge(self, session: Session, user: User | None, run_id: int, numbers: list[int],
               name: str | None) -> DiscoveryCandidate:
        if user is not None:
            require(user, "adjudicator")
        numbers = list(dict.fromkeys(numbers))
        if len(numbers) < 2:
            raise InvalidInput("name at least two candidates to merge")
        sources = [self._open(session, user, run_id, n) for n in numbers]
        run = self.get(session, run_id)
        members = list(dict.fromkeys(s for row in sources for s in row.members))
        texts = db.segment_texts(session, ids=members)
        vectors = decisions_db.segment_vectors(session, ids=members, model_id=run.model_id)
        members = [s for s in members if s in vectors and s in texts]
        if not members:
            raise Conflict(f"the candidates' sentences are no longer stored under {run.model_id}")
        matrix = np.stack([np.frombuffer(vectors[s][1], dtype=np.float32) for s in members])
        code_ids, code_matrix = code_vectors(self.coder, session, run.codebook_name)
        (described,) = describe(matrix, [texts[s][2] for s in members], [list(range(len(members)))], code_ids,
                                code_matrix)
        number = max(row.number for row in db.candidates(session, run_id=run_id)) + 1
        merged = DiscoveryCandidate(
            run_id=run_id, number=number, status="open", name=(name or "").strip()[:300] or None, stability=None,
            merged_from=numbers,
            **_stored(described, members, [texts[s][1] for s in members], [texts[s][0] for s in members]))
        self._touch(merged, user)
        session.add(merged)
        for row in sources:
            row.status, row.merged_into = "merged", number
            self._touch(row, user)
        session.commit()
        return merged

    def promote(self, session: Session, user: User | None, run_id: int, number: int, *, codebook: str | None = None,
                code_id: str | None = None, label: str | None = None, definition: str | None = None,
                parent: str | None = None, parent_label: str | None = None) -> tuple[DiscoveryCandidate, str]:
        """Make the candidate a code in a new version of an uploaded codebook (created on first use, extending
        the run's codebook); its exemplars are the picked sentences, or its quotes. Returns the candidate and
        the codebook's new version."""
        with _WRITES:
            return self._promote(session, user, run_id, number, codebook=codebook, code_id=code_id, label=label,
                                 definition=definition, parent=parent, parent_label=parent_label)

    def _promote(self, session: Session, user: User | None, run_id: int, number: int, *, codebook: str | None,
                 code_id: str | None, label: str | None, definition: str | None, parent: str | None,
                 parent_label: str | None) -> tuple[DiscoveryCandidate, str]:
        session.rollback()  # read the newest committed codebook version, not one this session saw before
        row = self._open(session, user, run_id, number, needed="admin")
        run = self.get(session, run_id)
        base = run.codebook_name.split("+")
        target = codebook or f"{base[0]}-discovered"
        if not re.fullmatch(NAME_PATTERN.strip("^$"), target):
            raise InvalidInput(f"codebook name {target!r} must be lower-case letters, digits, '.', '_' or '-'")
        label = (label or row.name or "").strip()
        if not label:
            raise InvalidInput("name the candidate (or send a label) before promoting it: the label is the code's name")
        definition = (definition if definition is not None else row.definition or "").strip()
        if not definition:
            raise InvalidInput("write a definition before promoting: suggestions match sentences against it")
        code_id = code_id or f"D{run_id}.{number}"
        if not _CODE_ID.match(code_id):
            raise InvalidInput("code id must be 1 to 64 letters, digits, '.', '_' or '-'")
        current = self.coder.catalog.resolve(session, run.codebook_name)
        if code_id in current.by_id:
            raise Conflict(f"code {code_id} is already in {run.codebook_name}; choose another id")
        texts = db.segment_texts(session, ids=row.exemplars or row.quotes)
        names = db.transcript_names(session, ids=[t for t, _, _ in texts.values()])
        exemplars = [{"text": texts[s][2], "source": f"discovery run {run_id}, candidate {number}, "
                      f"{names.get(texts[s][0], f'transcript {texts[s][0]}')}", "role": texts[s][1]}
                     for s in (row.exemplars or row.quotes) if s in texts]
        book = self._target_book(session, target, base)
        codes = book["codes"]
        if code_id in {c["id"] for c in codes}:
            raise Conflict(f"code {code_id} is already in {target}; choose another id")
        known = {c["id"] for c in codes} | set(current.by_id)
        leaves = {c.id for c in current.leaves} | ({c["id"] for c in codes} - {c.get("parent") for c in codes})
        if parent and parent in leaves:
            raise InvalidInput(f"{parent} is a code sentences are coded with, not a group: putting a code under it "
                               "would make it a group and stop it being suggested; choose a group or a new one")
        if parent and parent not in known:
            if not (parent_label or "").strip():
                raise InvalidInput(f"{parent} is a new group: send parent_label, the group's name")
            codes.append({"id": parent, "label": parent_label.strip()[:300]})
        codes.append({"id": code_id, "label": label[:300], **({"parent": parent} if parent else {}),
                      "definition": definition, "exemplars": exemplars})
        content = {**book, "codes": codes, "version": _next_version(book["version"])}
        self.coder.catalog.upload(session, yaml.safe_dump(content, sort_keys=False, allow_unicode=True))
        row.status, row.promoted_codebook, row.promoted_version, row.promoted_code = (
            "promoted", target, content["version"], code_id)
        row.name, row.definition = label, definition
        self._touch(row, user)
        session.commit()
        return row, content["version"]

    def _target_book(self, session: Session, target: str, base: list[str]) -> dict:
        """The newest upload under `target` as plain data, or a new codebook extending the run's."""
        if target in self.coder.catalog.builtin:
            raise Conflict(f"{target!r} is a built-in codebook; promote into an uploaded one (it can extend "
                           f"{target!r}), e.g. {target}-discovered")
        latest = store.latest_uploaded_codebook(session, name=target)
        if latest is not None:
            parts = {p.name for p in self.coder.catalog.resolve(session, target).parts}
            missing = [b for b in base if b not in parts]
            if missing:
                raise Conflict(f"{target!r} does not extend {'+'.join(base)}, the codebook this run's transcripts "
                               f"were coded with (it lacks {', '.join(missing)}): promote into a codebook that "
                               f"extends it, e.g. {base[0]}-discovered")
            book = Codebook.model_validate(latest.content)
            return book.model_dump(exclude_defaults=True) | {"name": target, "version": book.version,
                                                             "codes": [c.model_dump(exclude_defaults=True)
                                                                       for c in book.codes]}
        return {"name": target, "title": f"{'+'.join(base)} with codes found by discovery", "version": "0",
                "description": "Codes the team adopted from inductive discovery runs.", "extends": base,
                "licence": "Written by the study team; exemplars are participants' words from the study's "
                           "transcripts: share them only as the study's consent allows.", "codes": []}

    # -- re-coding with a promoted codebook ---------------------------------------------------------------------

    def request_recode(self, session: Session, user: User | None, run_id: int, number: int) -> DiscoveryCandidate:
        """Re-suggest every transcript coded with the run's codebook (or an earlier version of the promoted one)
        with the promoted codebook; runs in the background, progress on the candidate's `recode`."""
        if user is not None:
            require(user, "admin")
        with _WRITES:
            return self._request_recode(session, run_id, number)

    def _request_recode(self, session: Session, run_id: int, number: int) -> DiscoveryCandidate:
        session.rollback()  # the newest committed state: another request may have just started one
        row = self.candidate(session, run_id, number)
        if row.status != "promoted":
            raise Conflict(f"candidate {number} is {row.status}; promote it before re-coding with it")
        if row.recode and row.recode.get("status") in ("queued", "running"):
            raise Conflict("a re-code with this codebook is already running")
        run = self.get(session, run_id)
        transcripts = db.transcripts_on_codebooks(session, names=[run.codebook_name, row.promoted_codebook])
        row.recode = {"status": "queued", "total": len(transcripts), "done": 0, "codebook": row.promoted_codebook,
                      "transcripts": transcripts, "message": None}
        session.commit()
        return row

    def submit_recode(self, candidate_id: int) -> None:
        self._executor.submit(self._recode_logged, candidate_id)

    def _recode_logged(self, candidate_id: int) -> None:
        try:
            self.recode(candidate_id)
        except Exception:  # noqa: BLE001 - recorded on the candidate
            log.exception("re-code for candidate %s failed", candidate_id)

    def recode(self, candidate_id: int) -> dict:
        with self.sessions() as session:
            row = session.get(DiscoveryCandidate, candidate_id)
            state = dict(row.recode, status="running")
            row.recode = state
            session.commit()
            options = SuggestOptions(codebook=state["codebook"])
            try:
                for n, tid in enumerate(state["transcripts"], start=1):
                    if self._stopping.is_set():  # marked failed at the next start, and can be asked for again
                        return state
                    try:
                        self.coder.resuggest(session, tid, options)
                    except NotFound:  # deleted meanwhile
                        session.rollback()
                    row = session.get(DiscoveryCandidate, candidate_id)
                    row.recode = state = dict(state, done=n)
                    session.commit()
                row.recode = state = dict(state, status="done")
            except Exception as exc:
                session.rollback()
                row = session.get(DiscoveryCandidate, candidate_id)
                row.recode = state = dict(state, status="failed", message=f"{type(exc).__name__}: {exc}")
                session.commit()
                raise
            session.commit()
            return state


def _stored(described, segment_ids: list[int], roles: list[str], transcript_ids: list[int]) -> dict:
    """A described group's stored fields (engine indices turned into segment ids); the lists are row-aligned
    with the vectors the engine described."""
    members = [segment_ids[i] for i in described.members]
    return dict(label=described.label[:300], size=len(members), members=members,
                by_role=dict(Counter(roles[i] for i in described.members)),
                by_transcript={str(t): n for t, n in Counter(transcript_ids[i] for i in described.members).items()},
                terms=[[t, round(float(w), 4)] for t, w in described.terms],
                quotes=[segment_ids[i] for i in described.quotes],
                nearest_codes=[[c, round(float(s), 4)] for c, s in described.nearest_codes])


def _next_version(version: str) -> str:
    """'3' -> '4', '1.2.0' -> '1.3.0', anything else gets '.1' added."""
    if version.isdigit():
        return str(int(version) + 1)
    parts = version.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{parts[0]}.{int(parts[1]) + 1}.0"
    return f"{version}.1"
