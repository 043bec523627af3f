"""The adjudication pages under /ui: a list of the transcripts two or more coders coded, with what is left to
resolve, and per transcript every coder's codes side by side with the consensus, where an adjudicator takes
a coder's code, adds or removes one, or notes why. The same services, roles and blind-coding rule as the JSON
API (app/services/consensus.py); posts are htmx requests from our own pages (HX-Request header, same origin,
SameSite cookie), as on the review page."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import CoderDep, ReviewDep, SessionDep
from app.api.schemas.common import Id
from app.db import store
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, status_of
from app.services import accounts, consensus
from app.web import picker, views
from app.web.routes import SameOrigin, WebUser, templates

router = APIRouter(prefix="/ui", include_in_schema=False)


def _labels(session, coder, transcript_id: int) -> tuple[dict[str, str], list]:
    """code id -> label, and the picker's choices, from the codebook the transcript was suggested with."""
    run = store.current_run(session, transcript_id=transcript_id)
    choices = picker.choices(views.codebook_for(session, coder, run))
    return picker.label_of(choices), choices


@router.get("/adjudication", response_class=HTMLResponse)
def overview(request: Request, user: WebUser, session: SessionDep, review: ReviewDep) -> Response:
    scope = review.scope(user)
    scope.require_everyone("adjudication")
    ids = sorted({d.transcript_id for d in scope.decisions(session)})
    views_ = [consensus.adjudication(session, scope, tid, context=False) for tid in ids]
    return templates.TemplateResponse(request, "adjudication_list.html", {
        "user": user, "transcripts": [v for v in views_ if len(v.coders) >= 2]})


@router.get("/transcripts/{transcript_id}/adjudication", response_class=HTMLResponse)
def page(request: Request, transcript_id: Id, user: WebUser, session: SessionDep, review: ReviewDep,
         coder: CoderDep, unresolved: str = "") -> Response:
    view = consensus.adjudication(session, review.scope(user), transcript_id)
    labels, choices = _labels(session, coder, transcript_id)
    rows = view.unresolved if unresolved else view.rows
    return templates.TemplateResponse(request, "adjudication.html", {
        "user": user, "view": view, "rows": rows, "only_unresolved": bool(unresolved), "labels": labels,
        "codes": choices, "can_adjudicate": accounts.allows(user.role, "adjudicator"),
        "agreed_open": sum(1 for r in view.rows if r.agreed and not r.decided and any(r.coders.values()))})


def _require_htmx(request: Request) -> None:
    if not request.headers.get("HX-Request"):
        raise Forbidden("consensus decisions from the page are sent by its script (HX-Request header)")


@router.post("/transcripts/{transcript_id}/consensus", response_class=HTMLResponse, dependencies=[SameOrigin])
def decide(request: Request, transcript_id: Id, user: WebUser, session: SessionDep, review: ReviewDep,
           coder: CoderDep, segment_id: Annotated[Id, Form()], action: Annotated[str, Form()],
           end_segment_id: Annotated[Id | None, Form()] = None, code: Annotated[str, Form()] = "",
           memo: Annotated[str, Form()] = "") -> Response:
    """One consensus decision from the page; answers with the row as it now stands (or with the error)."""
    _require_htmx(request)
    error, status = None, 200
    try:
        # The code box takes a number, "1.2 Problem solving" from the list, or words, as the review picker does.
        chosen = picker.resolve(_labels(session, coder, transcript_id)[1], code) if code.strip() else None
        item = consensus.ConsensusInput(segment_id, action, chosen, end_segment_id, memo or None)
        consensus.record(session, user, transcript_id, [item])
    except (Conflict, InvalidInput, Forbidden, NotFound) as exc:
        session.rollback()
        error = exc.message
        status = status_of(exc)
    view = consensus.adjudication(session, review.scope(user), transcript_id)
    matching = [r for r in view.rows if (r.segment_id, r.end_segment_id) == (segment_id, end_segment_id)]
    if not matching:  # a refused span that never became a row: show the error on the sentence it starts at
        matching = [r for r in view.rows if r.segment_id == segment_id][:1]
    if not matching:
        raise NotFound(f"no sentence {segment_id} in transcript {transcript_id}")
    labels, _ = _labels(session, coder, transcript_id)
    return templates.TemplateResponse(request, "_adjudication_row.html", {
        "row": matching[0], "view": view, "labels": labels, "error": error,
        "can_adjudicate": accounts.allows(user.role, "adjudicator"),
        "oob_unresolved": len(view.unresolved)}, status_code=status)


@router.post("/transcripts/{transcript_id}/consensus/agreed", dependencies=[SameOrigin])
def take_agreed(request: Request, transcript_id: Id, user: WebUser, session: SessionDep,
                review: ReviewDep) -> Response:
    _require_htmx(request)
    consensus.take_agreed(session, user, review.scope(user), transcript_id)
    return Response(status_code=204, headers={"HX-Refresh": "true"})


@router.post("/transcripts/{transcript_id}/consensus/finished", dependencies=[SameOrigin])
def finished(request: Request, transcript_id: Id, user: WebUser, session: SessionDep, review: ReviewDep,
             done: Annotated[str, Form()] = "true", unresolved_ok: Annotated[str, Form()] = "") -> Response:
    """The page asks the adjudicator to confirm (listing the unresolved sentences) before it sends
    unresolved_ok."""
    _require_htmx(request)
    try:
        consensus.finish(session, user, review.scope(user), transcript_id, finished=done == "true",
                         unresolved_ok=unresolved_ok == "true")
    except Conflict as exc:  # rows still unresolved: say which (as they are now) and ask before finishing
        return templates.TemplateResponse(request, "_finish_refused.html", {
            "message": exc.message, "transcript_id": transcript_id}, status_code=409)
    return Response(status_code=204, headers={"HX-Refresh": "true"})
