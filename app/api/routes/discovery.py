"""Inductive discovery: start a run in the background, read its candidates and 2-D map, and name, dismiss,
merge or promote candidates (app/services/discovery.py)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.api.deps import Admin, SessionDep, role
from app.api.media import PNG, SVG, answers
from app.api.schemas.common import MAX_ID, ErrorOut, Id
from app.api.schemas.discovery import (
    CandidateEditIn,
    CandidateOut,
    CandidateSentencesOut,
    DiscoveryIn,
    DiscoveryRunOut,
    DismissIn,
    MergeIn,
    PromoteIn,
    QuoteOut,
)
from app.db import accounts
from app.db import discovery as db
from app.db.tables import DiscoveryCandidate, DiscoveryRun, User
from app.services import discovery_plot
from app.services.discovery import TUNABLE, Discoverer, DiscoveryFilters, check_params

router = APIRouter(prefix="/discovery", tags=["discovery"])
ERRORS = {403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}}
Adjudicator = Annotated[User, Depends(role("adjudicator"))]


def get_discoverer(request: Request) -> Discoverer:
    return request.app.state.discoverer


DiscovererDep = Annotated[Discoverer, Depends(get_discoverer)]


def _names(session: SessionDep, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    return {i: u.name for i, u in accounts.users_by_id(session, ids=ids).items()} if ids else {}


def candidate_out(session: SessionDep, row: DiscoveryCandidate, names: dict[int, str] | None = None) -> CandidateOut:
    texts = db.segment_texts(session, ids=row.quotes)
    names = names if names is not None else _names(session, {row.updated_by})
    return CandidateOut(
        number=row.number, status=row.status, label=row.label, name=row.name, definition=row.definition,
        size=row.size, by_role=row.by_role, by_transcript=row.by_transcript, terms=row.terms,
        quotes=[QuoteOut(segment_id=s, transcript_id=texts[s][0], role=texts[s][1], text=texts[s][2])
                for s in row.quotes if s in texts],
        exemplars=row.exemplars, nearest_codes=row.nearest_codes, stability=row.stability,
        merged_from=row.merged_from, merged_into=row.merged_into, reason=row.reason,
        promoted_codebook=row.promoted_codebook, promoted_version=row.promoted_version,
        promoted_code=row.promoted_code,
        recode={k: v for k, v in row.recode.items() if k != "transcripts"} if row.recode else None,
        updated_by=names.get(row.updated_by), updated_at=row.updated_at)


def run_out(session: SessionDep, run: DiscoveryRun, with_candidates: bool = False) -> DiscoveryRunOut:
    candidates = None
    if with_candidates:
        rows = db.candidates(session, run_id=run.id)
        names = _names(session, {r.updated_by for r in rows})
        candidates = [candidate_out(session, r, names) for r in rows]
    return DiscoveryRunOut(
        id=run.id, status=run.status, stage=run.stage, progress=run.progress, codebook=run.codebook_name,
        model_id=run.model_id, filters=run.filters, params=run.params, units=run.units, summary=run.summary,
        message=run.message, created_by=_names(session, {run.created_by}).get(run.created_by),
        created_at=run.created_at, finished_at=run.finished_at, candidates=candidates)


@router.post("", status_code=202, response_model=DiscoveryRunOut, responses=ERRORS)
def start_run(body: DiscoveryIn, user: Adjudicator, session: SessionDep,
              discoverer: DiscovererDep) -> DiscoveryRunOut:
    """Cluster the sentences no code explains well, in the background; poll GET /discovery/{id}."""
    params = check_params(body.model_dump(include=set(TUNABLE)))
    filters = DiscoveryFilters(codebook=body.codebook, role=body.role, site=body.site, arm=body.arm,
                               transcripts=tuple(body.transcripts) if body.transcripts else None,
                               **({"kinds": tuple(dict.fromkeys(body.kinds))} if body.kinds else {}))
    run = discoverer.request(session, user, filters, params)
    discoverer.submit(run.id)
    return run_out(session, run)


@router.get("", response_model=list[DiscoveryRunOut])
def list_runs(_: Adjudicator, session: SessionDep) -> list[DiscoveryRunOut]:
    """Every run, newest first (without candidates)."""
    return [run_out(session, run) for run in db.list_runs(session)]


@router.get("/{run_id}", response_model=DiscoveryRunOut, responses=ERRORS)
def get_run(run_id: Id, _: Adjudicator, session: SessionDep, discoverer: DiscovererDep) -> DiscoveryRunOut:
    """A run's progress and, once done, its candidates with their quotes."""
    return run_out(session, discoverer.get(session, run_id), with_candidates=True)


@router.get("/{run_id}/map.{fmt}", responses={**ERRORS, **answers(PNG, SVG)})
def run_map(run_id: Id, fmt: Literal["png", "svg"], _: Adjudicator, session: SessionDep,
            discoverer: DiscovererDep) -> Response:
    """The 2-D map of the run's sentences, coloured by candidate (PNG or SVG)."""
    run = discoverer.get(session, run_id)
    content, media = discovery_plot.image(run, db.candidates(session, run_id=run_id), fmt)
    return Response(content, media_type=media)


@router.get("/{run_id}/candidates/{number}", response_model=CandidateSentencesOut, responses=ERRORS)
def candidate_sentences(run_id: Id, number: Id, _: Adjudicator, session: SessionDep, discoverer: DiscovererDep,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                        offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> CandidateSentencesOut:
    """A candidate and its sentences, a page at a time (in the order they were clustered)."""
    row = discoverer.candidate(session, run_id, number)
    page = row.members[offset:offset + limit]
    texts = db.segment_texts(session, ids=page)
    return CandidateSentencesOut(candidate=candidate_out(session, row), total=len(row.members), offset=offset,
                                 sentences=[QuoteOut(segment_id=s, transcript_id=texts[s][0], role=texts[s][1],
                                                     text=texts[s][2]) for s in page if s in texts])


@router.patch("/{run_id}/candidates/{number}", response_model=CandidateOut, responses=ERRORS)
def edit_candidate(run_id: Id, number: Id, body: CandidateEditIn, user: Adjudicator, session: SessionDep,
                   discoverer: DiscovererDep) -> CandidateOut:
    """Name a candidate, write its definition, pick its exemplar sentences (segment ids among its members)."""
    row = discoverer.edit(session, user, run_id, number, name=body.name, definition=body.definition,
                          exemplars=body.exemplars)
    return candidate_out(session, row)


@router.post("/{run_id}/candidates/{number}/dismiss", response_model=CandidateOut, responses=ERRORS)
def dismiss_candidate(run_id: Id, number: Id, body: DismissIn, user: Adjudicator, session: SessionDep,
                      discoverer: DiscovererDep) -> CandidateOut:
    """Dismiss a candidate; the reason is kept."""
    return candidate_out(session, discoverer.dismiss(session, user, run_id, number, body.reason))


@router.post("/{run_id}/candidates/{number}/reopen", response_model=CandidateOut, responses=ERRORS)
def reopen_candidate(run_id: Id, number: Id, user: Adjudicator, session: SessionDep,
                     discoverer: DiscovererDep) -> CandidateOut:
    """Undo a dismissal."""
    return candidate_out(session, discoverer.reopen(session, user, run_id, number))


@router.post("/{run_id}/merge", status_code=201, response_model=CandidateOut, responses=ERRORS)
def merge_candidates(run_id: Id, body: MergeIn, user: Adjudicator, session: SessionDep,
                     discoverer: DiscovererDep) -> CandidateOut:
    """Merge open candidates into a new one; the merged ones are kept, marked merged into it."""
    return candidate_out(session, discoverer.merge(session, user, run_id, body.candidates, body.name))


@router.post("/{run_id}/candidates/{number}/promote", response_model=CandidateOut, responses=ERRORS)
def promote_candidate(run_id: Id, number: Id, body: PromoteIn, user: Admin, session: SessionDep,
                      discoverer: DiscovererDep) -> CandidateOut:
    """Make the candidate a code in a new version of a codebook; with recode, re-suggest every transcript
    coded with the run's codebook using the new version (in the background: see the candidate's recode)."""
    row, _ = discoverer.promote(session, user, run_id, number, codebook=body.codebook, code_id=body.code_id,
                                label=body.label, definition=body.definition, parent=body.parent,
                                parent_label=body.parent_label)
    if body.recode:
        row = discoverer.request_recode(session, user, run_id, number)
        discoverer.submit_recode(row.id)
    return candidate_out(session, row)


@router.post("/{run_id}/candidates/{number}/recode", status_code=202, response_model=CandidateOut, responses=ERRORS)
def recode_with_candidate(run_id: Id, number: Id, user: Admin, session: SessionDep,
                          discoverer: DiscovererDep) -> CandidateOut:
    """Re-suggest every transcript coded with the run's codebook using the promoted codebook, in the background."""
    row = discoverer.request_recode(session, user, run_id, number)
    discoverer.submit_recode(row.id)
    return candidate_out(session, row)
