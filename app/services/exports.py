"""Exports: every segment with its suggestions and each coder's codes, the decision trail, the reports' tables,
as CSV, JSONL or Parquet; a coded project as REFI-QDA .qdpx."""

import csv
import io
import json
from collections import defaultdict
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import accounts
from app.db import decisions as db
from app.db.tables import Segment, Suggestion, Transcript
from app.engine.roles import PARTICIPANT_ROLES
from app.errors import InvalidInput
from app.exchange.refi import Case, Note, Selection, SourceDoc, project_qdpx
from app.services import sources
from app.services.spans import describe
from app.services.visibility import Visibility, replay
from taxonomy import ResolvedCodebook, code_order

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson",
           "parquet": "application/vnd.apache.parquet"}


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): such text cells get a
# leading apostrophe, which spreadsheets show as text and hide. Numbers are written as they are.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, list):
        value = "; ".join(map(str, value))
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def encode(rows: list[dict], fmt: str) -> bytes:
    """Rows as a file. CSV joins list values with '; ' (codes stay text: 10.10 is not 10.1) and is
    formula-safe: a text cell starting with = + - @ tab or CR is prefixed with ' (JSONL and Parquet keep
    every value exactly)."""
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows).encode("utf-8")
    if fmt == "csv":
        out = io.StringIO()
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            for r in rows:
                writer.writerow({k: _cell(v) for k, v in r.items()})
        return out.getvalue().encode("utf-8")
    if fmt == "parquet":
        table = pa.Table.from_pylist([{k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v
                                       for k, v in r.items()} for r in rows])
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return buffer.getvalue()
    raise InvalidInput(f"format is one of {', '.join(FORMATS)}, not {fmt!r}")


def _scope(session: Session, transcript_ids: list[int] | None) -> list[Transcript]:
    query = select(Transcript).order_by(Transcript.id)
    if transcript_ids is not None:
        query = query.where(Transcript.id.in_(transcript_ids))
    return list(session.scalars(query))


def segment_rows(session: Session, scope: Visibility, transcript_ids: list[int] | None = None,
                 source: str | None = None) -> list[dict]:
    """One row per segment: transcript metadata, speaker and role, offsets and times, the current run's
    shown suggestions (codes and scores), the codes of the chosen source (sources.HELP; the `source` column
    names it), and the current codes and rejections of every coder `scope` shows."""
    transcripts = _scope(session, transcript_ids)
    ids = [t.id for t in transcripts]
    runs = {r.transcript_id: r for r in db.current_runs(session, transcript_ids=ids)}
    shown: dict[int, list[Suggestion]] = defaultdict(list)
    for s in db.shown_suggestions(session, run_ids=[r.id for r in runs.values()]):
        shown[s.segment_id].append(s)
    chosen = sources.choose(session, scope, source, transcript_ids)
    final = {s: sorted({c for state in states.values() for c in state.labels}, key=code_order)
             for s, states in sources.labels(session, scope, chosen, ids).items()}
    decisions = scope.decisions(session, transcript_ids=ids)
    names = scope.names(session, decisions)
    labels: dict[int, dict[str, list[str]]] = defaultdict(dict)
    rejected: dict[int, dict[str, list[str]]] = defaultdict(dict)
    spans: dict[int, dict[str, dict[str, int]]] = defaultdict(dict)  # segment -> coder -> code -> span's last
    for (segment_id, coder_id), state in replay(decisions).items():
        if state.labels:
            labels[segment_id][names[coder_id]] = state.labels
        if on_spans := {c: end for c, end in sorted(state.ends.items()) if c in state.labels}:
            spans[segment_id][names[coder_id]] = on_spans
        if state.rejected:
            rejected[segment_id][names[coder_id]] = state.rejected
    rows = []
    for t in transcripts:
        run = runs.get(t.id)
        for seg in session.scalars(select(Segment).where(Segment.transcript_id == t.id).order_by(Segment.position)):
            sugg = sorted(shown.get(seg.id, []), key=lambda s: s.rank)
            rows.append({
                "transcript_id": t.id, "title": t.title, "participant_id": t.participant_id, "site": t.site,
                "trial_arm": t.trial_arm, "segment_id": seg.id, "position": seg.position, "turn": seg.turn_index,
                "speaker": seg.speaker, "role": seg.role, "start": seg.char_start, "end": seg.char_end,
                "time_start": seg.time_start, "time_end": seg.time_end, "text": seg.text,
                "skip_reason": seg.skip_reason, "run_id": run.id if run else None,
                "suggested_codes": [s.code_id for s in sugg], "suggested_scores": [round(s.score, 4) for s in sugg],
                "suggested_span_ends": {s.code_id: s.end_segment_id for s in sugg if s.end_segment_id is not None},
                "confirmed_codes": final.get(seg.id, []), "source": chosen.of(t.id),
                "codes_by_coder": labels.get(seg.id, {}), "span_ends_by_coder": spans.get(seg.id, {}),
                "rejected_by_coder": rejected.get(seg.id, {}),
            })
    return rows


def decision_rows(session: Session, scope: Visibility, transcript_ids: list[int] | None = None) -> list[dict]:
    """The decision trail (with memos) of the coders `scope` shows, and the adjudicator's consensus decisions
    (stage "consensus") for those who may see everyone's work; a decision on a span carries its last segment
    and the span's character offsets."""
    decisions = scope.decisions(session, transcript_ids=transcript_ids)
    if scope.sees_everyone:
        decisions = sorted(decisions + db.decisions(session, transcript_ids=transcript_ids, stage="consensus"),
                           key=lambda d: d.id)
    names = scope.names(session, decisions)
    spans = describe(session, [(d.segment_id, d.end_segment_id) for d in decisions if d.end_segment_id is not None])
    return [{"decision_id": d.id, "transcript_id": d.transcript_id, "segment_id": d.segment_id,
             "end_segment_id": d.end_segment_id,
             "span_start": span.start if (span := spans.get((d.segment_id, d.end_segment_id))) else None,
             "span_end": span.end if span else None, "stage": d.stage, "coder": names[d.coder_id],
             "action": d.action, "code": d.code_id, "from_code": d.from_code_id,
             "suggestion_id": d.suggestion_id, "run_id": d.run_id, "model": d.model_id,
             "classifier_version": d.classifier_id, "codebook_version": d.codebook_version, "memo": d.memo,
             "batch_id": d.batch_id, "created_at": d.created_at.isoformat()} for d in decisions]


def project(session: Session, scope: Visibility, book: ResolvedCodebook, name: str,
            transcript_ids: list[int] | None = None, source: str | None = None) -> bytes:
    """The coded project as .qdpx: each transcript a text source; as codings the confirmed codes of the chosen
    source (sources.HELP): consensus codes as the user "consensus", a coder's as that coder; memos as notes on
    the coding or sentence they were written on; each participant a case with their role, site and arm. A
    code on one sentence is a selection of that sentence; a code on a span is one selection from the span's
    first sentence's start to its last one's end."""
    transcripts = _scope(session, transcript_ids)
    tids = [t.id for t in transcripts]
    codable = {c.id for c in book.leaves}
    chosen = sources.choose(session, scope, source, transcript_ids)
    codings: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)  # (first, last segment) -> codings
    users: set[str] = set()
    for segment_id, states in sorted(sources.labels(session, scope, chosen, tids).items()):
        for who, state in sorted(states.items()):
            for c in state.labels:
                if c in codable:
                    codings[(segment_id, state.ends.get(c, segment_id))].append((who, c))
                    users.add(who)
    notes, coded_at = _memos_and_times(session, scope, chosen, tids)
    users |= {note.author for segment_notes in notes.values() for note in segment_notes}
    for segment_id in notes:  # a sentence with memos but no coding is still a selection, to hang them on
        codings.setdefault(_note_home(codings, segment_id, notes[segment_id]), [])
    segments = db.segments_by_id(session, ids={s for pair in codings for s in pair})
    homes = {segment_id: _note_home(codings, segment_id, notes[segment_id]) for segment_id in notes}
    docs = []
    for t in transcripts:
        here = sorted((segments[a].position, segments[b].position, a, b) for a, b in codings
                      if segments[a].transcript_id == t.id)
        selections = [Selection(str(a) if a == b else f"{a}-{b}", segments[a].char_start, segments[b].char_end,
                                codings[(a, b)], notes[a] if homes.get(a) == (a, b) else [], coded_at[a])
                      for _, _, a, b in here]
        docs.append(SourceDoc(str(t.id), t.title or f"Transcript {t.id}", t.text, t.created_at, selections,
                              _attributes([t])))
    return project_qdpx(name, book, sorted(users), docs, _cases(transcripts))


def _note_home(codings: dict[tuple[int, int], list[tuple[str, str]]], segment_id: int,
               notes: list[Note]) -> tuple[int, int]:
    """The selection a sentence's memos hang on: the one starting there whose codings a memo is about (a memo
    on a code applied to a span goes with the span), else the sentence's own."""
    starting = [key for key in codings if key[0] == segment_id]
    about = {(n.author, n.code) for n in notes if n.code}
    for key in sorted(starting, key=lambda k: k != (segment_id, segment_id)):
        if about & set(codings[key]):
            return key
    return (segment_id, segment_id)


def _memos_and_times(session: Session, scope: Visibility, chosen: sources.Source, transcript_ids: list[int]) -> tuple[
        dict[int, list[Note]], dict[int, dict[tuple[str, str], datetime]]]:
    """segment id -> memos as notes (every coder's the viewer may read, and the adjudicator's when the source is
    the consensus); segment id -> (who, code) -> when the source's codes were last applied there."""
    decisions = scope.decisions(session, transcript_ids=transcript_ids)
    names = scope.names(session, decisions)
    credited = dict(names)
    if chosen.is_consensus:
        adjudicated = db.decisions(session, transcript_ids=transcript_ids, stage="consensus")
        adjudicators = {u.id: u.name for u in accounts.users_by_id(
            session, ids={d.coder_id for d in adjudicated}).values()}
        decisions = sorted([*decisions, *adjudicated], key=lambda d: d.id)
        names = names | adjudicators
        credited = {d.coder_id: sources.CONSENSUS_CODER for d in adjudicated}
    notes: dict[int, list[Note]] = defaultdict(list)
    coded_at: dict[int, dict[tuple[str, str], datetime]] = defaultdict(dict)
    for d in decisions:  # oldest first
        if d.action == "memo" and d.memo:
            notes[d.segment_id].append(Note(str(d.id), names[d.coder_id], d.memo, d.created_at, d.code_id))
        elif d.action in ("accept", "add", "change") and d.code_id and d.coder_id in credited \
                and (d.stage == "consensus") == chosen.is_consensus:
            coded_at[d.segment_id][credited[d.coder_id], d.code_id] = d.created_at
    return notes, coded_at


def _attributes(transcripts: list[Transcript]) -> dict[str, str | None]:
    """role, site and arm: each transcript's value, or a participant's distinct values joined by '; '."""
    def joined(values: list[str | None]) -> str | None:
        return "; ".join(sorted({v for v in values if v})) or None

    return {"role": joined([_role(t) for t in transcripts]), "site": joined([t.site for t in transcripts]),
            "arm": joined([t.trial_arm for t in transcripts])}


def _role(transcript: Transcript) -> str | None:
    """The participant's role as imported, or, when none was given, the one participant role their speech was
    read as ("SP3:" is a supported peer): a case keeps its role when a team imports without --role."""
    if transcript.role:
        return transcript.role
    spoken = {s.role for s in transcript.segments if s.role in PARTICIPANT_ROLES}
    return spoken.pop() if len(spoken) == 1 else None


def _cases(transcripts: list[Transcript]) -> list[Case]:
    """A case per participant id with their transcripts as its sources (transcripts without one: no case)."""
    by_participant: dict[str, list[Transcript]] = defaultdict(list)
    for t in transcripts:
        if t.participant_id:
            by_participant[t.participant_id].append(t)
    return [Case(pid, pid, _attributes(ts), [str(t.id) for t in ts]) for pid, ts in sorted(by_participant.items())]


def current_codebook_name(session: Session, default: str) -> str:
    """The codebook most transcripts were last suggested with (what a project export should carry)."""
    counts: dict[str, int] = defaultdict(int)
    for run in db.current_runs(session):
        counts[run.codebook_name] += 1
    return max(counts, key=counts.get) if counts else default

