"""Trained classifier versions: retrain, read their model cards, see what is served, promote, roll back."""

from fastapi import APIRouter

from app.api.deps import Admin, LearnerDep, SessionDep, Viewer
from app.api.schemas.common import ErrorOut, Id
from app.api.schemas.models import ModelVersionOut, RetrainIn, RollbackIn, ServingOut
from app.db import accounts
from app.db import classifiers as db
from app.db.tables import Classifier, ServingChange

router = APIRouter(prefix="/models", tags=["models"])
ERRORS = {404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}}


def _user_name(session: SessionDep, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return accounts.users_by_id(session, ids={user_id})[user_id].name


def _version_out(session: SessionDep, row: Classifier, card: dict | None = None) -> ModelVersionOut:
    served = db.served(session, codebook_name=row.codebook_name)
    return ModelVersionOut(version=row.id, codebook=row.codebook_name, embedding_model=row.embedding_model,
                           status=row.status, trigger=row.trigger, triggered_by=_user_name(session, row.created_by),
                           forced=row.force, serving=served is not None and served.classifier_id == row.id,
                           message=row.message, created_at=row.created_at, finished_at=row.finished_at, card=card)


def _serving_out(session: SessionDep, codebook: str, change: ServingChange | None) -> ServingOut:
    if change is None:
        return ServingOut(codebook=codebook, version=None, reason=None, changed_by=None, changed_at=None)
    return ServingOut(codebook=codebook, version=change.classifier_id, reason=change.reason,
                      changed_by=_user_name(session, change.changed_by), changed_at=change.created_at)


@router.post("/retrain", status_code=202, response_model=ModelVersionOut, responses=ERRORS)
def retrain(body: RetrainIn, user: Admin, session: SessionDep, learner: LearnerDep) -> ModelVersionOut:
    """Fit a new version on every label confirmed so far, in the background; poll GET /models/{version}."""
    row = learner.retrain_in_background(session, user, codebook=body.codebook, force=body.force)
    return _version_out(session, row)


@router.get("", response_model=list[ModelVersionOut])
def list_versions(_: Viewer, session: SessionDep, codebook: str | None = None) -> list[ModelVersionOut]:
    """Every version, newest first."""
    return [_version_out(session, row) for row in db.list_classifiers(session, codebook_name=codebook)]


@router.get("/serving", response_model=ServingOut, responses=ERRORS)
def serving(_: Viewer, session: SessionDep, learner: LearnerDep, codebook: str | None = None) -> ServingOut:
    """Which version serves a codebook (the default codebook unless named); null: similarity alone."""
    name, change = learner.serving(session, codebook)
    return _serving_out(session, name, change)


@router.get("/{version}", response_model=ModelVersionOut, responses=ERRORS)
def get_version(version: Id, _: Viewer, session: SessionDep, learner: LearnerDep) -> ModelVersionOut:
    """A version with its model card: data counts, cross-validated figures per code, the promotion verdict."""
    row = learner.get(session, version)
    return _version_out(session, row, learner.card(row))


@router.post("/{version}/promote", response_model=ServingOut, responses=ERRORS)
def promote(version: Id, user: Admin, session: SessionDep, learner: LearnerDep) -> ServingOut:
    """Serve this version from the next request on, whatever its figures (an admin's call)."""
    change = learner.promote(session, user, version)
    return _serving_out(session, change.codebook_name, change)


@router.post("/rollback", response_model=ServingOut, responses=ERRORS)
def rollback(body: RollbackIn, user: Admin, session: SessionDep, learner: LearnerDep) -> ServingOut:
    """Serve an earlier version again (by default the one before the current), or similarity alone."""
    change = learner.rollback(session, user, body.codebook, body.version, body.similarity_only)
    return _serving_out(session, change.codebook_name, change)
