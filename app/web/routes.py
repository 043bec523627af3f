"""The browser pages under /ui. Sign-in stores the API token in an HttpOnly, SameSite=Strict cookie;
every page and decision then acts as that user through the same services, roles and rules as the JSON API
(a stale decision is refused with 409 here too). Decisions are posted by htmx, which sends an HX-Request
header: a cross-site form cannot, so requiring it (with the SameSite cookie) keeps other sites from
deciding in a coder's name. Every form post (sign-in and sign-out included, which have no cookie to protect
them) is also refused when the browser says it comes from another site (Sec-Fetch-Site, or Origin); the
"Mark transcript finished" button is such a plain form, guarded by that check and the SameSite cookie.

Long transcripts are shown TURNS_PER_PAGE turns at a time; the team's progress (/ui/progress) reads other
coders' work, so it goes through Visibility like every other such read."""

from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.api.deps import CoderDep, QueueDep, ReviewDep, SessionDep
from app.api.schemas.common import MAX_ID, Id
from app.db import store
from app.db.tables import User
from app.errors import AutocoderError, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized, status_of
from app.services import accounts, progress
from app.services.review import DecisionInput
from app.web import picker, views

COOKIE = "autocoder_token"
PAGE = 50
TURNS_PER_PAGE = 20  # a long interview is read a window of turns at a time, not as one endless page
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["marked"] = views.marked  # transcription markers shown muted
router = APIRouter(prefix="/ui", include_in_schema=False)


class SignInRequired(Exception):
    """No valid token cookie: pages redirect to the sign-in page."""


def web_user(request: Request, session: SessionDep) -> User:
    try:
        return accounts.authenticate(session, request.cookies.get(COOKIE))
    except Unauthorized:
        raise SignInRequired() from None


WebUser = Annotated[User, Depends(web_user)]


def sign_in_redirect(request: Request) -> Response:
    target = "/ui/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if request.headers.get("HX-Request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def same_origin(request: Request) -> None:
    """Refuse a cross-site form post (CSRF): by the browser's Sec-Fetch-Site, else by Origin against our own
    address. Clients that send neither (curl, scripts) are not browsers carrying someone's cookie."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise Forbidden("this form can only be sent from the service's own pages")
    origin = request.headers.get("origin")
    # Host only, not scheme: behind a TLS-terminating proxy the service sees http for an https page.
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", request.url.netloc):
        raise Forbidden("this form can only be sent from the service's own pages")


SameOrigin = Depends(same_origin)


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/ui") and not value.startswith("//") else "/ui/transcripts"


@router.get("", response_class=HTMLResponse)
def home() -> Response:
    return RedirectResponse("/ui/transcripts", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse, dependencies=[SameOrigin])
def login(request: Request, session: SessionDep, token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "") -> Response:
    try:
        accounts.authenticate(session, token.strip())
    except Unauthorized as exc:
        return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": exc.message},
                                          status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/ui")
    return response


@router.post("/logout", dependencies=[SameOrigin])
def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


@router.get("/transcripts", response_class=HTMLResponse)
def transcripts(request: Request, user: WebUser, session: SessionDep,
                page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
    page = max(page, 1)
    total, rows = views.transcript_rows(session, user, PAGE, (page - 1) * PAGE)
    marks = progress.finished_coders(session, [r.transcript.id for r in rows])
    return templates.TemplateResponse(request, "transcripts.html", {
        "user": user, "rows": rows, "page": page, "pages": max(1, -(-total // PAGE)), "total": total,
        "finished": {tid for tid, coders in marks.items() if user.id in coders}})


@router.get("/transcripts/{transcript_id}", response_class=HTMLResponse)
def transcript(request: Request, transcript_id: Id, user: WebUser, session: SessionDep, review: ReviewDep,
               coder: CoderDep, code: str = "", group: str = "", role: str = "", min_score: str = "",
               page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
               segment: Annotated[Id | None, Query(description="show the page holding this sentence")] = None,
               ) -> Response:
    found = store.get_transcript(session, transcript_id=transcript_id)
    if found is None:
        raise NotFound(f"no transcript with id {transcript_id}")
    try:
        floor = float(min_score) if min_score.strip() else None
    except ValueError:
        raise InvalidInput(f"min score {min_score!r} is not a number") from None
    filters = views.Filters(code.split(" ")[0].strip(), group, role, floor)
    segs = views.segment_views(session, review, user, found, min_score=floor, coder=coder)
    run = segs[0].run if segs else None
    options = picker.choices(views.codebook_for(session, coder, run))
    codable = [v for v in segs if v.codable]
    shown = views.window(views.turns_of(segs, filters), TURNS_PER_PAGE, page, segment)
    return templates.TemplateResponse(request, "transcript.html", {
        "user": user, "transcript": found, "window": shown, "run": run, "filters": filters,
        "codes": [(c.id, c.label, c.group) for c in options], "code_labels": picker.label_of(options),
        "picker_json": [c.as_json() for c in options], "groups": sorted({c.group for c in options if c.group}),
        "progress": views.progress(codable), "can_decide": accounts.allows(user.role, "coder"),
        "finished": user.id in progress.finished_coders(session, [found.id]).get(found.id, set())})


def _segment_fragment(request: Request, session, review, coder, user: User, segment_id: int,
                      error: str | None = None, status: int = 200, kept_open: bool = False) -> Response:
    segment_transcript = review.segment_transcript(session, segment_id)
    found = store.get_transcript(session, transcript_id=segment_transcript)
    everything = views.segment_views(session, review, user, found, coder=coder)
    (view,) = [v for v in everything if v.segment.id == segment_id]
    view.error, view.kept_open = error, kept_open
    codable = [v for v in everything if v.codable]
    options = picker.choices(views.codebook_for(session, coder, view.run))
    return templates.TemplateResponse(request, "_segment.html", {
        "view": view, "code_labels": picker.label_of(options),
        "can_decide": accounts.allows(user.role, "coder"), "oob_progress": views.progress(codable)},
        status_code=status)


@router.post("/segments/{segment_id}/decide", response_class=HTMLResponse, dependencies=[SameOrigin])
def decide(request: Request, segment_id: Id, user: WebUser, session: SessionDep, review: ReviewDep,
           coder: CoderDep, action: Annotated[str, Form()], suggestion_id: Annotated[Id | None, Form()] = None,
           code: Annotated[str, Form()] = "", run_id: Annotated[Id | None, Form()] = None,
           memo: Annotated[str, Form()] = "", end_segment_id: Annotated[str, Form(max_length=20)] = "",
           keep_open: Annotated[bool, Form()] = False) -> Response:
    if not request.headers.get("HX-Request"):
        raise Forbidden("decisions from the page are sent by its script (HX-Request header)")
    try:
        code_id = None
        if code.strip() and action in ("change", "add"):  # typed in the picker: a number, a label or words
            run = store.current_run(session, transcript_id=review.segment_transcript(session, segment_id))
            code_id = picker.resolve(picker.choices(views.codebook_for(session, coder, run)), code)
        # The add form's "through sentence N": the code covers a passage (a span) from here to that sentence.
        end = end_segment_id.strip()
        if end and (not end.isdigit() or int(end) > MAX_ID):
            raise InvalidInput("the passage's last sentence is a sentence id")
        item = DecisionInput(segment_id, action, suggestion_id, code_id, memo if action == "memo" else None, run_id,
                             int(end) if end else None)
        review.decide(session, user, [item])
    except (Conflict, InvalidInput, Forbidden) as exc:  # NotFound (no such sentence) answers 404 as everywhere
        session.rollback()
        status = status_of(exc)
        return _segment_fragment(request, session, review, coder, user, segment_id, exc.message, status,
                                 kept_open=True)
    # A memo, or a decision on a sentence the coder reopened, leaves it open; otherwise it collapses to its codes.
    return _segment_fragment(request, session, review, coder, user, segment_id,
                             kept_open=keep_open or action == "memo")


@router.post("/transcripts/{transcript_id}/finished", dependencies=[SameOrigin])
def mark_finished(transcript_id: Id, user: WebUser, session: SessionDep,
                  finished: Annotated[bool, Form()] = True,
                  page: Annotated[int, Form(ge=1, le=1_000_000)] = 1) -> Response:
    """The coder marks their coding of the transcript finished, or reopens it (a form post; back to the page)."""
    progress.mark(session, user, transcript_id, finished=finished)
    return RedirectResponse(f"/ui/transcripts/{transcript_id}?page={page}", status_code=303)


@router.get("/progress", response_class=HTMLResponse)
def team_progress(request: Request, user: WebUser, session: SessionDep, review: ReviewDep,
                  page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
    total, transcripts = store.list_transcripts(session, limit=PAGE, offset=(page - 1) * PAGE)
    team = progress.team_progress(session, review.scope(user), [t.id for t in transcripts])
    return templates.TemplateResponse(request, "progress.html", {
        "user": user, "transcripts": transcripts, "team": team, "page": page,
        "pages": max(1, -(-total // PAGE)), "total": total})


@router.get("/codebook", response_class=HTMLResponse)
def codebook(request: Request, user: WebUser, session: SessionDep, coder: CoderDep, name: str = "") -> Response:
    book, _ = coder.index_for(session, name or None)
    groups: dict[str, list] = {}
    for code in book.leaves:
        group = book.group_of(code)
        groups.setdefault(f"{group.id} {group.label}" if group else "Codes", []).append(code)
    return templates.TemplateResponse(request, "codebook.html", {
        "user": user, "book": book, "groups": groups, "names": coder.catalog.names(session)})


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, user: WebUser, session: SessionDep, queue: QueueDep) -> Response:
    items = queue.next_for(session, user, limit=20) if accounts.allows(user.role, "coder") else []
    return templates.TemplateResponse(request, "queue.html", {"user": user, "items": items})


def page_error(request: Request, exc: AutocoderError, status: int) -> Response:
    return templates.TemplateResponse(request, "error.html", {"message": exc.message}, status_code=status)
