"""Exports: every segment with its suggestions and each coder's codes, the decision trail, the reports' tables,
as CSV, JSONL or Parquet; a coded project as REFI-QDA .qdpx."""

import csv
import io
import json
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import decisions as db
from app.db.tables import Segment, Suggestion, Transcript
from app.errors import InvalidInput
from app.exchange.refi import Selection, SourceDoc, project_qdpx
from app.services.spans import describe
from app.services.visibility import Visibility, replay
from taxonomy import ResolvedCodebook

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


def segment_rows(session: Session, scope: Visibility, transcript_ids: list[int] | None = None) -> list[dict]:
    """One row per segment: transcript metadata, speaker and role, offsets and times, the current run's
    shown suggestions (codes and scores), and the current codes and rejections of every coder `scope` shows."""
    transcripts = _scope(session, transcript_ids)
    ids = [t.id for t in transcripts]
    runs = {r.transcript_id: r for r in db.current_runs(session, transcript_ids=ids)}
    shown: dict[int, list[Suggestion]] = defaultdict(list)
    for s in db.shown_suggestions(session, run_ids=[r.id for r in runs.values()]):
        shown[s.segment_id].append(s)
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
            confirmed = sorted({c for codes in labels.get(seg.id, {}).values() for c in codes})
            rows.append({
                "transcript_id": t.id, "title": t.title, "participant_id": t.participant_id, "site": t.site,
                "trial_arm": t.trial_arm, "segment_id": seg.id, "position": seg.position, "turn": seg.turn_index,
                "speaker": seg.speaker, "role": seg.role, "start": seg.char_start, "end": seg.char_end,
                "time_start": seg.time_start, "time_end": seg.time_end, "text": seg.text,
                "skip_reason": seg.skip_reason, "run_id": run.id if run else None,
                "suggested_codes": [s.code_id for s in sugg], "suggested_scores": [round(s.score, 4) for s in sugg],
                "suggested_span_ends": {s.code_id: s.end_segment_id for s in sugg if s.end_segment_id is not None},
                "confirmed_codes": confirmed, "codes_by_coder": labels.get(seg.id, {}),
                "span_ends_by_coder": spans.get(seg.id, {}), "rejected_by_coder": rejected.get(seg.id, {}),
            })
    return rows


def decision_rows(session: Session, scope: Visibility, transcript_ids: list[int] | None = None) -> list[dict]:
    """The decision trail (with memos) of the coders `scope` shows; a decision on a span carries its last
    segment and the span's character offsets."""
    decisions = scope.decisions(session, transcript_ids=transcript_ids)
    names = scope.names(session, decisions)
    spans = describe(session, [(d.segment_id, d.end_segment_id) for d in decisions if d.end_segment_id is not None])
    return [{"decision_id": d.id, "transcript_id": d.transcript_id, "segment_id": d.segment_id,
             "end_segment_id": d.end_segment_id,
             "span_start": span.start if (span := spans.get((d.segment_id, d.end_segment_id))) else None,
             "span_end": span.end if span else None, "coder": names[d.coder_id], "action": d.action,
             "code": d.code_id, "from_code": d.from_code_id,
             "suggestion_id": d.suggestion_id, "run_id": d.run_id, "model": d.model_id,
             "classifier_version": d.classifier_id, "codebook_version": d.codebook_version, "memo": d.memo,
             "batch_id": d.batch_id, "created_at": d.created_at.isoformat()} for d in decisions]


def project(session: Session, scope: Visibility, book: ResolvedCodebook, name: str,
            transcript_ids: list[int] | None = None) -> bytes:
    """The coded project as .qdpx: each transcript a text source, the confirmed codes of each coder `scope`
    shows as codings. A code on one sentence is a selection of that sentence; a code on a span is one
    selection from the span's first sentence's start to its last one's end."""
    transcripts = _scope(session, transcript_ids)
    codable = {c.id for c in book.leaves}
    decisions = scope.decisions(session, transcript_ids=[t.id for t in transcripts])
    names = scope.names(session, decisions)
    codings: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)  # (first, last segment) -> codings
    for (segment_id, coder_id), state in sorted(replay(decisions).items()):
        for c in state.labels:
            if c in codable:
                codings[(segment_id, state.ends.get(c, segment_id))].append((names[coder_id], c))
    segments = db.segments_by_id(session, ids={s for pair in codings for s in pair})
    sources = []
    for t in transcripts:
        here = sorted((segments[a].position, segments[b].position, a, b) for a, b in codings
                      if segments[a].transcript_id == t.id)
        selections = [Selection(str(a) if a == b else f"{a}-{b}", segments[a].char_start, segments[b].char_end,
                                codings[(a, b)]) for _, _, a, b in here]
        sources.append(SourceDoc(str(t.id), t.title or f"Transcript {t.id}", t.text, t.created_at, selections))
    return project_qdpx(name, book, sorted(set(names.values())), sources)


def current_codebook_name(session: Session, default: str) -> str:
    """The codebook most transcripts were last suggested with (what a project export should carry)."""
    counts: dict[str, int] = defaultdict(int)
    for run in db.current_runs(session):
        counts[run.codebook_name] += 1
    return max(counts, key=counts.get) if counts else default

