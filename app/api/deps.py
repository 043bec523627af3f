"""Dependencies injected into routes: a database session per request, the signed-in user and their role,
the coder, the catalogue, the review, jobs and learning services."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.db.tables import User
from app.services import accounts
from app.services.codebooks import CodebookCatalog
from app.services.coding import Coder
from app.services.jobs import JobRunner
from app.services.learning import Learner
from app.services.queue import ReviewQueue
from app.services.review import Review
from app.services.visibility import Visibility

# auto_error=False: a missing header gets our 401 with a message, not FastAPI's bare 403.
_bearer = HTTPBearer(auto_error=False, description="An API token from `autocoder users add NAME --role ROLE`.")


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.rollback()  # services commit their own work; anything left uncommitted is discarded
        session.close()


def get_coder(request: Request) -> Coder:
    return request.app.state.coder


def get_catalog(request: Request) -> CodebookCatalog:
    return request.app.state.coder.catalog


def get_review(request: Request) -> Review:
    return request.app.state.review


def get_jobs(request: Request) -> JobRunner:
    return request.app.state.jobs


def get_learner(request: Request) -> Learner:
    return request.app.state.learner


def get_queue(request: Request) -> ReviewQueue:
    return request.app.state.queue


def current_user(session: Annotated[Session, Depends(get_session)],
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> User:
    return accounts.authenticate(session, credentials.credentials if credentials else None)


def role(needed: str):
    """A dependency: the signed-in user, who must have `needed` or a higher role (else 403)."""
    def check(user: Annotated[User, Depends(current_user)]) -> User:
        accounts.require(user, needed)
        return user

    return check


SessionDep = Annotated[Session, Depends(get_session)]
CoderDep = Annotated[Coder, Depends(get_coder)]
CatalogDep = Annotated[CodebookCatalog, Depends(get_catalog)]
ReviewDep = Annotated[Review, Depends(get_review)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]
LearnerDep = Annotated[Learner, Depends(get_learner)]
QueueDep = Annotated[ReviewQueue, Depends(get_queue)]
Viewer = Annotated[User, Depends(role("viewer"))]
CoderUser = Annotated[User, Depends(role("coder"))]
Admin = Annotated[User, Depends(role("admin"))]


def visibility(user: Viewer, review: ReviewDep) -> Visibility:
    """What the signed-in user may read of coders' work (blind coding): reports, exports and agreement read
    decisions, labels, memos and coder names only through it."""
    return review.scope(user)


Visible = Annotated[Visibility, Depends(visibility)]
