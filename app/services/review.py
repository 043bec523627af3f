"""Coders' decisions on suggestions: accept, reject, change, add, remove, memo.

Decisions are only ever appended. A coder's current labels on a segment are replayed from their decisions in
order, so every state the coding has been in can be rebuilt, and nothing a coder did is overwritten.

Concurrency: a decision locks its transcript (the first write of its transaction) and only then checks that
the suggestion it answers belongs to the transcript's current suggestion run. A re-suggestion takes the same
lock, so a decision made on suggestions that have since been replaced is refused (Conflict, HTTP 409), never
silently applied to the wrong suggestions.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db import decisions as db
from app.db import store
from app.db.tables import Decision, Segment, SuggestionRun, User
from app.errors import Conflict, InvalidInput, NotFound
from app.services.accounts import require
from app.services.spans import check_span
from app.services.visibility import ACCEPTED, ADDED, SegmentLabels, Visibility, apply, replay

__all__ = ["ACTIONS", "DecisionInput", "Review", "SegmentLabels", "Visibility", "apply", "replay"]
from taxonomy import Codebook, ResolvedCodebook

ACTIONS = ("accept", "reject", "change", "add", "remove", "memo", "none")  # none: no code applies
MAX_MEMO = 4000


@dataclass(frozen=True)
class DecisionInput:
    segment_id: int
    action: str
    suggestion_id: int | None = None
    code: str | None = None
    memo: str | None = None
    run_id: int | None = None  # the run the coder was looking at; refused with 409 if it is no longer current
    # The last sentence of a span (same turn, at or after segment_id; app/services/spans.py). None: one sentence,
    # or for accept/change the suggestion's own span.
    end_segment_id: int | None = None


class Review:
    """Records decisions and reads them back, enforcing roles, blind coding and staleness."""

    def __init__(self, *, blind: bool):
        self.blind = blind
        self._leaves: dict[str, set[str]] = {}  # codebook digest -> codable code ids

    # -- writing ---------------------------------------------------------------------------------------------

    def decide(self, session: Session, user: User, items: list[DecisionInput],
               transcript_id: int | None = None) -> list[Decision]:
        """Record decisions, all on one transcript, in one transaction: all are stored or none."""
        require(user, "coder")
        if not items:
            raise InvalidInput("no decisions sent")
        starts = {i.segment_id for i in items}
        ends = {i.end_segment_id for i in items if i.end_segment_id is not None}  # spans' last sentences
        segments = db.segments_by_id(session, ids=starts | ends)
        missing = sorted((starts | ends) - set(segments))
        if missing:
            raise NotFound(f"no segment with id {', '.join(map(str, missing))}")
        transcripts = {segments[s].transcript_id for s in starts}
        if transcript_id is not None and transcripts != {transcript_id}:
            raise InvalidInput(f"every decision must be on a segment of transcript {transcript_id}")
        if len(transcripts) > 1:
            raise InvalidInput("decisions sent together must be on one transcript")
        (tid,) = transcripts

        store.lock_transcript(session, transcript_id=tid)  # from here on, reads see the newest runs
        run = store.current_run(session, transcript_id=tid)
        if run is None:
            raise Conflict(f"transcript {tid} has no suggestions yet")
        suggestions = db.suggestions_by_id(session, ids={i.suggestion_id for i in items if i.suggestion_id})
        states = self.scope(user).labels(session, segment_ids=sorted(starts), coders=[user.name])
        batch = str(uuid.uuid4()) if len(items) > 1 else None
        rows = []
        for n, item in enumerate(items):
            where = f"decision {n + 1}: " if len(items) > 1 else ""
            try:
                end = segments[item.end_segment_id] if item.end_segment_id is not None else None
                row = self._check(session, item, segments[item.segment_id], end, run, suggestions,
                                  states.setdefault((item.segment_id, user.id), SegmentLabels()))
            except (InvalidInput, Conflict, NotFound) as exc:
                raise type(exc)(where + exc.message, exc.details) from None
            apply(states[(item.segment_id, user.id)], row["action"], row["code_id"], row["from_code_id"],
                  row["memo"], row["end_segment_id"])  # later decisions in the same batch see earlier ones
            rows.append(row | {"coder_id": user.id, "transcript_id": tid, "batch_id": batch})
        stored = db.add_decisions(session, rows=rows)
        session.commit()
        return stored

    def accept_over(self, session: Session, user: User, transcript_id: int, min_score: float,
                    run_id: int | None = None) -> list[Decision]:
        """Accept every current suggestion at or over min_score on the transcript's coded segments, at once."""
        require(user, "coder")
        if store.get_transcript(session, transcript_id=transcript_id) is None:
            raise NotFound(f"no transcript with id {transcript_id}")
        run = store.current_run(session, transcript_id=transcript_id)
        if run is None:
            raise Conflict(f"transcript {transcript_id} has no suggestions yet")
        picked = [s for s in store.run_suggestions(session, run_id=run.id) if s.score >= min_score]
        if not picked:
            raise InvalidInput(f"no suggestion on transcript {transcript_id} scores {min_score} or more")
        # run_id pins the batch to the run the coder saw: if it was re-suggested meanwhile, decide() says 409.
        pinned = run_id if run_id is not None else run.id
        return self.decide(session, user, [DecisionInput(s.segment_id, "accept", suggestion_id=s.id, run_id=pinned)
                                           for s in picked], transcript_id)

    def _check(self, session: Session, item: DecisionInput, segment: Segment, end: Segment | None,
               run: SuggestionRun, suggestions: dict, state: SegmentLabels) -> dict:
        """Validate one decision against the current run and the coder's labels; the row to store. `end`: the
        last sentence of the span the decision covers, as sent (None: one sentence, or the suggestion's span)."""
        if item.action not in ACTIONS:
            raise InvalidInput(f"unknown action {item.action!r}; one of {', '.join(ACTIONS)}")
        if item.run_id is not None and item.run_id != run.id:
            raise Conflict(f"run {item.run_id} is no longer current: transcript {run.transcript_id} was "
                           f"suggested again (run {run.id}); reload it and decide again")
        row = dict(segment_id=segment.id, action=item.action, code_id=None, from_code_id=None,
                   suggestion_id=None, run_id=run.id, model_id=run.model_id, classifier_id=run.classifier_id,
                   codebook_version=run.codebook_version, memo=None,
                   end_segment_id=check_span(session, segment, end, item.action) if end is not None else None)
        if item.action in ("accept", "reject", "change"):
            if item.suggestion_id is None:
                raise InvalidInput(f"'{item.action}' needs the suggestion_id it answers")
            suggestion = suggestions.get(item.suggestion_id)
            if suggestion is None or suggestion.segment_id != segment.id:
                raise InvalidInput(f"suggestion {item.suggestion_id} is not a suggestion on segment {segment.id}")
            if suggestion.run_id != run.id:
                raise Conflict(f"suggestion {suggestion.id} is from run {suggestion.run_id}, but transcript "
                               f"{run.transcript_id} was suggested again since (run {run.id}); reload it")
            row |= dict(suggestion_id=suggestion.id, code_id=suggestion.code_id)
            # Accepting or rejecting a passage suggestion answers it for its whole span. A change puts a new code
            # on this sentence only, unless the coder chose a span (end): a span is never made implicitly.
            if end is None and item.action != "change":
                row["end_segment_id"] = suggestion.end_segment_id
            if item.action == "change":
                code = self._codable(session, run, item.code)
                if code == suggestion.code_id:
                    raise InvalidInput(f"change {suggestion.code_id} to a different code, or accept it")
                row |= dict(code_id=code, from_code_id=suggestion.code_id)
        elif item.action == "add":
            row["code_id"] = self._codable(session, run, item.code)
        elif item.action == "remove":
            if not item.code or state.codes.get(item.code) not in (ACCEPTED, ADDED):
                raise Conflict(f"code {item.code!r} is not among your labels on segment {segment.id}")
            row["code_id"] = item.code
        elif item.action == "none":
            if item.code or item.suggestion_id is not None:
                raise InvalidInput("'none' (no code applies) takes no code or suggestion")
        else:  # memo
            memo = (item.memo or "").strip()
            if not memo or len(memo) > MAX_MEMO:
                raise InvalidInput(f"a memo is 1 to {MAX_MEMO} characters")
            row |= dict(memo=memo, code_id=self._codable(session, run, item.code) if item.code else None)
        return row

    def _codable(self, session: Session, run: SuggestionRun, code: str | None) -> str:
        """`code` if it is a codable (leaf) code of the run's codebook, else InvalidInput naming the codebook."""
        if not code:
            raise InvalidInput("this decision needs a code")
        if run.codebook_digest not in self._leaves:
            snap = db.snapshot(session, digest=run.codebook_digest)
            parts = tuple(Codebook.model_validate(p) for p in snap.content)
            book = ResolvedCodebook(snap.name, parts, tuple(c for p in parts for c in p.codes))
            self._leaves[run.codebook_digest] = {c.id for c in book.leaves}
        if code not in self._leaves[run.codebook_digest]:
            raise InvalidInput(f"{code!r} is not a codable code of {run.codebook_version}")
        return code

    # -- reading ---------------------------------------------------------------------------------------------

    def scope(self, viewer: User) -> Visibility:
        """What `viewer` may read of coders' work: every read of decisions, labels and memos goes through it."""
        return Visibility(viewer, blind=self.blind)

    def visible_decisions(self, session: Session, viewer: User, transcript_id: int, *, coder: str | None = None,
                          segment_id: int | None = None) -> list[Decision]:
        """The audit trail: every decision on the transcript (or one segment), oldest first, that viewer may see."""
        if store.get_transcript(session, transcript_id=transcript_id) is None:
            raise NotFound(f"no transcript with id {transcript_id}")
        return self.scope(viewer).decisions(session, transcript_ids=[transcript_id], coders=[coder] if coder else None,
                                            segment_ids=[segment_id] if segment_id is not None else None)

    def labels(self, session: Session, viewer: User, transcript_id: int, coder: str | None = None,
               segment_ids: list[int] | None = None) -> tuple[User, dict[int, SegmentLabels]]:
        """A coder's current labels on the segments of a transcript they decided on (or only on segment_ids)."""
        scope = self.scope(viewer)
        who = scope.coder(session, coder)
        if store.get_transcript(session, transcript_id=transcript_id) is None:
            raise NotFound(f"no transcript with id {transcript_id}")
        states = scope.labels(session, transcript_ids=[transcript_id], segment_ids=segment_ids, coders=[who.name])
        return who, {segment: state for (segment, _), state in states.items()}

    def segment_transcript(self, session: Session, segment_id: int) -> int:
        segment = db.segments_by_id(session, ids={segment_id}).get(segment_id)
        if segment is None:
            raise NotFound(f"no segment with id {segment_id}")
        return segment.transcript_id
