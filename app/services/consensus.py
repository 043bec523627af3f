"""Consensus: after two or more coders have coded a transcript, an adjudicator (role "adjudicator", or an
admin) sees every coder's codes side by side, sentence by sentence (and span by span), and records the team's
final codes. Final codes are decisions of their own kind (stage "consensus"): appended like coders' decisions,
never changed, and replayed into the consensus labels that reports use by default.

A row is one codable sentence, or one span some coder or the adjudicator coded (segment_id to end_segment_id).
Coders agree on a row when each of them gave it the same codes (none being the same as none). A row is
unresolved while the coders disagree there and the adjudicator has recorded nothing on it. Rows where coders
agree are not final by themselves: `take_agreed` records their codes as consensus in one step, so the
consensus is always exactly what the adjudicator's decisions say.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.db import accounts, store
from app.db import decisions as db
from app.db.tables import Decision, Segment, SuggestionRun, User
from app.errors import Conflict, InvalidInput, NotFound
from app.services import progress
from app.services.accounts import require
from app.services.visibility import SegmentLabels, Visibility, apply, replay
from taxonomy import Codebook, ResolvedCodebook, code_order

ACTIONS = ("add", "remove", "memo")
MAX_MEMO = 4000
Unit = tuple[int, int | None]  # (first segment id, last segment id of a span or None)


def consensus_labels(decisions: Iterable[Decision]) -> dict[int, SegmentLabels]:
    """segment id -> the consensus labels starting there, replayed from consensus decisions in order. Every
    adjudicator's decisions make one consensus: a second adjudicator may remove what the first added."""
    states: dict[int, SegmentLabels] = {}
    for d in decisions:
        apply(states.setdefault(d.segment_id, SegmentLabels()), d.action, d.code_id, d.from_code_id, d.memo,
              d.end_segment_id)
    return states


def read_consensus(session: Session, scope: Visibility,
                   transcript_ids: Sequence[int] | None) -> dict[int, SegmentLabels]:
    """The consensus labels of these transcripts. The consensus is built from every coder's work, so under
    blind coding it is for admins, adjudicators and viewers only."""
    scope.require_everyone("the consensus")
    return consensus_labels(db.decisions(session, transcript_ids=transcript_ids, stage="consensus"))


def transcripts_with_consensus(session: Session, transcript_ids: Sequence[int] | None) -> set[int]:
    return db.transcripts_with_stage(session, stage="consensus", transcript_ids=transcript_ids)


def transcripts_coded(session: Session, transcript_ids: Sequence[int] | None) -> set[int]:
    """The transcripts any coder has decided on (every coder's work: for those who see everyone's)."""
    return db.transcripts_with_stage(session, stage="coding", transcript_ids=transcript_ids)


def _units(labels: SegmentLabels, segment_id: int) -> dict[Unit, list[str]]:
    """The codes of one replayed state, by the unit (sentence or span) they apply to."""
    out: dict[Unit, list[str]] = {}
    for code in labels.labels:
        out.setdefault((segment_id, labels.ends.get(code)), []).append(code)
    return out


@dataclass
class Row:
    segment_id: int
    end_segment_id: int | None
    speaker: str
    role: str
    text: str
    coders: dict[str, list[str]]  # every coder of the transcript -> their codes on this unit ([] if none)
    consensus: list[str]
    memos: list[str] = field(default_factory=list)  # the adjudicator's notes on this unit
    decided: bool = False  # the adjudicator has recorded something on this unit
    # What the adjudicator reads the row with: the sentence numbers, each coder's memos and "no code
    # applies", the interviewer's question before the turn, the sentences around it, and the suggestion.
    number: int = 0
    end_number: int | None = None
    coder_memos: dict[str, list[str]] = field(default_factory=dict)
    no_code: list[str] = field(default_factory=list)  # coders who decided that no code applies
    question: str | None = None
    before: str | None = None
    after: str | None = None
    suggestion: "Suggested | None" = None

    @property
    def agreed(self) -> bool:
        return len({tuple(codes) for codes in self.coders.values()}) <= 1

    @property
    def unresolved(self) -> bool:
        return not self.agreed and not self.decided

    @property
    def codes(self) -> list[str]:
        """Every code any coder or the consensus gave this unit."""
        return sorted({c for codes in self.coders.values() for c in codes} | set(self.consensus), key=code_order)


@dataclass(frozen=True)
class Suggested:
    """The model's best code for the row's first sentence, with the evidence it matched."""

    code: str
    label: str
    score: float
    shown: bool  # at or over the run's threshold: coders saw it as a suggestion
    evidence_kind: str
    evidence_text: str


@dataclass
class Adjudication:
    transcript_id: int
    title: str | None
    coders: list[str]
    finished: dict[str, bool]  # coder -> marked finished
    consensus_finished: bool
    rows: list[Row]

    @property
    def unresolved(self) -> list[Row]:
        return [r for r in self.rows if r.unresolved]


def adjudication(session: Session, scope: Visibility, transcript_id: int, *, context: bool = True) -> Adjudication:
    """Every coder's codes and the consensus so far, row by row, for one transcript. `context` adds what the
    adjudicator reads a row with (the question, the neighbouring sentences, the model's suggestion): the
    page and the API want it; counting unresolved rows does not (it reads every suggestion of the run)."""
    scope.require_everyone("the adjudication view")
    transcript = store.get_transcript(session, transcript_id=transcript_id)
    if transcript is None:
        raise NotFound(f"no transcript with id {transcript_id}")
    coding = scope.decisions(session, transcript_ids=[transcript_id])
    finished = progress.finished_coders(session, [transcript_id]).get(transcript_id, set())
    names = {u.id: u.name for u in accounts.users_by_id(
        session, ids={d.coder_id for d in coding} | finished).values()}
    coders = sorted(names.values())
    per_coder: dict[Unit, dict[str, list[str]]] = {}
    coder_memos: dict[int, dict[str, list[str]]] = {}
    no_code: dict[int, list[str]] = {}
    for (segment_id, coder_id), state in replay(coding).items():
        for unit, codes in _units(state, segment_id).items():
            per_coder.setdefault(unit, {})[names[coder_id]] = codes
        if state.memos:
            coder_memos.setdefault(segment_id, {})[names[coder_id]] = list(state.memos)
        if state.no_code:
            no_code.setdefault(segment_id, []).append(names[coder_id])
    decisions = db.decisions(session, transcript_ids=[transcript_id], stage="consensus")
    final: dict[Unit, list[str]] = {}
    for segment_id, state in consensus_labels(decisions).items():
        final |= _units(state, segment_id)
    touched: dict[Unit, list[str]] = {}
    for d in decisions:
        notes = touched.setdefault((d.segment_id, d.end_segment_id), [])
        if d.action == "memo":
            notes.append(d.memo or "")

    segments = list(transcript.segments)
    by_id = {s.id: s for s in segments}
    units = {(s.id, None) for s in segments if s.skip_reason is None} | set(per_coder) | set(final) | set(touched)
    place = {s.id: s.position for s in segments}
    order = {s.id: i for i, s in enumerate(segments)}
    questions = _questions(segments) if context else {}
    suggested = _suggested(session, transcript_id) if context else {}
    rows = []
    for start, end in sorted(units, key=lambda u: (place[u[0]], place.get(u[1], -1) if u[1] else -1)):
        first = by_id[start]
        last = by_id[end] if end else first
        covered = [s for s in segments if first.position <= s.position <= last.position] if end else [first]
        rows.append(Row(start, end, first.speaker, first.role, " ".join(s.text for s in covered),
                        {n: per_coder.get((start, end), {}).get(n, []) for n in coders},
                        final.get((start, end), []), touched.get((start, end), []), (start, end) in touched,
                        number=first.position + 1, end_number=last.position + 1 if end else None,
                        coder_memos=coder_memos.get(start, {}) if end is None else {},
                        no_code=sorted(no_code.get(start, [])) if end is None else [],
                        question=questions.get(first.turn_index),
                        before=segments[order[start] - 1].text if context and order[start] > 0 else None,
                        after=segments[order[last.id] + 1].text
                        if context and order[last.id] + 1 < len(segments) else None,
                        suggestion=suggested.get(start)))
    done = progress.finished_coders(session, [transcript_id], stage="consensus").get(transcript_id, set())
    return Adjudication(transcript_id, transcript.title, coders, {name: c in finished for c, name in names.items()},
                        bool(done), rows)


def _questions(segments: list[Segment]) -> dict[int, str]:
    """turn index -> the interviewer's last turn before it (its words, at most 400 characters)."""
    turns: dict[int, list[Segment]] = {}
    for s in segments:
        turns.setdefault(s.turn_index, []).append(s)
    out, asked = {}, None
    for index in sorted(turns):
        if turns[index][0].role == "interviewer":
            asked = " ".join(s.text for s in turns[index])
            asked = asked if len(asked) <= 400 else asked[:399] + "…"
        elif asked is not None:
            out[index] = asked
    return out


def _suggested(session: Session, transcript_id: int) -> dict[int, Suggested]:
    """segment id -> the current run's best code there (the coders' blind view never includes it: this is
    the model's, not a coder's)."""
    run = store.current_run(session, transcript_id=transcript_id)
    if run is None:
        return {}
    return {s.segment_id: Suggested(s.code_id, s.code_label, s.score, s.score >= run.threshold, s.evidence_kind,
                                    s.evidence_text)
            for s in store.run_suggestions(session, run_id=run.id) if s.rank == 1 and s.end_segment_id is None}


def finish(session: Session, user: User, scope: Visibility, transcript_id: int, *, finished: bool = True,
           unresolved_ok: bool = False) -> None:
    """Mark the consensus finished (or reopen it). Rows still unresolved make it a 409 naming their sentence
    numbers, unless the adjudicator confirms (`unresolved_ok`): a consensus is not closed by accident."""
    require(user, "adjudicator")
    if finished and not unresolved_ok:
        open_rows = adjudication(session, scope, transcript_id, context=False).unresolved
        if open_rows:
            numbers = ", ".join(str(r.number) + (f"–{r.end_number}" if r.end_number else "") for r in open_rows[:30])
            more = f" and {len(open_rows) - 30} more" if len(open_rows) > 30 else ""
            raise Conflict(f"{len(open_rows)} row{'s are' if len(open_rows) != 1 else ' is'} still unresolved "
                           f"(sentence{'s' if len(open_rows) != 1 else ''} {numbers}{more}): resolve them, or "
                           "confirm to finish anyway", {"unresolved": [r.segment_id for r in open_rows]})
    progress.mark(session, user, transcript_id, finished=finished, stage="consensus")


def disagreements(session: Session, scope: Visibility,
                  transcript_ids: Sequence[int] | None = None) -> list[tuple[Adjudication, Row]]:
    """The unresolved rows of every transcript in scope (all by default) that two or more coders coded."""
    scope.require_everyone("the list of disagreements")
    ids = sorted({d.transcript_id for d in scope.decisions(session, transcript_ids=transcript_ids)})
    out = []
    for tid in ids:
        view = adjudication(session, scope, tid, context=False)
        if len(view.coders) >= 2:
            out += [(view, row) for row in view.unresolved]
    return out


# -- recording ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConsensusInput:
    segment_id: int
    action: str
    code: str | None = None
    end_segment_id: int | None = None
    memo: str | None = None


def _codable(session: Session, run: SuggestionRun) -> set[str]:
    """The codable (leaf) codes of the codebook the transcript was last suggested with."""
    snap = db.snapshot(session, digest=run.codebook_digest)
    parts = tuple(Codebook.model_validate(p) for p in snap.content)
    return {c.id for c in ResolvedCodebook(snap.name, parts, tuple(c for p in parts for c in p.codes)).leaves}


def _span(segments: dict[int, Segment], item: ConsensusInput, transcript_id: int) -> int | None:
    """The span's last segment, checked: same transcript and turn, after the first; None for one sentence."""
    first = segments.get(item.segment_id)
    if first is None or first.transcript_id != transcript_id:
        raise NotFound(f"no segment {item.segment_id} in transcript {transcript_id}")
    if item.end_segment_id is None or item.end_segment_id == item.segment_id:
        return None
    last = segments.get(item.end_segment_id)
    if last is None or last.transcript_id != transcript_id:
        raise NotFound(f"no segment {item.end_segment_id} in transcript {transcript_id}")
    if last.turn_index != first.turn_index or last.position < first.position:
        raise InvalidInput(f"a span runs forward within one turn: segment {last.id} does not follow "
                           f"{first.id} in the same turn")
    return last.id


def record(session: Session, user: User, transcript_id: int, items: list[ConsensusInput]) -> list[Decision]:
    """Record consensus decisions on one transcript in one transaction: all are stored, or none."""
    require(user, "adjudicator")
    if not items:
        raise InvalidInput("no consensus decisions sent")
    if store.get_transcript(session, transcript_id=transcript_id) is None:
        raise NotFound(f"no transcript with id {transcript_id}")
    store.lock_transcript(session, transcript_id=transcript_id)  # one adjudicator's batch after another's
    run = store.current_run(session, transcript_id=transcript_id)
    if run is None:
        raise Conflict(f"transcript {transcript_id} has no suggestions yet, so no codebook to code with")
    codable = _codable(session, run)
    segments = db.segments_by_id(session, ids={i.segment_id for i in items}
                                 | {i.end_segment_id for i in items if i.end_segment_id is not None})
    states = consensus_labels(db.decisions(session, transcript_ids=[transcript_id], stage="consensus"))
    rows = []
    for n, item in enumerate(items):
        where = f"decision {n + 1}: " if len(items) > 1 else ""
        try:
            row = _check(item, segments, transcript_id, codable, states.setdefault(item.segment_id, SegmentLabels()))
        except (InvalidInput, Conflict, NotFound) as exc:
            raise type(exc)(where + exc.message, exc.details) from None
        apply(states[item.segment_id], row["action"], row["code_id"], None, row["memo"], row["end_segment_id"])
        rows.append(row | dict(transcript_id=transcript_id, coder_id=user.id, stage="consensus", run_id=run.id,
                               model_id=run.model_id, classifier_id=run.classifier_id,
                               codebook_version=run.codebook_version))
    stored = db.add_decisions(session, rows=rows)
    session.commit()
    return stored


def _check(item: ConsensusInput, segments: dict[int, Segment], transcript_id: int, codable: set[str],
           state: SegmentLabels) -> dict:
    if item.action not in ACTIONS:
        raise InvalidInput(f"a consensus decision is one of {', '.join(ACTIONS)}, not {item.action!r}")
    end = _span(segments, item, transcript_id)
    row = dict(segment_id=item.segment_id, end_segment_id=end, action=item.action, code_id=None, memo=None)
    where = f"segment {item.segment_id}" + (f" to {end}" if end else "")
    if item.action == "memo":
        memo = (item.memo or "").strip()
        if not memo or len(memo) > MAX_MEMO:
            raise InvalidInput(f"a memo is 1 to {MAX_MEMO} characters")
        return row | dict(memo=memo)
    if not item.code:
        raise InvalidInput(f"'{item.action}' needs a code")
    present = item.code in state.labels and state.ends.get(item.code) == end
    if item.action == "add":
        if item.code not in codable:
            raise InvalidInput(f"{item.code!r} is not a codable code of this transcript's codebook")
        if present:
            raise Conflict(f"{item.code} is already a consensus code on {where}")
    elif not present:
        raise Conflict(f"{item.code} is not a consensus code on {where}")
    return row | dict(code_id=item.code)


def take_agreed(session: Session, user: User, scope: Visibility, transcript_id: int) -> list[Decision]:
    """Record as consensus the codes of every row where all coders (two or more) gave the same codes and the
    adjudicator has not decided yet: the agreed part of the coding in one step, each code its own decision."""
    require(user, "adjudicator")
    view = adjudication(session, scope, transcript_id, context=False)
    if len(view.coders) < 2:
        raise InvalidInput(f"transcript {transcript_id} has {len(view.coders)} coder(s): agreement needs two")
    items = [ConsensusInput(r.segment_id, "add", code, r.end_segment_id) for r in view.rows
             if r.agreed and not r.decided for code in next(iter(r.coders.values()), []) if code not in r.consensus]
    if not items:
        return []
    return record(session, user, transcript_id, items)

