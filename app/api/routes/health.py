"""Liveness and what the service is running with."""

from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import CoderDep, SessionDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: SessionDep, coder: CoderDep) -> dict:
    session.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "model": coder.embedder.model_id,
        # Which encoder runs, and why it is not the configured one when it is not (not installed: `fast`).
        "encoder": coder.embedder.encoder.name,
        "encoder_fallback": coder.embedder.fallback,
        "database": session.get_bind().dialect.name,
        "default_codebook": coder.settings.default_codebook,
        "codebooks": coder.catalog.names(session),
    }
