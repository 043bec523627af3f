"""The FastAPI application: create_app() wires settings, database, embedder and routes together."""

import gc
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.headers import SecurityHeaders
from app.api.limits import BodySizeLimit
from app.api.routes import (
    codebooks,
    consensus,
    discovery,
    health,
    jobs,
    models,
    privacy,
    queue,
    reports,
    review,
    suggest,
    transcripts,
    users,
)
from app.api.schemas.common import ErrorOut
from app.config import Settings, get_settings
from app.db.accounts import list_users
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory
from app.engine.embed import Embedder
from app.errors import AutocoderError, status_of
from app.services.codebooks import CodebookCatalog
from app.services.coding import Coder
from app.services.discovery import Discoverer
from app.services.embedders import make_embedder
from app.services.jobs import JobRunner
from app.services.learning import Learner
from app.services.queue import ReviewQueue
from app.services.review import Review
from app.web import adjudication as web_adjudication
from app.web import discovery as web_discovery
from app.web import routes as web


class ErrorJSON(JSONResponse):
    """An error body as ASCII JSON: a message quoting the request's text always encodes."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")



class WithoutQuery(logging.Filter):
    """Access log lines keep the path, never the query string: metadata sent as query parameters (a title, a
    participant id) must not outlive a deletion in a log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def database_busy(exc: OperationalError) -> bool:
    """SQLite's 'database is locked', or PostgreSQL's lock timeout, deadlock or serialization failure."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return "database is locked" in str(exc.orig) or code in ("55P03", "40P01", "40001")


def _quiet_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, WithoutQuery) for f in access.filters):
        access.addFilter(WithoutQuery())


@contextmanager
def still_working(say: logging.Logger, what: str, every: float = 15.0) -> Iterator[None]:
    """Log "still <what> (N s so far)" every `every` seconds until the block ends: a slow first start says
    what it is doing instead of sitting silent on "Waiting for application startup"."""
    done, started = threading.Event(), time.perf_counter()

    def beat() -> None:
        while not done.wait(every):
            say.info("still %s (%.0f s so far)", what, time.perf_counter() - started)

    thread = threading.Thread(target=beat, name="start-up heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    """Build the app; pass an embedder to share one loaded model between apps (as the tests do)."""
    settings = settings or get_settings()
    _quiet_access_log()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        upgrade(settings.database_url)
        engine = make_engine(settings.database_url, settings.db_busy_seconds)
        app.state.session_factory = make_session_factory(engine)
        say = logging.getLogger("uvicorn.error")
        if embedder is None:
            say.info("loading the encoder (%s); the first start on a machine also times its backends (about a "
                     "minute on a laptop; remembered for later starts)", settings.encoder)
        with still_working(say, "loading the encoder"):
            model = embedder or make_embedder(settings)
        if model.fallback:
            say.warning("%s", model.fallback)
        say.info("encoder: %s", model.describe())
        coder = Coder(settings, model, CodebookCatalog.from_settings(settings))
        with app.state.session_factory() as session:
            started = time.perf_counter()
            say.info("preparing codebook %s: its definitions and exemplars are encoded at the first start (up to "
                     "a few minutes on a laptop with the default encoder) and read from %s after",
                     settings.default_codebook, settings.cache_dir)
            with still_working(say, f"encoding codebook {settings.default_codebook}"):
                coder.index_for(session, settings.default_codebook)  # encode the default codebook once, now
            say.info("codebook %s ready in %.1f s (its vectors are cached in %s for the next start)",
                     settings.default_codebook, time.perf_counter() - started, settings.cache_dir)
            if not list_users(session):
                logging.getLogger("uvicorn.error").warning(
                    "no users yet: every request except /health needs an API token. Create the first admin "
                    "with `.venv/bin/autocoder users add NAME --role admin` (same DATABASE_URL).")
        app.state.coder = coder
        app.state.review = Review(blind=settings.blind_review)
        app.state.jobs = JobRunner(settings, coder, app.state.session_factory)
        app.state.jobs.start()
        app.state.learner = Learner(settings, coder, app.state.session_factory)
        app.state.learner.start()
        app.state.discoverer = Discoverer(settings, coder, app.state.session_factory)
        app.state.discoverer.start()
        app.state.queue = ReviewQueue()
        # The model and codebook vectors live as long as the process: move their ~600k objects out of the
        # garbage collector's sight, so full collections during a large request stop costing ~0.3 s each.
        gc.freeze()
        yield
        app.state.jobs.stop()
        app.state.learner.stop()
        app.state.discoverer.stop()
        engine.dispose()

    app = FastAPI(
        title="bct-autocoder",
        version="0.1.0",
        description="Suggest Behaviour Change Technique codes for interview transcripts.",
        lifespan=lifespan,
        responses={401: {"model": ErrorOut, "description": "No valid API token"},
                   403: {"model": ErrorOut, "description": "The user's role does not allow this"},
                   422: {"model": ErrorOut, "description": "Invalid request: the message and each problem"}},
    )

    @app.exception_handler(AutocoderError)
    async def domain_error(request: Request, exc: AutocoderError) -> Response:
        status = status_of(exc)
        if request.url.path.startswith("/ui/"):
            return web.page_error(request, exc, status)
        body = {"detail": exc.message}
        if exc.details:
            body["problems"] = exc.details
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return ErrorJSON(status_code=status, content=jsonable_encoder(body), headers=headers)

    @app.exception_handler(OperationalError)
    async def busy(request: Request, exc: OperationalError) -> Response:
        # Another write held the database past db_busy_seconds (a long deletion, a re-code): nothing was
        # written, and the same request will work once it is done. Anything else stays a 500.
        if not database_busy(exc):
            raise exc
        return ErrorJSON(status_code=503, headers={"Retry-After": "5"}, content={
            "detail": "the database is busy with another write; nothing was changed: try again in a few seconds"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI answers a JSON body it cannot parse for a reason other than bad syntax (bytes that are not
        # UTF-8, a number of more digits than Python converts) with a bare 400; the schema documents 422 for an
        # unreadable body, as bad syntax already gets.
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            return ErrorJSON(status_code=422, content={
                "detail": "invalid request: the body cannot be read as JSON (bytes that are not UTF-8 text, or a "
                          "number with too many digits)"})
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # The same shape as every other error (ErrorOut): a message, and the problems one by one. The offending
        # input is left out: it may be megabytes, or text no response can carry.
        problems = [{k: v for k, v in e.items() if k not in ("input", "ctx", "url")} for e in exc.errors()]
        where = [f"{'.'.join(map(str, p.get('loc', ())))}: {p.get('msg', '')}" for p in problems[:5]]
        return ErrorJSON(status_code=422, content={"detail": "invalid request: " + "; ".join(where),
                                                   "problems": jsonable_encoder(problems)})

    @app.exception_handler(web.SignInRequired)
    async def sign_in(request: Request, _: web.SignInRequired) -> Response:
        return web.sign_in_redirect(request)

    for module in (health, users, codebooks, transcripts, privacy, review, consensus, queue, suggest, jobs, models,
                   reports, discovery, web_adjudication, web_discovery, web):
        app.include_router(module.router)
    app.mount("/ui/static", StaticFiles(directory=Path(web.__file__).parent / "static"), name="static")
    larger = {"/jobs": settings.max_job_bytes, "/transcripts/import": settings.max_import_bytes}
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, per_path=larger)
    app.add_middleware(SecurityHeaders)  # outermost: the 413 of BodySizeLimit carries the headers too
    return app
