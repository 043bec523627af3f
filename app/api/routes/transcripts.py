"""Post transcripts (JSON or labelled plain text), list them, read their segments and suggestions."""

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from app.api.deps import CoderDep, CoderUser, SessionDep, Viewer
from app.api.presenters import commit_rendered, summary_out, transcript_out
from app.api.schemas.common import ErrorOut, Id, Role
from app.api.schemas.transcripts import (
    ImportOut,
    RunIn,
    TranscriptEditIn,
    TranscriptEditOut,
    TranscriptEditRecord,
    TranscriptIn,
    TranscriptOut,
    TranscriptPage,
)
from app.api.text_body import read_text_body
from app.db import store
from app.db.tables import User
from app.errors import InvalidInput, NotFound
from app.services import imports
from app.services import transcripts as managed
from app.services.coding import SuggestOptions, TranscriptInput
from app.services.imports import import_files
from app.validation import MAX_INT

router = APIRouter(prefix="/transcripts", tags=["transcripts"])
ERRORS = {404: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut},
          422: {"model": ErrorOut}}


def _code(body: TranscriptIn, session: SessionDep, coder: CoderDep, user: User) -> Response:
    """Code and store; the response is built from the flushed rows before the transaction commits."""
    data = TranscriptInput(
        text=body.text, turns=[t.model_dump() for t in body.turns] if body.turns is not None else None,
        title=body.title, participant_id=body.participant_id, role=body.role, site=body.site,
        trial_arm=body.trial_arm, extra=body.extra, speaker_roles=dict(body.speaker_roles),
        default_speaker=body.default_speaker, code_interviewer=body.code_interviewer, deidentify=body.deidentify,
        options=SuggestOptions(body.codebook, body.top_k, body.threshold, body.context))
    transcript, run = coder.code_transcript(session, data, who=user, commit=False)
    out = transcript_out(transcript, run, store.run_suggestions(session, run_id=run.id))
    return commit_rendered(session, out, 201)


@router.post("", status_code=201, response_model=TranscriptOut, responses=ERRORS)
def post_transcript(body: TranscriptIn, user: CoderUser, session: SessionDep, coder: CoderDep) -> Response:
    """Store a transcript, split it into sentences and suggest codes for every participant sentence."""
    return _code(body, session, coder, user)


@router.post("/plain", status_code=201, response_model=TranscriptOut, responses=ERRORS,
             openapi_extra={"requestBody": {"required": True,
                                            "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def post_plain_transcript(
    request: Request, user: CoderUser, session: SessionDep, coder: CoderDep,
    title: str | None = None, participant_id: str | None = None, role: Role | None = None,
    site: str | None = None, trial_arm: str | None = None, codebook: str | None = None,
    top_k: Annotated[int | None, Query(ge=1, le=50)] = None,
    threshold: Annotated[float | None, Query(ge=0, le=1)] = None,
    context: Annotated[int, Query(ge=0, le=5)] = 0,
    code_interviewer: bool = False, default_speaker: str | None = None,
    deidentify: Annotated[bool | None, Query(description="replace names, places, dates and ids with placeholders "
                                                          "(default: AUTOCODER_DEIDENTIFY)")] = None,
) -> Response:
    """The same, for a plain-text body (e.g. `curl --data-binary @interview.txt`); metadata in the query."""
    text = await read_text_body(request)
    try:
        body = TranscriptIn(text=text, title=title, participant_id=participant_id, role=role, site=site,
                            trial_arm=trial_arm, codebook=codebook, top_k=top_k, threshold=threshold,
                            context=context, code_interviewer=code_interviewer, default_speaker=default_speaker,
                            deidentify=deidentify)
    except ValidationError as exc:
        problems = [{k: v for k, v in e.items() if k not in ("input", "ctx")} for e in exc.errors(include_url=False)]
        raise InvalidInput("invalid transcript parameters", problems) from None
    # Segmenting and encoding are CPU work: in a worker thread, so the event loop keeps answering others.
    return await run_in_threadpool(_code, body, session, coder, user)


@router.post("/import", status_code=201, response_model=ImportOut, responses=ERRORS)
async def import_transcripts(
    user: CoderUser, session: SessionDep, coder: CoderDep,
    files: Annotated[list[UploadFile], File(description="Transcripts: .txt .docx .vtt .srt .csv .jsonl, or a .zip")],
    codebook: Annotated[str | None, Form()] = None, participant_id: Annotated[str | None, Form()] = None,
    role: Annotated[Role | None, Form()] = None, site: Annotated[str | None, Form()] = None,
    trial_arm: Annotated[str | None, Form()] = None, code_interviewer: Annotated[bool, Form()] = False,
    deidentify: Annotated[bool | None, Form(description="replace names, places, dates and ids with placeholders "
                                                         "(default: AUTOCODER_DEIDENTIFY)")] = None,
    name_pattern: Annotated[str | None, Form(max_length=300, description=(
        "per-file metadata from the file names, e.g. '{participant}_{role}.docx' (fields participant, role, "
        "site, arm; roles as names or labels such as PW, SP)"))] = None,
    speaker_roles: Annotated[str | None, Form(max_length=20_000, description=(
        'speaker label -> role for every file, as a JSON object: {"R": "interviewer"}'))] = None,
    manifest: Annotated[UploadFile | None, File(description=(
        "per-file metadata: a .csv or .jsonl with a 'file' column (the uploaded name) and participant, role, "
        "site, arm, title; other columns are kept as extra"))] = None,
) -> Response:
    """Upload files (multipart); every transcript in them is coded and stored, or none is: the error lists
    each unreadable file with the line. Metadata: each file's own, over its manifest row or name, over the
    participant_id, role, site and trial_arm fields (for every file)."""
    uploads = [(f.filename or "upload", await f.read()) for f in files]
    metadata = {k: v for k, v in dict(participant_id=participant_id, role=role, site=site,
                                      trial_arm=trial_arm).items() if v is not None}
    listed = (manifest.filename or "manifest.csv", await manifest.read()) if manifest is not None else None

    def work() -> Response:  # reading, segmenting and encoding are CPU work: off the event loop
        per_file = imports.per_file(coder.settings, name_pattern, listed)
        result = import_files(session, user, coder, uploads, SuggestOptions(codebook), metadata, code_interviewer,
                              commit=False, deidentify=deidentify, per_file=per_file,
                              speaker_roles=imports.speaker_map(speaker_roles))
        out = ImportOut(transcripts=[summary_out(t, len(t.segments)) for t, _ in result.stored],
                        skipped=result.skipped)
        return commit_rendered(session, out, 201)

    return await run_in_threadpool(work)


@router.get("", response_model=TranscriptPage)
def list_transcripts(_: Viewer, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0) -> TranscriptPage:
    total, rows = store.list_transcripts(session, limit=limit, offset=offset)
    return TranscriptPage(total=total, items=[summary_out(t, len(t.segments)) for t in rows])


@router.get("/{transcript_id}", response_model=TranscriptOut, responses={404: {"model": ErrorOut}})
def get_transcript(transcript_id: Id, user: Viewer, session: SessionDep, coder: CoderDep) -> TranscriptOut:
    """A transcript, its text and every segment, with suggestions at or over the run's threshold."""
    return get_suggestions(transcript_id, user, session, coder)


@router.get("/{transcript_id}/suggestions", response_model=TranscriptOut, responses={404: {"model": ErrorOut}})
def get_suggestions(
    transcript_id: Id, user: Viewer, session: SessionDep, coder: CoderDep, code: str | None = None,
    role: Role | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=1, description="default: the run's threshold")] = None,
) -> TranscriptOut:
    """A transcript's segments with their current suggestions, filtered by code, role and score, and the codes
    your own confirmed sentences give its sentences (`confirmed`; computed for you, never stored)."""
    transcript = store.get_transcript(session, transcript_id=transcript_id)
    if transcript is None:
        raise NotFound(f"no transcript with id {transcript_id}")
    run = store.current_run(session, transcript_id=transcript_id)
    suggestions = store.run_suggestions(session, run_id=run.id) if run else []
    return transcript_out(transcript, run, suggestions, min_score=min_score, code=code, role=role,
                          confirmed=coder.near_confirmed(session, transcript, run, user))


@router.post("/{transcript_id}/runs", status_code=201, response_model=TranscriptOut,
             responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def resuggest(transcript_id: Id, body: RunIn, user: CoderUser, session: SessionDep,
              coder: CoderDep) -> TranscriptOut:
    """Suggest again (another codebook, threshold or context) from the stored embeddings; earlier runs are kept."""
    transcript, run = coder.resuggest(session, transcript_id,
                                      SuggestOptions(body.codebook, body.top_k, body.threshold, body.context),
                                      who=user)
    return transcript_out(transcript, run, store.run_suggestions(session, run_id=run.id))


def edit_record(row) -> TranscriptEditRecord:
    return TranscriptEditRecord(id=row.id, transcript_id=row.transcript_id, edited_by=row.edited_by_name,
                                changes=row.changes, created_at=row.created_at)


@router.patch("/{transcript_id}", response_model=TranscriptEditOut,
              responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def edit_transcript(transcript_id: Id, body: TranscriptEditIn, user: Viewer, session: SessionDep,
                    coder: CoderDep) -> TranscriptEditOut:
    """Edit a transcript's metadata (adjudicators and admins): participant_id, role, site, trial_arm, title and
    the speaker -> role map. Each change is an audit row (GET /transcripts/{id}/edits). A new map or
    participant role re-derives the sentences' roles; decisions are kept, and `notes` say which suggestions
    that left stale (a new run refreshes them)."""
    result = managed.edit(session, coder.settings, user, transcript_id, body.model_dump(exclude_unset=True))
    t = result.transcript
    return TranscriptEditOut(
        transcript=summary_out(t, len(t.segments)), edit=edit_record(result.edit) if result.edit else None,
        roles_changed=result.roles_changed, now_coded=result.now_coded, now_skipped=result.now_skipped,
        decisions_kept=result.decisions_kept, stale=bool(result.now_coded or result.now_skipped),
        notes=result.notes)


@router.get("/{transcript_id}/edits", response_model=list[TranscriptEditRecord],
            responses={404: {"model": ErrorOut}})
def list_edits(transcript_id: Id, _: Viewer, session: SessionDep) -> list[TranscriptEditRecord]:
    """The transcript's metadata edits, oldest first: who changed which field from what to what."""
    return [edit_record(row) for row in managed.edits(session, transcript_id)]
