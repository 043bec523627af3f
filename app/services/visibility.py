"""The one door to coders' work: every read of decisions, labels, memos and coder names goes through a
Visibility, which applies the blind-coding rule once for the API, the pages, reports, exports and agreement.

The rule: under blind coding (AUTOCODER_BLIND_REVIEW, on by default) a coder sees only their own decisions,
labels and memos, and no other coder's name; admins and viewers see everyone's. Without blind coding everyone
sees everyone's. The command line acts as the operator and sees everything (Visibility.everyone()).

A coder's current labels on a segment are replayed here from their decisions, in the order they were made.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.db import accounts
from app.db import decisions as db
from app.db.tables import Decision, User
from app.errors import Forbidden, NotFound
from taxonomy import code_order

ACCEPTED, ADDED, REJECTED = "accepted", "added", "rejected"
SEES_EVERYONE = ("admin", "adjudicator", "viewer")  # an adjudicator compares every coder's codes


@dataclass
class SegmentLabels:
    """One coder's state on one segment: code -> accepted / added / rejected, and memos in order. A code
    applied to a span starting at this segment has its last segment's id in `ends`."""

    codes: dict[str, str] = field(default_factory=dict)
    memos: list[str] = field(default_factory=list)
    ends: dict[str, int] = field(default_factory=dict)
    no_code: bool = False  # the coder decided that no code applies here (until they give one)

    @property
    def labels(self) -> list[str]:
        return sorted((c for c, state in self.codes.items() if state in (ACCEPTED, ADDED)), key=code_order)

    @property
    def rejected(self) -> list[str]:
        return sorted((c for c, state in self.codes.items() if state == REJECTED), key=code_order)


def apply(state: SegmentLabels, action: str, code: str | None, from_code: str | None, memo: str | None,
          end: int | None = None) -> None:
    """One decision's effect on a coder's labels for a segment (or the span from it to segment `end`)."""
    if action in ("accept", "change", "add"):
        state.no_code = False
    elif action == "none":  # no code applies: the coder's codes here are withdrawn, the sentence is decided
        state.no_code = True
        for given in [c for c, s in state.codes.items() if s in (ACCEPTED, ADDED)]:
            state.codes.pop(given)
            state.ends.pop(given, None)
    if action in ("accept", "change", "add") and code is not None:
        if end is None:
            state.ends.pop(code, None)
        else:
            state.ends[code] = end
    elif action == "remove":
        state.ends.pop(code, None)
    if action == "accept":
        state.codes[code] = ACCEPTED
    elif action == "reject":
        state.codes[code] = REJECTED
    elif action == "change":
        state.codes[from_code] = REJECTED
        state.codes[code] = ACCEPTED
    elif action == "add":
        state.codes[code] = ADDED
    elif action == "remove":
        state.codes.pop(code, None)
    elif action == "memo":
        state.memos.append(memo or "")


def replay(decisions: Iterable[Decision]) -> dict[tuple[int, int], SegmentLabels]:
    """(segment id, coder id) -> current labels, from decisions in the order they were made."""
    states: dict[tuple[int, int], SegmentLabels] = {}
    for d in decisions:
        apply(states.setdefault((d.segment_id, d.coder_id), SegmentLabels()), d.action, d.code_id,
              d.from_code_id, d.memo, d.end_segment_id)
    return states


@dataclass(frozen=True)
class Visibility:
    """What one viewer may read of coders' work. viewer None: the operator at the command line (everything)."""

    viewer: User | None
    blind: bool = True

    @classmethod
    def everyone(cls) -> "Visibility":
        return cls(None, blind=False)

    @property
    def sees_everyone(self) -> bool:
        return self.viewer is None or not self.blind or self.viewer.role in SEES_EVERYONE

    def require_everyone(self, what: str) -> None:
        """Forbidden for a coder under blind coding: `what` needs other coders' work."""
        if not self.sees_everyone:
            raise Forbidden(f"coding is blind: {what} is for admins, adjudicators and viewers until coding is "
                            "unblinded")

    def coder(self, session: Session, name: str | None) -> User:
        """The user whose work is asked for: the viewer by default, anyone else only if the viewer may see them."""
        if self.viewer is not None and (name is None or name == self.viewer.name):
            return self.viewer
        if not self.sees_everyone:
            raise Forbidden("coding is blind: coders see only their own decisions until an admin shows them")
        other = accounts.get_user(session, name=name) if name else None
        if other is None:
            raise NotFound(f"no user {name!r}")
        return other

    def coder_ids(self, session: Session, names: Sequence[str] | None = None) -> set[int] | None:
        """The coders whose work may be read, narrowed to `names` if given; None means everyone."""
        if names:
            missing, ids = [], set()
            for name in dict.fromkeys(names):
                try:
                    ids.add(self.coder(session, name).id)
                except NotFound:
                    missing.append(name)
            if missing:
                raise NotFound(f"no user {', '.join(missing)}")
            return ids
        return None if self.sees_everyone else {self.viewer.id}

    def decisions(self, session: Session, *, transcript_ids: Sequence[int] | None = None,
                  segment_ids: Sequence[int] | None = None, coders: Sequence[str] | None = None) -> list[Decision]:
        """The decisions (with their memos) this viewer may read, oldest first."""
        return db.decisions(session, transcript_ids=transcript_ids, segment_ids=segment_ids,
                            coder_ids=self.coder_ids(session, coders))

    def labels(self, session: Session, *, transcript_ids: Sequence[int] | None = None,
               segment_ids: Sequence[int] | None = None,
               coders: Sequence[str] | None = None) -> dict[tuple[int, int], SegmentLabels]:
        """(segment id, coder id) -> current labels, for the coders this viewer may read."""
        return replay(self.decisions(session, transcript_ids=transcript_ids, segment_ids=segment_ids,
                                     coders=coders))

    def names(self, session: Session, decisions: Iterable[Decision]) -> dict[int, str]:
        """coder id -> name for the coders of these decisions, each of whom this viewer must be allowed to see."""
        ids = {d.coder_id for d in decisions}
        if not self.sees_everyone and ids - {self.viewer.id}:
            raise Forbidden("coding is blind: coders see only their own decisions")  # a route read past the rule
        return {u.id: u.name for u in accounts.users_by_id(session, ids=ids).values()}

    def decided_segment_ids(self, session: Session) -> set[int]:
        """The segments the viewer has decided on (their own queue; blind or not)."""
        return set(db.decided_segment_ids(session, coder_id=self.viewer.id)) if self.viewer else set()

    def decided_per_transcript(self, session: Session, *, transcript_ids: Sequence[int]) -> dict[int, int]:
        """transcript id -> segments the viewer has decided on there (their own progress)."""
        return db.decided_per_transcript(session, coder_id=self.viewer.id, transcript_ids=transcript_ids) \
            if self.viewer else {}
