"""Turn stored rows and engine results into response models."""

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.api.schemas.common import CodeSuggestion, Evidence, SpanOut
from app.api.schemas.suggest import SnippetSpanOut, SnippetSuggestion
from app.api.schemas.transcripts import RunOut, SegmentOut, TranscriptOut, TranscriptSummary
from app.db.tables import Segment, Suggestion, SuggestionRun, Transcript
from app.engine.suggest import Candidate
from app.services.coding import status_of
from app.services.transcripts import warnings as transcript_warnings


def candidate_out(c: Candidate, rank: int) -> CodeSuggestion:
    return CodeSuggestion(code_id=c.code_id, label=c.label, group=c.group, score=c.score, rank=rank,
                          evidence=Evidence(kind=c.evidence_kind, text=c.evidence_text, source=c.evidence_source))


def snippet_suggestion_out(c: Candidate, rank: int, first: int, text: str,
                           parts: list[tuple[int, int]]) -> SnippetSuggestion:
    """A code for segment `first` of a posted text (`parts`: every segment's offsets); a passage suggestion
    carries the sentences it covers."""
    span = None
    if c.end is not None:
        start, end = parts[first][0], parts[c.end][1]
        span = SnippetSpanOut(first_segment=first, last_segment=c.end, start=start, end=end, text=text[start:end])
    return SnippetSuggestion(code_id=c.code_id, label=c.label, group=c.group, score=c.score, rank=rank,
                             evidence=Evidence(kind=c.evidence_kind, text=c.evidence_text,
                                               source=c.evidence_source), span=span)


def span_out(first: Segment, last: Segment) -> SpanOut:
    """The characters from the first sentence's start to the last's end (both of one transcript)."""
    return SpanOut(start_segment_id=first.id, end_segment_id=last.id, start=first.char_start, end=last.char_end,
                   text=first.transcript.text[first.char_start:last.char_end])


def suggestion_out(s: Suggestion, span: SpanOut | None = None) -> CodeSuggestion:
    return CodeSuggestion(id=s.id, code_id=s.code_id, label=s.code_label, group=s.code_group, score=s.score,
                          rank=s.rank, evidence=Evidence(kind=s.evidence_kind, text=s.evidence_text,
                                                         source=s.evidence_source), span=span)


def run_out(run: SuggestionRun) -> RunOut:
    return RunOut(id=run.id, codebook=run.codebook_name, codebook_version=run.codebook_version,
                  codebook_digest=run.codebook_digest, model=run.model_id, classifier_version=run.classifier_id,
                  top_k=run.top_k,
                  threshold=run.threshold, evidence_k=run.evidence_k, context=run.context_window,
                  created_at=run.created_at)


def summary_out(t: Transcript, segment_count: int) -> TranscriptSummary:
    return TranscriptSummary(id=t.id, title=t.title, participant_id=t.participant_id, role=t.role, site=t.site,
                             trial_arm=t.trial_arm, extra=t.extra or {}, source_format=t.source_format,
                             created_at=t.created_at, segment_count=segment_count,
                             speaker_roles=t.speaker_roles or {}, warnings=transcript_warnings(t))


def segment_out(seg: Segment, suggestions: list[Suggestion], threshold: float, min_score: float,
                segments: dict[int, Segment] | None = None, confirmed: list[Candidate] = ()) -> SegmentOut:
    """A segment with its suggestions at or over min_score; its status always uses the run's threshold. A
    passage suggestion shows its span (`segments`: the transcript's segments by id, when the caller has them)."""
    status = status_of([s.score for s in suggestions], threshold, seg.skip_reason)
    return SegmentOut(id=seg.id, transcript_id=seg.transcript_id, position=seg.position, turn_index=seg.turn_index,
                      sentence_index=seg.sentence_index, speaker=seg.speaker, role=seg.role,
                      start=seg.char_start, end=seg.char_end, text=seg.text, time_start=seg.time_start,
                      time_end=seg.time_end, status=status,
                      skip_reason=seg.skip_reason,
                      suggestions=[suggestion_out(s, _span(seg, s, segments)) for s in suggestions
                                   if s.score >= min_score],
                      confirmed=[candidate_out(c, rank) for rank, c in enumerate(confirmed, start=1)])


def _span(seg: Segment, s: Suggestion, segments: dict[int, Segment] | None) -> SpanOut | None:
    if s.end_segment_id is None:
        return None
    if segments is None:  # a segment shown on its own (the review queue): its transcript's sentences
        segments = {other.id: other for other in seg.transcript.segments}
    last = segments.get(s.end_segment_id)
    return span_out(seg, last) if last is not None else None


def transcript_out(t: Transcript, run: SuggestionRun | None, suggestions: list[Suggestion], *,
                   min_score: float | None = None, code: str | None = None, role: str | None = None,
                   confirmed: dict[int, list[Candidate]] | None = None) -> TranscriptOut:
    """The transcript and its segments; `code` and `role` keep only the segments that match them."""
    threshold = run.threshold if run else 1.0
    floor = threshold if min_score is None else min_score
    by_segment: dict[int, list[Suggestion]] = {}
    for s in suggestions:
        by_segment.setdefault(s.segment_id, []).append(s)
    segments, by_id = [], {seg.id: seg for seg in t.segments}
    for seg in t.segments:
        if role and seg.role != role:
            continue
        out = segment_out(seg, by_segment.get(seg.id, []), threshold, floor, by_id, (confirmed or {}).get(seg.id, []))
        if code and not any(s.code_id == code for s in out.suggestions):
            continue
        segments.append(out)
    summary = summary_out(t, len(t.segments))
    return TranscriptOut(**summary.model_dump(), text=t.text, run=run_out(run) if run else None,
                         segments=segments)


def commit_rendered(session: Session, out: BaseModel, status_code: int = 200) -> Response:
    """The response's bytes first, then the commit: a request whose response cannot be built stores nothing."""
    body = out.model_dump_json().encode("utf-8")
    session.commit()
    return Response(body, status_code=status_code, media_type="application/json")
