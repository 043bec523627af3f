"""Batch pre-coding jobs run by the service: one at a time, in a background thread, resumable.

A job's manifest (JSONL, one transcript a line) and output files live in `<jobs_dir>/<id>/`. Its progress is
kept in the `jobs` table after every chunk. Each transcript is stored in the database (so coders can review
it) under the key `job:<id>:<n>` in the same step as its chunk is finished: a job interrupted at any moment
(cancelled, the service stopped, the machine lost) continues where it was, never storing a transcript twice.
Jobs that were queued or running when the service stopped are taken up again when it starts.
"""

import logging
import queue
import threading
import uuid
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.batch.cache import EmbeddingCache
from app.batch.inputs import PATHS_REFUSED, InputError, discover
from app.batch.precode import LocalEncoder, PrecodeOptions, Precoder, Prepared, Progress
from app.config import Settings
from app.db.tables import Classifier, Job, Transcript, User, utcnow
from app.engine.code_index import CodeIndex
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.services.coding import Coder, Scorer, SuggestOptions
from taxonomy import ResolvedCodebook

log = logging.getLogger("autocoder.jobs")
RESUMABLE = ("cancelled", "failed")


class JobRunner:
    def __init__(self, settings: Settings, coder: Coder, sessions: sessionmaker[Session]):
        self.settings, self.coder, self.sessions = settings, coder, sessions
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        with self.sessions() as session:
            waiting = session.scalars(select(Job.id).where(Job.status.in_(("queued", "running")))
                                      .order_by(Job.created_at)).all()
        for job_id in waiting:  # left by a stopped or crashed service: resume them
            self._queue.put(job_id)
        self._thread = threading.Thread(target=self._loop, name="precode-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60) -> None:
        """Finish the current chunk, leave the job queued for the next start, and end the thread."""
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def folder(self, job_id: str) -> Path:
        return self.settings.jobs_dir / job_id

    # -- requests --------------------------------------------------------------------------------------------

    def create(self, session: Session, user: User, job_id: str, options: dict) -> Job:
        """Register a job whose manifest was written to folder(job_id)/manifest.jsonl, and queue it."""
        manifest = self.folder(job_id) / "manifest.jsonl"
        try:
            sources = discover(manifest, allow_paths=False)
        except InputError as exc:
            raise InvalidInput(str(exc).replace(str(manifest), "manifest")) from None
        if any(s.offset is None for s in sources):
            raise InvalidInput(f"manifest: {PATHS_REFUSED}")
        _, index = self.coder.index_for(session, options.get("codebook"))  # unknown codebook: 404 now, not later
        # The classifier served now scores the whole job, resumed or not: every chunk is scored alike.
        options = options | {"classifier": self.coder.scorer(session, index).classifier_id}
        job = Job(id=job_id, status="queued", created_by=user.id, options=options,
                  transcripts_total=len(sources))
        session.add(job)
        session.commit()
        self._queue.put(job_id)
        return job

    def get(self, session: Session, user: User, job_id: str) -> Job:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        if job.created_by != user.id and user.role == "coder":
            raise Forbidden("coders see their own jobs")
        return job

    def cancel(self, session: Session, user: User, job_id: str) -> Job:
        job = self.get(session, user, job_id)
        if job.status not in ("queued", "running"):
            raise Conflict(f"job {job_id} is {job.status}; only queued or running jobs can be cancelled")
        job.cancel_requested = True
        if job.status == "queued":
            job.status = "cancelled"
        session.commit()
        return job

    def resume(self, session: Session, user: User, job_id: str) -> Job:
        job = self.get(session, user, job_id)
        if job.status not in RESUMABLE:
            raise Conflict(f"job {job_id} is {job.status}; only cancelled or failed jobs can be resumed")
        job.status, job.cancel_requested, job.message = "queued", False, None
        session.commit()
        self._queue.put(job_id)
        return job

    # -- the worker ------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                self._run(job_id)
            except Exception as exc:  # a job must never take the worker thread down with it
                log.exception("job %s failed", job_id)
                self._update(job_id, status="failed", message=f"{type(exc).__name__}: {exc}")

    def _update(self, job_id: str, **fields) -> None:
        with self.sessions() as session:
            job = session.get(Job, job_id)
            for name, value in fields.items():
                setattr(job, name, value)
            job.updated_at = utcnow()
            session.commit()

    def _run(self, job_id: str) -> None:
        with self.sessions() as session:
            job = session.get(Job, job_id)
            if job is None or job.status not in ("queued", "running") or job.cancel_requested:
                return
            options = dict(job.options)
            codebook, index = self.coder.index_for(session, options.get("codebook"))
            # Claim the job in one statement: a cancel committed since it was read wins (a plain write here
            # could turn a job just marked cancelled back into a running one).
            claimed = session.execute(
                update(Job).where(Job.id == job_id, Job.status.in_(("queued", "running")),
                                  Job.cancel_requested.is_(False))
                .values(status="running", updated_at=utcnow())).rowcount
            session.commit()
            if not claimed:
                return
        suggest_options = SuggestOptions(options.get("codebook"), options["top_k"], options["threshold"])
        precode_options = PrecodeOptions(top_k=options["top_k"], threshold=options["threshold"],
                                         scoring=self.settings.scoring(), passages=self.settings.passages(),
                                         chunk_size=options["chunk_size"],
                                         batch_size=self.coder.embedder.batch_size)
        embedder = self.coder.embedder
        cache = EmbeddingCache(self.settings.cache_dir / "embeddings", embedder.model_id, embedder.dimension)
        scorer = None
        if options.get("classifier") is not None:
            with self.sessions() as session:
                row = session.get(Classifier, options["classifier"])
                scorer = Scorer.blended(index, row.id, self.coder.served.load(row))
        precoder = Precoder(self.settings, index, LocalEncoder(embedder), precode_options, cache, scorer)
        folder = self.folder(job_id)

        def store_chunk(prepared: Prepared) -> None:
            if options.get("store", True):
                store_prepared(self.sessions, self.coder, prepared, codebook, index, suggest_options,
                               f"job:{job_id}", precoder.scorer.classifier_id)

        def progress(p: Progress) -> None:
            self._update(job_id, chunks_total=p.chunks_total, chunks_done=p.chunks_done,
                         transcripts_done=p.transcripts_done, sentences_done=p.sentences_done, errors=p.errors,
                         rate=p.rate, eta_seconds=p.eta)

        def cancelled() -> bool:
            if self._stopping.is_set():
                return True
            with self.sessions() as session:
                return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))

        try:
            result = precoder.run(discover(folder / "manifest.jsonl"), folder, on_progress=progress,
                                  cancelled=cancelled, on_chunk=store_chunk)
        finally:
            cache.close()
        if result.chunks_done == result.chunks_total:
            self._update(job_id, status="done", eta_seconds=0.0,
                         message=f"{result.errors} transcript(s) could not be read" if result.errors else None)
        elif self._stopping.is_set():
            self._update(job_id, status="queued", message="the service stopped; the job resumes when it starts")
        else:
            self._update(job_id, status="cancelled")


def store_prepared(sessions: sessionmaker[Session], coder: Coder, prepared: Prepared, codebook: ResolvedCodebook,
                   index: CodeIndex, options: SuggestOptions, key_prefix: str,
                   classifier_id: int | None = None) -> int:
    """Store a finished chunk's transcripts for review, in one transaction, each under `<key_prefix>:<n>`.

    Transcripts already stored under their key (by a run that was interrupted after storing them) are
    skipped, so a resumed job stores every transcript exactly once. Returns how many were stored now.
    """
    # An input holding several transcripts (a .zip, a turn table) keys its second and later ones <n>.<part>.
    keys = {(t.source.index, t.part): f"{key_prefix}:{t.source.index}" + (f".{t.part}" if t.part else "")
            for t in prepared.transcripts}
    with sessions() as session:
        done = set(session.scalars(select(Transcript.source_key).where(Transcript.source_key.in_(keys.values()))))
        stored = 0
        for t in prepared.transcripts:
            key = keys[t.source.index, t.part]
            if key in done:
                continue
            t.data.options = options
            vectors = [prepared.vectors[s.text] if skip is None else None
                       for s, skip in zip(t.segments, t.skips, strict=True)]
            rows = [(i, rank, c) for i, cands in sorted(t.ranked.items()) for rank, c in enumerate(cands, start=1)]
            coder.store_coded(session, t.data, t.text, t.source_format, t.segments, t.skips, vectors, rows,
                              codebook, index, source_key=key, classifier_id=classifier_id)
            stored += 1
        session.commit()
    return stored


def new_job_id() -> str:
    return str(uuid.uuid4())
