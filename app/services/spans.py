"""Spans: a code on consecutive sentences of one speaker turn, from its first sentence to its last.

A span is stored as (first segment, last segment) on a decision or a suggestion (end_segment_id); its
characters are the transcript's text from the first sentence's start to the last one's end, which is what
exports, REFI-QDA selections and the API show. A span covers codable sentences only: an interviewer's or a
too-short sentence inside it would put a code on text nobody coded (docs/spans.md).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db import decisions as db
from app.db.tables import Segment
from app.errors import InvalidInput

SPAN_ACTIONS = ("accept", "change", "add")  # the actions that put a code on text, and so may cover a span


@dataclass(frozen=True)
class Span:
    """The characters of a span (or of one sentence, where first == last)."""

    first_segment_id: int
    last_segment_id: int
    start: int
    end: int
    text: str


def check_span(session: Session, first: Segment, last: Segment, action: str) -> int | None:
    """The last segment's id for a decision on first..last, None when it is one sentence; InvalidInput saying
    why when first..last is not a run of codable sentences of one turn."""
    if last.id == first.id:
        return None
    if action not in SPAN_ACTIONS:
        raise InvalidInput(f"end_segment_id is for {', '.join(SPAN_ACTIONS)}: '{action}' is on one segment")
    if last.transcript_id != first.transcript_id:
        raise InvalidInput(f"segment {last.id} is on transcript {last.transcript_id}, segment {first.id} on "
                           f"transcript {first.transcript_id}: a span covers sentences of one turn")
    if last.turn_index != first.turn_index:
        raise InvalidInput(f"segment {last.id} is in turn {last.turn_index} and segment {first.id} in turn "
                           f"{first.turn_index}: a span covers consecutive sentences of one turn")
    if last.position < first.position:
        raise InvalidInput(f"a span ends after it starts: end segment {last.id} comes before segment {first.id}")
    for seg in db.segments_in_range(session, transcript_id=first.transcript_id, first=first.position,
                                    last=last.position):
        if seg.skip_reason is not None:
            raise InvalidInput(f"segment {seg.id} ({seg.text[:40]!r}) in the span is not coded ({seg.skip_reason}): "
                               "a span covers codable sentences only; end it before that sentence")
    return last.id


def describe(session: Session, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Span]:
    """(first segment id, last segment id) -> its Span, for every pair (unknown segments are left out)."""
    pairs = set(pairs)
    segments = db.segments_by_id(session, ids={s for pair in pairs for s in pair})
    out = {}
    for first_id, last_id in pairs:
        first, last = segments.get(first_id), segments.get(last_id)
        if first is None or last is None:
            continue
        text = first.transcript.text[first.char_start:last.char_end]
        out[(first_id, last_id)] = Span(first_id, last_id, first.char_start, last.char_end, text)
    return out
