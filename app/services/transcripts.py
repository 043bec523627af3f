"""Managing a stored transcript: edit its metadata (participant, role, site, arm, title, speaker -> role map)
with an audit row, and re-derive its sentences' roles when the map or the participant's role changes.

Who may edit: adjudicators and admins. The metadata is the study's, shared by every coder: it decides which
column of Table 2 a participant's codes fall in and which sentences are coded at all, so a coder (who under
blind coding sees only their own work) does not change it for the team; the adjudicator, who manages the
team's final codes, and the admin do.

Re-deriving roles never touches coders' work: decisions are kept as they are. A sentence that changes between
an interviewer's and a participant's role changes its skip_reason as import would have set it; the response
says which suggestions that left stale and how to refresh them (a new run), rather than deleting anything.
"""

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.config import ROLES, Settings
from app.db import edits as db
from app.db import store
from app.db.tables import Transcript, TranscriptEdit, User
from app.engine.segment import RoleMapper
from app.engine.transcripts import other_speakers, other_speakers_warning, skip_reason
from app.errors import InvalidInput, NotFound
from app.services.accounts import require

EDITABLE = ("title", "participant_id", "role", "site", "trial_arm", "speaker_roles")
LIMITS = {"title": 300, "participant_id": 100, "site": 100, "trial_arm": 100}
MAX_SPEAKERS = 500  # entries in a speaker map


@dataclass
class Edited:
    transcript: Transcript
    edit: TranscriptEdit | None  # None: nothing changed, so no audit row
    roles_changed: dict[str, list[str]] = field(default_factory=dict)  # speaker -> [old role, new role]
    now_coded: int = 0  # sentences that were skipped as the interviewer's and are now coded
    now_skipped: int = 0  # sentences now skipped as the interviewer's
    decisions_kept: int = 0  # decisions on sentences whose role changed: kept as they were
    notes: list[str] = field(default_factory=list)  # what is stale now and how to refresh it


def warnings(transcript: Transcript) -> list[str]:
    """What a researcher should fix on a stored transcript (speakers that fell to role 'other')."""
    warning = other_speakers_warning(other_speakers(transcript.segments))
    return [warning] if warning else []


def _clean(name: str, value) -> object:
    if name == "speaker_roles":
        if value is None:
            return None
        if not isinstance(value, dict) or len(value) > MAX_SPEAKERS:
            raise InvalidInput(f"speaker_roles is a map of at most {MAX_SPEAKERS} speaker labels to roles")
        cleaned = {}
        for speaker, role in value.items():
            label = str(speaker).strip()
            if not label or len(label) > 100:
                raise InvalidInput(f"speaker label {speaker!r}: 1 to 100 characters")
            if role not in ROLES:
                raise InvalidInput(f"speaker {label!r}: unknown role {role!r}; use one of {', '.join(ROLES)}")
            cleaned[label] = role
        return cleaned or None
    if value is None:
        return None
    text = str(value).strip()
    if name == "role" and text and text not in ROLES:
        raise InvalidInput(f"unknown role {text!r}; use one of {', '.join(ROLES)}")
    if len(text) > LIMITS.get(name, 32):
        raise InvalidInput(f"{name} is at most {LIMITS.get(name, 32)} characters")
    return text or None


def edit(session: Session, settings: Settings, who: User, transcript_id: int, changes: dict,
         editor_name: str | None = None) -> Edited:
    """Apply `changes` (fields of EDITABLE; None clears one; speaker_roles replaces the whole map), write one
    audit row of what really changed, re-derive roles when the map or the participant's role changed, and
    commit. `editor_name`: for the command line, which names the editor without an API token."""
    require(who, "adjudicator")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(f"cannot edit {', '.join(unknown)}; editable: {', '.join(EDITABLE)}")
    cleaned = {name: _clean(name, value) for name, value in changes.items()}
    if not store.lock_transcript(session, transcript_id=transcript_id):  # no decision or run interleaves
        raise NotFound(f"no transcript with id {transcript_id}")
    transcript = store.get_transcript(session, transcript_id=transcript_id)
    before = {name: getattr(transcript, name) for name in EDITABLE}
    diff = {name: [before[name], value] for name, value in cleaned.items() if before[name] != value}
    result = Edited(transcript, None)
    if not diff:
        session.commit()
        return result
    for name, (_, value) in diff.items():
        setattr(transcript, name, value)
    if "speaker_roles" in diff or "role" in diff:
        _rederive(session, settings, transcript, before, result)
        if result.roles_changed:
            diff["segment_roles"] = [{s: r[0] for s, r in result.roles_changed.items()},
                                     {s: r[1] for s, r in result.roles_changed.items()}]
    result.edit = db.add_edit(session, transcript_id=transcript.id, edited_by=who.id,
                              edited_by_name=editor_name or who.name, changes=diff)
    session.commit()
    return result


def _rederive(session: Session, settings: Settings, transcript: Transcript, before: dict, result: Edited) -> None:
    """Give every sentence the role the new map and participant role derive. A sentence whose stored role is
    not what the old ones derived had its role declared in the file (a turn table's role column): it keeps
    it, unless the new map names its speaker."""
    old = RoleMapper(settings.role_patterns, before["speaker_roles"], before["role"])
    new = RoleMapper(settings.role_patterns, transcript.speaker_roles, transcript.role)
    segments = transcript.segments
    # Whether the interviewer was coded at import is not stored; a coded interviewer sentence shows it was.
    code_interviewer = any(s.role == "interviewer" and s.skip_reason is None for s in segments)
    changed = []
    for seg in segments:
        named = seg.speaker.strip().lower() in new.speaker_roles
        if seg.role != old.role_for(seg.speaker) and not named:
            continue
        role = new.role_for(seg.speaker)
        if role == seg.role:
            continue
        result.roles_changed.setdefault(seg.speaker, [seg.role, role])
        was = seg.skip_reason
        seg.role = role
        seg.skip_reason = skip_reason(seg, code_interviewer, settings.min_words)
        if was is not None and seg.skip_reason is None:
            result.now_coded += 1
        elif was is None and seg.skip_reason is not None:
            result.now_skipped += 1
        changed.append(seg.id)
    result.decisions_kept = db.decisions_touching(session, segment_ids=changed)
    tid = transcript.id
    if result.now_coded:
        result.notes.append(f"{result.now_coded} sentence(s) are now coded but have no suggestions yet: a new run "
                            f"suggests codes for them (POST /transcripts/{tid}/runs)")
    if result.now_skipped:
        result.notes.append(f"{result.now_skipped} sentence(s) are now the interviewer's and no longer coded; the "
                            f"current run's suggestions on them are stale until a new run (POST "
                            f"/transcripts/{tid}/runs)")
    if result.decisions_kept:
        result.notes.append(f"{result.decisions_kept} decision(s) on sentences whose role changed are kept as "
                            "they were")


def edits(session: Session, transcript_id: int) -> list[TranscriptEdit]:
    """A transcript's audit rows, oldest first."""
    if store.get_transcript(session, transcript_id=transcript_id) is None:
        raise NotFound(f"no transcript with id {transcript_id}")
    return db.edits(session, transcript_id=transcript_id)
