"""The sentences of transcripts as units: which are codable (skip_reason None), and which sentences a span
(a decision or suggestion from segment_id to end_segment_id) covers. Agreement counts a span's code on every
codable sentence of the span; the adjudication view shows a span as one row."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.db import decisions as db


@dataclass
class Sentences:
    """Every segment's transcript and place; `codable` lists each transcript's codable sentences in order."""

    place: dict[int, tuple[int, int]] = field(default_factory=dict)  # segment id -> (transcript id, position)
    codable: dict[int, list[int]] = field(default_factory=dict)  # transcript id -> codable segment ids
    order: dict[int, list[int]] = field(default_factory=dict)  # transcript id -> every segment id in order

    @classmethod
    def load(cls, session: Session, transcript_ids: Sequence[int] | None) -> "Sentences":
        out = cls()
        for sid, tid, _turn, position, skip in db.segment_places(session, transcript_ids=transcript_ids):
            out.place[sid] = (tid, position)
            out.order.setdefault(tid, []).append(sid)
            out.codable.setdefault(tid, [])
            if skip is None:
                out.codable[tid].append(sid)
        return out

    def covered(self, start: int, end: int | None) -> list[int]:
        """The codable sentences from `start` to `end` (inclusive; end None: `start` alone if codable)."""
        if start not in self.place:
            return []
        tid, first = self.place[start]
        last = self.place[end][1] if end is not None and end in self.place else first
        codable = set(self.codable.get(tid, ()))
        return [s for s in self.order[tid] if first <= self.place[s][1] <= last and s in codable]
