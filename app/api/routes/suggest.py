"""Stateless suggestions for a snippet: nothing is stored."""

from fastapi import APIRouter

from app.api.deps import CoderDep, SessionDep, Viewer
from app.api.presenters import snippet_suggestion_out
from app.api.schemas.common import ErrorOut
from app.api.schemas.suggest import SnippetSegmentOut, SuggestIn, SuggestOut
from app.services.coding import SuggestOptions

router = APIRouter(tags=["suggest"])


@router.post("/suggest", response_model=SuggestOut, responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def suggest_snippet(body: SuggestIn, user: Viewer, session: SessionDep, coder: CoderDep) -> SuggestOut:
    """Rank codes for a passage (or, with split, for each of its sentences), with the evidence."""
    result = coder.suggest_snippet(
        session, body.text, SuggestOptions(body.codebook, body.top_k, body.threshold, body.context), body.split,
        who=user)
    index = result.index
    parts = [(s.start, s.end) for s in result.segments]
    return SuggestOut(
        codebook=index.codebook_name, codebook_version=index.codebook_version,
        codebook_digest=index.codebook_digest, model=index.model_id,
        classifier_version=result.classifier_id, threshold=result.threshold,
        segments=[SnippetSegmentOut(text=s.text, start=s.start, end=s.end, status=s.status, truncated=s.truncated,
                                    suggestions=[snippet_suggestion_out(c, r, n, body.text, parts)
                                                 for r, c in enumerate(s.candidates, 1)])
                  for n, s in enumerate(result.segments)])
