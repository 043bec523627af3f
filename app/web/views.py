"""What the pages show, assembled from the services: transcripts with progress, a transcript as turns of
sentences with their suggestions and the signed-in coder's labels, the codebook, the review queue."""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from app.db import decisions, store
from app.db.tables import Decision, Segment, Suggestion, SuggestionRun, Transcript, User
from app.engine.markers import marker_spans
from app.services.coding import Coder
from app.services.review import Review, SegmentLabels
from app.services.visibility import ACCEPTED, REJECTED, Visibility, replay
from taxonomy import ResolvedCodebook


@dataclass
class TranscriptRow:
    transcript: Transcript
    codable: int
    decided: int  # codable segments the signed-in coder has decided on

    @property
    def percent(self) -> int:
        return round(100 * self.decided / self.codable) if self.codable else 100


@dataclass(frozen=True)
class Shown:
    """One of a coder's codes on a decided sentence, as its collapsed line shows it."""
    code: str
    label: str
    state: str  # accepted, added, rejected, or changed (from `from_code`)
    from_code: str | None = None
    from_label: str = ""
    span: tuple[int, int] | None = None  # sentence numbers, when the code covers a passage


@dataclass
class SegmentView:
    segment: Segment
    suggestions: list[Suggestion]
    labels: SegmentLabels
    run: SuggestionRun | None
    error: str | None = None
    changes: dict[str, str] = field(default_factory=dict)  # code -> the suggested code it replaced
    span_ends: dict[str, int] = field(default_factory=dict)  # code -> sentence number its passage ends at
    kept_open: bool = False  # the coder reopened it: a decision does not collapse it again
    numbers: dict[int, int] = field(default_factory=dict)  # segment id -> sentence number, transcript-wide
    # (segment id, sentence number) of the codable sentences that follow this one in its turn, unbroken: where
    # a code added here may run to, as a span (app/services/spans.py checks the same rule).
    span_options: list[tuple[int, int]] = field(default_factory=list)
    kind: str = "segment"
    # The best codes under the line (at most NEAR_MISSES), shown folded: a coder who doubts the gate's "no
    # technique" sees what came closest without lowering the threshold.
    near: list[Suggestion] = field(default_factory=list)
    # Codes the coder's own confirmed sentences elsewhere give this one (computed for them now, never stored).
    confirmed: list = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.segment.position + 1

    @property
    def codable(self) -> bool:
        return self.segment.skip_reason is None

    @property
    def decided(self) -> bool:
        """The coder has decided on at least one code here, or that none applies: the sentence shows collapsed
        to its codes (or to "no code applies")."""
        return self.codable and (bool(self.labels.codes) or self.labels.no_code)

    @property
    def collapsed(self) -> bool:
        return self.decided and not self.kept_open and self.error is None

    def state(self, code: str) -> str | None:
        return self.labels.codes.get(code)

    @property
    def added(self) -> list[str]:
        """Labels the coder gave that are not among the suggestions shown (added, or changed to)."""
        shown = {s.code_id for s in self.suggestions}
        return [c for c in self.labels.labels if c not in shown]

    def passage_end(self, suggestion: Suggestion) -> int | None:
        """The sentence number a passage suggestion (one over several sentences) ends at; None for one sentence."""
        return self.numbers.get(suggestion.end_segment_id) if suggestion.end_segment_id is not None else None

    @property
    def open_suggestions(self) -> int:
        return sum(1 for s in self.suggestions if s.code_id not in self.labels.codes)

    def shown(self, labels: dict[str, str]) -> list[Shown]:
        """The coder's codes here with their labels: a change as one line from the suggested code to the new."""
        known = labels | {s.code_id: s.code_label for s in self.suggestions if s.code_id not in labels}
        replaced = set(self.changes.values())
        out = []
        for code, state in self.labels.codes.items():
            if code in replaced and state == "rejected":
                continue  # shown on the line of the code it was changed to
            span = (self.number, self.span_ends[code]) if code in self.span_ends else None
            if code in self.changes:
                was = self.changes[code]
                out.append(Shown(code, known.get(code, ""), "changed", was, known.get(was, ""), span))
            else:
                out.append(Shown(code, known.get(code, ""), state, span=span))
        order = {"accepted": 0, "changed": 0, "added": 1, "rejected": 2}
        return sorted(out, key=lambda s: order[s.state])


@dataclass
class Turn:
    speaker: str
    role: str
    index: int = 0
    segments: list[SegmentView] = field(default_factory=list)
    kind: str = "turn"

    @property
    def codable(self) -> bool:
        return any(v.codable for v in self.segments)

    @property
    def items(self) -> list["SegmentView | Fold"]:
        """The turn's sentences, with each run of sentences that are not coded folded into one line."""
        out: list[SegmentView | Fold] = []
        for view in self.segments:
            if view.codable:
                out.append(view)
            elif out and isinstance(out[-1], Fold):
                out[-1].turns[0].segments.append(view)
            else:
                out.append(Fold([Turn(self.speaker, self.role, self.index, [view])], inside=True))
        return out


# skip reason -> how a folded line names it
REASONS = {"interviewer": "interviewer", "too_short": "short", "marker": "transcriber's note"}


@dataclass
class Fold:
    """Sentences that are not coded (the interviewer's, too short to code), shown as one line until opened."""
    turns: list[Turn]
    inside: bool = False  # within a participant's turn, rather than whole turns between them
    kind: str = "fold"

    @property
    def count(self) -> int:
        return sum(len(t.segments) for t in self.turns)

    @property
    def summary(self) -> str:
        reasons = dict.fromkeys(REASONS.get(v.segment.skip_reason, "skipped") for t in self.turns
                                for v in t.segments)
        return f"{self.count} {'/'.join(reasons)} sentence{'' if self.count == 1 else 's'}"

    @property
    def preview(self) -> str:
        return " ".join(v.segment.text for t in self.turns for v in t.segments)


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

    def query(self, **more: object) -> str:
        """The page's query string with these filters kept (and `more`, such as the page number)."""
        given = {"code": self.code, "group": self.group, "role": self.role,
                 "min_score": "" if self.min_score is None else self.min_score} | more
        return "?" + urlencode({k: v for k, v in given.items() if v not in ("", None)})


@dataclass
class Window:
    """One page of a long transcript: `turns` of the filtered turns, and where the other pages start."""
    turns: list[Turn]
    page: int
    pages: list[tuple[int, int]]  # per page, the numbers of its first and last turn

    @property
    def blocks(self) -> list[Turn | Fold]:
        """The page's turns, with consecutive turns that have no sentence to code folded into one line."""
        out: list[Turn | Fold] = []
        for turn in self.turns:
            if turn.codable:
                out.append(turn)
            elif out and isinstance(out[-1], Fold):
                out[-1].turns.append(turn)
            else:
                out.append(Fold([turn]))
        return out


def transcript_rows(session: Session, user: User, limit: int, offset: int) -> tuple[int, list[TranscriptRow]]:
    total, transcripts = store.list_transcripts(session, limit=limit, offset=offset)
    ids = [t.id for t in transcripts]
    codable = decisions.codable_per_transcript(session, transcript_ids=ids)
    decided = Visibility(user).decided_per_transcript(session, transcript_ids=ids)
    return total, [TranscriptRow(t, codable.get(t.id, 0), decided.get(t.id, 0)) for t in transcripts]


def _changes(decisions: list[Decision], labels: dict[int, SegmentLabels]) -> dict[int, dict[str, str]]:
    """segment id -> {code: the suggested code the coder changed to it}, for changes that still hold."""
    out: dict[int, dict[str, str]] = {}
    for d in decisions:
        if d.action == "change" and d.code_id and d.from_code_id:
            out.setdefault(d.segment_id, {})[d.code_id] = d.from_code_id
    return {sid: held for sid, pairs in out.items()
            if (held := {to: was for to, was in pairs.items()
                         if labels.get(sid, SegmentLabels()).codes.get(to) == ACCEPTED
                         and labels[sid].codes.get(was) == REJECTED})}


def segment_views(session: Session, review: Review, user: User, transcript: Transcript,
                  segment_ids: list[int] | None = None, min_score: float | None = None,
                  coder=None) -> list[SegmentView]:
    """Every sentence (or those of segment_ids) with its shown suggestions and the signed-in coder's own
    labels, changes and memos (read through Visibility: their own work, blind or not)."""
    run = store.current_run(session, transcript_id=transcript.id)
    floor = run.threshold if run and min_score is None else (min_score or 0.0)
    by_segment: dict[int, list[Suggestion]] = {}
    near: dict[int, list[Suggestion]] = {}
    if run is not None:
        for s in store.run_suggestions(session, run_id=run.id):
            (by_segment if s.score >= floor else near).setdefault(s.segment_id, []).append(s)
    confirmed = coder.near_confirmed(session, transcript, run, user) if coder is not None else {}
    own = review.scope(user).decisions(session, transcript_ids=[transcript.id], segment_ids=segment_ids,
                                       coders=[user.name])
    labels = {segment: state for (segment, _), state in replay(own).items()}
    changes = _changes(own, labels)
    numbers = {seg.id: seg.position + 1 for seg in transcript.segments}
    wanted = set(segment_ids) if segment_ids is not None else None
    out = []
    for seg in transcript.segments:
        if wanted is not None and seg.id not in wanted:
            continue
        state = labels.get(seg.id, SegmentLabels())
        ends = {code: numbers[end] for code, end in state.ends.items() if end in numbers}
        out.append(SegmentView(seg, by_segment.get(seg.id, []), state, run, changes=changes.get(seg.id, {}),
                               span_ends=ends, numbers=numbers, span_options=_following(transcript, seg),
                               near=sorted(near.get(seg.id, []), key=lambda s: -s.score)[:NEAR_MISSES],
                               confirmed=[c for c in confirmed.get(seg.id, [])
                                          if c.code_id not in state.codes
                                          and c.code_id not in {s.code_id for s in by_segment.get(seg.id, [])}]))
    return out


NEAR_MISSES = 3
MAX_SPAN_OPTIONS = 6  # a passage of up to 7 sentences from the page; longer spans go through the API


def _following(transcript: Transcript, seg: Segment) -> list[tuple[int, int]]:
    """The codable sentences right after `seg` in its turn, up to the first one that is not codable."""
    if seg.skip_reason is not None:
        return []
    out = []
    for later in transcript.segments[seg.position + 1:]:
        if later.turn_index != seg.turn_index or later.skip_reason is not None or len(out) == MAX_SPAN_OPTIONS:
            break
        out.append((later.id, later.position + 1))
    return out


def progress(codable: list[SegmentView]) -> str:
    decided = sum(1 for v in codable if v.decided)  # a memo alone is a note: the sentence stays open
    return f"You have decided on {decided} of {len(codable)} sentences."


def turns_of(views: list[SegmentView], filters: Filters) -> list[Turn]:
    """Consecutive sentences of one turn together; a turn with no sentence left after filtering is dropped."""
    turns: dict[int, Turn] = {}
    for view in views:
        seg = view.segment
        if not filters.keeps(seg, view.suggestions):
            continue
        turns.setdefault(seg.turn_index, Turn(seg.speaker, seg.role, seg.turn_index + 1)).segments.append(view)
    return list(turns.values())


def window(turns: list[Turn], per_page: int, page: int = 1, segment_id: int | None = None) -> Window:
    """The page of `turns` to show: page `page` (clamped to the last), or the page holding `segment_id`."""
    starts = list(range(0, len(turns), per_page)) or [0]
    if segment_id is not None:
        page = next((n + 1 for n, at in enumerate(starts)
                     if any(v.segment.id == segment_id for t in turns[at:at + per_page] for v in t.segments)), page)
    page = min(max(page, 1), len(starts))
    bounds = [(turns[at].index, turns[min(at + per_page, len(turns)) - 1].index) for at in starts] \
        if turns else [(0, 0)]
    at = starts[page - 1]
    return Window(turns[at:at + per_page], page, bounds)


def codebook_for(session: Session, coder: Coder, run: SuggestionRun | None) -> ResolvedCodebook:
    resolved, _ = coder.index_for(session, run.codebook_name if run else None)
    return resolved


def marked(text: str) -> Markup:
    """The sentence as HTML, escaped, with each transcription marker ("[laughs]") in a muted span: coders
    see what the transcriber noted, and that it is not part of what was said (scoring ignores it too)."""
    parts, at = [], 0
    for start, end in marker_spans(text):
        parts += [escape(text[at:start]), Markup('<span class="marker">'), escape(text[start:end]), Markup("</span>")]
        at = end
    parts.append(escape(text[at:]))
    return Markup("").join(parts)
