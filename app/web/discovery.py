"""The discovery pages under /ui: the runs, and per run its candidate new codes with their quotes, sizes by
role, nearest codes and stability, its 2-D map, and forms to name and define a candidate, dismiss it (with a
reason), merge candidates, or promote one into a codebook. The same service and roles as the JSON API
(app/services/discovery.py); posts are htmx requests from our own pages (HX-Request header, same origin,
SameSite cookie), as on the review page, and answer by refreshing the page (or with the error)."""

import html
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import SessionDep
from app.api.routes.discovery import DiscovererDep
from app.api.schemas.common import Id
from app.db import discovery as db
from app.errors import AutocoderError, Forbidden, InvalidInput, status_of
from app.services import accounts, discovery_plot
from app.services.discovery import DiscoveryFilters, check_params
from app.web.routes import SameOrigin, WebUser, templates

router = APIRouter(prefix="/ui", include_in_schema=False)


def _require_htmx(request: Request) -> None:
    if not request.headers.get("HX-Request"):
        raise Forbidden("discovery decisions from the page are sent by its script (HX-Request header)")


def _refresh() -> Response:
    return Response(status_code=204, headers={"HX-Refresh": "true"})


def _error(exc: AutocoderError) -> Response:
    status = status_of(exc)
    return HTMLResponse(f'<p class="error" role="alert">{html.escape(exc.message)}</p>', status_code=status)


@router.get("/discovery", response_class=HTMLResponse)
def runs(request: Request, user: WebUser, session: SessionDep) -> Response:
    accounts.require(user, "adjudicator")
    return templates.TemplateResponse(request, "discovery_list.html", {"user": user, "runs": db.list_runs(session)})


@router.post("/discovery", dependencies=[SameOrigin])
def start(request: Request, user: WebUser, session: SessionDep, discoverer: DiscovererDep,
          role: Annotated[str, Form()] = "", site: Annotated[str, Form()] = "", arm: Annotated[str, Form()] = "",
          codebook: Annotated[str, Form()] = "", kinds: Annotated[str, Form()] = "") -> Response:
    _require_htmx(request)
    try:
        for field, value, most in (("site", site, 100), ("arm", arm, 100), ("codebook", codebook, 200)):
            if len(value) > most:
                raise InvalidInput(f"{field} must be at most {most} characters")
        filters = DiscoveryFilters(codebook=codebook.strip() or None, role=role or None, site=site.strip() or None,
                                   arm=arm.strip() or None,
                                   **({"kinds": tuple(k for k in kinds.split(",") if k)} if kinds else {}))
        run = discoverer.request(session, user, filters, check_params({}))
    except AutocoderError as exc:
        return _error(exc)
    discoverer.submit(run.id)
    return Response(status_code=204, headers={"HX-Redirect": f"/ui/discovery/{run.id}"})


@router.get("/discovery/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: Id, user: WebUser, session: SessionDep, discoverer: DiscovererDep) -> Response:
    accounts.require(user, "adjudicator")
    run = discoverer.get(session, run_id)
    candidates = db.candidates(session, run_id=run_id)
    quote_ids = [s for c in candidates for s in c.quotes]
    texts = db.segment_texts(session, ids=quote_ids)
    return templates.TemplateResponse(request, "discovery.html", {
        "user": user, "run": run, "candidates": candidates, "texts": texts,
        "names": db.transcript_names(session, ids=[t for t, _, _ in texts.values()]),
        "can_promote": accounts.allows(user.role, "admin"),
        "open_numbers": [c.number for c in candidates if c.status == "open"]})


@router.get("/discovery/{run_id}/map.{fmt}")
def run_map(run_id: Id, fmt: str, user: WebUser, session: SessionDep, discoverer: DiscovererDep) -> Response:
    accounts.require(user, "adjudicator")
    run = discoverer.get(session, run_id)
    content, media = discovery_plot.image(run, db.candidates(session, run_id=run_id), fmt)
    return Response(content, media_type=media)


@router.post("/discovery/{run_id}/candidates/{number}", dependencies=[SameOrigin])
def act(request: Request, run_id: Id, number: Id, user: WebUser, session: SessionDep, discoverer: DiscovererDep,
        action: Annotated[str, Form()], name: Annotated[str, Form()] = "", definition: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "", codebook: Annotated[str, Form()] = "",
        code_id: Annotated[str, Form()] = "", recode: Annotated[str, Form()] = "") -> Response:
    """One decision on a candidate: edit (name, definition), dismiss, reopen, promote."""
    _require_htmx(request)
    try:
        if action == "edit":
            discoverer.edit(session, user, run_id, number, name=name or None, definition=definition)
        elif action == "dismiss":
            discoverer.dismiss(session, user, run_id, number, reason)
        elif action == "reopen":
            discoverer.reopen(session, user, run_id, number)
        elif action == "promote":
            # The form's name and definition go with the promotion: kept only when it succeeds.
            discoverer.promote(session, user, run_id, number, codebook=codebook.strip() or None,
                               code_id=code_id.strip() or None, label=name.strip() or None,
                               definition=definition.strip() or None)
            if recode:
                row = discoverer.request_recode(session, user, run_id, number)
                discoverer.submit_recode(row.id)
        else:
            raise InvalidInput(f"unknown action {action!r}")
    except AutocoderError as exc:
        session.rollback()
        return _error(exc)
    return _refresh()


@router.post("/discovery/{run_id}/merge", dependencies=[SameOrigin])
def merge(request: Request, run_id: Id, user: WebUser, session: SessionDep, discoverer: DiscovererDep,
          candidates: Annotated[list[int] | None, Form()] = None, name: Annotated[str, Form()] = "") -> Response:
    _require_htmx(request)
    try:  # no box ticked sends no field: the service's message says to tick two, not a JSON validation error
        if any(not 1 <= n <= 100_000 for n in candidates or []):
            raise InvalidInput("candidate numbers run from 1 to 100,000")
        discoverer.merge(session, user, run_id, candidates or [], name or None)
    except AutocoderError as exc:
        session.rollback()
        return _error(exc)
    return _refresh()
