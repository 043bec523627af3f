"""What the pages show, assembled from the services: transcripts with progress, a transcript as turns of
sentences with their suggestions and the signed-in coder's labels, the codebook, the review queue."""

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import store
from app.db.tables import Segment, Suggestion, SuggestionRun, Transcript, User
from app.services.coding import Coder
from app.services.review import Review, SegmentLabels
from app.services.visibility import Visibility
from taxonomy import ResolvedCodebook


@dataclass
class TranscriptRow:
    transcript: Transcript
    codable: int
    decided: int  # codable segments the signed-in coder has decided on

    @property
    def percent(self) -> int:
        return round(100 * self.decided / self.codable) if self.codable else 100


@dataclass
class SegmentView:
    segment: Segment
    suggestions: list[Suggestion]
    labels: SegmentLabels
    run: SuggestionRun | None
    error: str | None = None

    def state(self, code: str) -> str | None:
        return self.labels.codes.get(code)

    @property
    def added(self) -> list[str]:
        """Labels the coder gave that are not among the suggestions shown."""
        shown = {s.code_id for s in self.suggestions}
        return [c for c in self.labels.labels if c not in shown]


@dataclass
class Turn:
    speaker: str
    role: str
    segments: list[SegmentView] = field(default_factory=list)


@dataclass
class Filters:
    code: str = ""
    group: str = ""
    role: str = ""
    min_score: float | None = None

    def keeps(self, seg: Segment, suggestions: list[Suggestion]) -> bool:
        if self.role and seg.role != self.role:
            return False
        if self.code and not any(s.code_id == self.code for s in suggestions):
            return False
        return not (self.group and not any(s.code_group == self.group for s in suggestions))


def transcript_rows(session: Session, user: User, limit: int, offset: int) -> tuple[int, list[TranscriptRow]]:
    total, transcripts = store.list_transcripts(session, limit=limit, offset=offset)
    ids = [t.id for t in transcripts]
    codable = dict(session.execute(
        select(Segment.transcript_id, func.count()).where(Segment.transcript_id.in_(ids),
                                                          Segment.skip_reason.is_(None))
        .group_by(Segment.transcript_id)).all())
    decided = Visibility(user).decided_per_transcript(session, transcript_ids=ids)
    return total, [TranscriptRow(t, codable.get(t.id, 0), decided.get(t.id, 0)) for t in transcripts]


def segment_views(session: Session, review: Review, user: User, transcript: Transcript,
                  segment_ids: list[int] | None = None, min_score: float | None = None) -> list[SegmentView]:
    run = store.current_run(session, transcript_id=transcript.id)
    floor = run.threshold if run and min_score is None else (min_score or 0.0)
    by_segment: dict[int, list[Suggestion]] = {}
    if run is not None:
        for s in store.run_suggestions(session, run_id=run.id):
            if s.score >= floor:
                by_segment.setdefault(s.segment_id, []).append(s)
    _, labels = review.labels(session, user, transcript.id, segment_ids=segment_ids)
    wanted = set(segment_ids) if segment_ids is not None else None
    return [SegmentView(seg, by_segment.get(seg.id, []), labels.get(seg.id, SegmentLabels()), run)
            for seg in transcript.segments if wanted is None or seg.id in wanted]


def progress(codable: list[SegmentView]) -> str:
    decided = sum(1 for v in codable if v.labels.codes or v.labels.memos)
    return f"You have decided on {decided} of {len(codable)} sentences."


def turns_of(views: list[SegmentView], filters: Filters) -> list[Turn]:
    """Consecutive sentences of one turn together; a turn with no sentence left after filtering is dropped."""
    turns: dict[int, Turn] = {}
    for view in views:
        seg = view.segment
        if not filters.keeps(seg, view.suggestions):
            continue
        turns.setdefault(seg.turn_index, Turn(seg.speaker, seg.role)).segments.append(view)
    return list(turns.values())


def codebook_for(session: Session, coder: Coder, run: SuggestionRun | None) -> ResolvedCodebook:
    resolved, _ = coder.index_for(session, run.codebook_name if run else None)
    return resolved


def code_choices(book: ResolvedCodebook) -> list[tuple[str, str, str]]:
    """(id, label, group label) of every codable code, in codebook order: the code picker's options."""
    return [(c.id, c.label, g.label if (g := book.group_of(c)) else "") for c in book.leaves]
