"""Liveness and what the service is running with; readiness with the database."""

from fastapi import APIRouter, Request
from sqlalchemy import make_url, text

from app.api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(request: Request) -> dict:
    """Answered on the event loop from what the service holds in memory: no database session and no worker
    thread, so it answers at once however busy the thread pool is (under 20 clients it waited 1.4 s at p95
    behind requests that did). `GET /health/ready` also checks the database."""
    coder = request.app.state.coder
    settings = coder.settings
    return {
        "status": "ok",
        "model": coder.embedder.model_id,
        # Which encoder runs, and why it is not the configured one when it is not (not installed: `fast`).
        "encoder": coder.embedder.encoder.name,
        "encoder_fallback": coder.embedder.fallback,
        "database": make_url(settings.database_url).get_backend_name(),
        "default_codebook": settings.default_codebook,
        "codebooks": sorted(coder.catalog.builtin),  # uploaded ones too: GET /codebooks
    }


@router.get("/health/ready")
def ready(session: SessionDep) -> dict:
    """Ready to serve: the database answers."""
    session.execute(text("SELECT 1"))
    return {"status": "ready", "database": session.get_bind().dialect.name}
