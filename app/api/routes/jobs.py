"""Batch pre-coding jobs: post a manifest, follow its progress, cancel, resume, fetch its files."""

import shutil
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy import select

from app.api.deps import CoderUser, JobsDep, SessionDep, Viewer
from app.api.media import JSON, PARQUET, answers
from app.api.schemas.common import ErrorOut
from app.api.schemas.jobs import JobOut
from app.db.tables import Job
from app.errors import InvalidInput, NotFound, UnsupportedContent
from app.services.jobs import JobRunner, new_job_id

router = APIRouter(prefix="/jobs", tags=["jobs"])
ERRORS = {404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut}}
FILES = ("sentences.parquet", "presence.parquet", "errors.json", "warnings.json")


def job_out(job: Job, jobs: JobRunner) -> JobOut:
    folder = jobs.folder(job.id)
    return JobOut(id=job.id, status=job.status, options=job.options, transcripts_total=job.transcripts_total,
                  transcripts_done=job.transcripts_done, sentences_done=job.sentences_done,
                  chunks_total=job.chunks_total, chunks_done=job.chunks_done, errors=job.errors,
                  sentences_per_second=round(job.rate, 1), eta_seconds=job.eta_seconds, message=job.message,
                  files=[f for f in FILES if (folder / f).exists()] if job.status == "done" else [])


@router.post("", status_code=202, response_model=JobOut, responses=ERRORS,
             openapi_extra={"requestBody": {"required": True, "content": {"application/x-ndjson": {
                 "schema": {"type": "string"},
                 "example": '{"participant_id": "SP3", "text": "SP3: She helped me plan my week."}\n'}}}})
async def create_job(request: Request, user: CoderUser, session: SessionDep, jobs: JobsDep,
                     codebook: str | None = None, top_k: Annotated[int | None, Query(ge=1, le=50)] = None,
                     threshold: Annotated[float | None, Query(ge=0, le=1)] = None,
                     chunk_size: Annotated[int, Query(ge=1, le=1000)] = 16, store: bool = True) -> JobOut:
    """Pre-code many transcripts in the background. The body is JSONL: one transcript a line, as in POST
    /transcripts (`text` or `turns`, and metadata). Stored transcripts can be reviewed as they finish."""
    job_id = new_job_id()
    folder = jobs.folder(job_id)
    folder.mkdir(parents=True)
    try:
        size = 0
        with (folder / "manifest.jsonl").open("wb") as handle:  # streamed to disk: a dataset can be large
            async for piece in request.stream():
                if b"\x00" in piece:
                    raise UnsupportedContent("the body contains NUL bytes; send JSONL text")
                handle.write(piece)
                size += len(piece)
        if not size:
            raise InvalidInput("the body is empty: send one JSON object a line")
        settings = request.app.state.coder.settings
        options = {"codebook": codebook, "top_k": top_k or settings.top_k,
                   "threshold": settings.threshold if threshold is None else threshold,
                   "chunk_size": chunk_size, "store": store}
        job = await run_in_threadpool(jobs.create, session, user, job_id, options)  # reads the whole manifest
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # nothing half-made is left behind
        raise
    return job_out(job, jobs)


@router.get("", response_model=list[JobOut])
def list_jobs(user: Viewer, session: SessionDep, jobs: JobsDep) -> list[JobOut]:
    query = select(Job).order_by(Job.created_at.desc())
    if user.role == "coder":
        query = query.where(Job.created_by == user.id)
    return [job_out(j, jobs) for j in session.scalars(query)]


@router.get("/{job_id}", response_model=JobOut, responses=ERRORS)
def get_job(job_id: str, user: Viewer, session: SessionDep, jobs: JobsDep) -> JobOut:
    """Status and progress: chunks and transcripts done, sentences per second, seconds left."""
    return job_out(jobs.get(session, user, job_id), jobs)


@router.post("/{job_id}/cancel", response_model=JobOut, responses=ERRORS)
def cancel_job(job_id: str, user: CoderUser, session: SessionDep, jobs: JobsDep) -> JobOut:
    """Stop after the chunk in progress; what is done stays done, and the job can be resumed."""
    return job_out(jobs.cancel(session, user, job_id), jobs)


@router.post("/{job_id}/resume", response_model=JobOut, responses=ERRORS)
def resume_job(job_id: str, user: CoderUser, session: SessionDep, jobs: JobsDep) -> JobOut:
    return job_out(jobs.resume(session, user, job_id), jobs)


@router.get("/{job_id}/files/{name}", responses={**ERRORS, **answers(JSON, PARQUET)})
def job_file(job_id: str, name: Literal[FILES], user: Viewer, session: SessionDep, jobs: JobsDep) -> FileResponse:
    job = jobs.get(session, user, job_id)
    path = jobs.folder(job.id) / name
    if name not in FILES or job.status != "done" or not path.exists():
        raise NotFound(f"job {job_id} has no file {name!r} (yet); files: {', '.join(FILES)} once it is done")
    media = "application/json" if name.endswith(".json") else "application/vnd.apache.parquet"
    return FileResponse(path, media_type=media, filename=name)

