"""Who has finished which transcript: a coder marks a transcript finished (or reopens it); an adjudicator marks
its consensus finished. Agreement compares coders only on transcripts each of them finished, and an admin's
progress view lists every coder per transcript.

Marks are appended, never changed: the newest mark per transcript, coder and stage holds.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db import accounts, marks, store
from app.db import decisions as db
from app.db.tables import User
from app.errors import NotFound
from app.services.accounts import require
from app.services.visibility import Visibility

STAGES = ("coding", "consensus")


def mark(session: Session, user: User, transcript_id: int, *, finished: bool = True,
         stage: str = "coding") -> None:
    """Record that `user` finished (or reopened) their coding, or the consensus, of a transcript."""
    require(user, "adjudicator" if stage == "consensus" else "coder")
    if store.get_transcript(session, transcript_id=transcript_id) is None:
        raise NotFound(f"no transcript with id {transcript_id}")
    marks.add_mark(session, transcript_id=transcript_id, coder_id=user.id, finished=finished, stage=stage)
    session.commit()


def undecided(session: Session, user: User, transcript_id: int) -> int:
    """Sentences to code in the transcript that `user` has not decided on in their own coding (a memo alone is
    not a decision): what finishing leaves behind, said back to the coder."""
    codable = db.codable_per_transcript(session, transcript_ids=[transcript_id]).get(transcript_id, 0)
    decided = db.decided_per_transcript(session, coder_id=user.id, transcript_ids=[transcript_id])
    return max(codable - decided.get(transcript_id, 0), 0)


def finished_coders(session: Session, transcript_ids: Sequence[int] | None = None,
                    stage: str = "coding") -> dict[int, set[int]]:
    """transcript id -> ids of the coders who have it marked finished (stage "consensus": adjudicators)."""
    return marks.finished(session, transcript_ids=transcript_ids, stage=stage)


@dataclass(frozen=True)
class CoderProgress:
    decided: int  # sentences to code on which the coder made any decision
    finished: bool  # the coder's newest mark on the transcript says finished


@dataclass(frozen=True)
class TeamProgress:
    coders: list[User]  # the coders, and anyone else who coded or marked one of these transcripts
    codable: dict[int, int]  # transcript id -> sentences to code
    cells: dict[tuple[int, int], CoderProgress]  # (transcript id, coder id) -> that coder's progress there

    def of(self, transcript_id: int, coder_id: int) -> CoderProgress:
        return self.cells.get((transcript_id, coder_id), CoderProgress(0, False))


def team_progress(session: Session, scope: Visibility, transcript_ids: Sequence[int]) -> TeamProgress:
    """Every coder's progress on these transcripts. Forbidden for a coder under blind coding: it shows others'
    work (how far each has got)."""
    scope.require_everyone("every coder's progress")
    decided = db.decided_per_coder(session, transcript_ids=transcript_ids)
    done = finished_coders(session, transcript_ids)
    involved = {coder for _, coder in decided} | {coder for coders in done.values() for coder in coders}
    team = [u for u in accounts.list_users(session)
            if u.id in involved or (u.active and u.role == "coder")]  # an adjudicator who codes is involved
    cells = {(tid, u.id): CoderProgress(decided.get((tid, u.id), 0), u.id in done.get(tid, set()))
             for tid in transcript_ids for u in team}
    return TeamProgress(team, db.codable_per_transcript(session, transcript_ids=transcript_ids), cells)
