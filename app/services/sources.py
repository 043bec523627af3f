"""Whose codes a report or export counts: the consensus (the adjudicator's final codes), one coder's, or every
coder's pooled (a code any coder gave counts). Reports default to the consensus once any exists for the
transcripts in scope, and otherwise fall back to pooled codes, saying so: a paper should say which it reports.

Values: "consensus", "pooled", "coder:<name>", "all", or "auto" (None, and the older "confirmed", mean auto).
Never silently partial: with auto, a coded transcript that has no consensus yet is counted with its coders'
codes pooled ("consensus+pooled"); with "consensus" it is left out; either way the label (a table's caption)
names those transcripts and every adjudicated one whose consensus still has unresolved rows or is not marked
finished. "all" gives the consensus (as the user "consensus") and every coder as themselves, side by side.
Every read goes through Visibility: under blind coding a coder's auto source is their own codes, and the
consensus and other coders' codes are refused.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db import store
from app.errors import InvalidInput
from app.services import consensus
from app.services.visibility import SegmentLabels, Visibility, replay

AUTO, CONSENSUS, POOLED, CODER, ALL = "auto", "consensus", "pooled", "coder:", "all"
MIXED = "consensus+pooled"  # auto: the consensus where one exists, every coder pooled elsewhere
CONSENSUS_CODER = "consensus"  # who a consensus code is credited to in reports and exports
HELP = ("consensus, pooled (all coders), coder:<name>, all (the consensus and every coder side by side), or "
        "auto (each transcript's consensus where one exists, its coders pooled elsewhere)")
NAMED = 12  # transcripts named in a label, at most


@dataclass(frozen=True)
class Source:
    name: str  # "consensus", "consensus+pooled", "pooled", "all" or "coder:<name>": the output's source field
    label: str  # the same in words, for a table's caption or a plot's title
    coder: str | None = None
    pooled_for: frozenset[int] = frozenset()  # transcripts without consensus, read with their coders pooled

    @property
    def is_consensus(self) -> bool:
        return self.name in (CONSENSUS, MIXED, ALL)

    def of(self, transcript_id: int) -> str:
        """Which source one transcript's codes come from."""
        if self.name == MIXED:
            return POOLED if transcript_id in self.pooled_for else CONSENSUS
        return self.name


def choose(session: Session, scope: Visibility, value: str | None,
           transcript_ids: Sequence[int] | None = None, coders: Sequence[str] | None = None) -> Source:
    """The source `value` names, or for auto: the named `coders`' codes if any are named, else the consensus
    if any exists in scope (and the viewer may see it), else every coder's codes pooled."""
    value = (value or AUTO).strip()
    if value in (AUTO, "confirmed") and coders:  # asking for named coders' codes is asking for theirs
        value = CODER + coders[0] if len(set(coders)) == 1 else POOLED
    if value in (AUTO, "confirmed"):
        if scope.sees_everyone and consensus.transcripts_with_consensus(session, transcript_ids):
            return _consensus(session, scope, transcript_ids, fallback=True)
        return _pooled(scope, coders, fallback=True)
    if value == CONSENSUS:
        return _consensus(session, scope, transcript_ids, fallback=False)
    if value == ALL:
        scope.require_everyone("the consensus beside every coder")
        return Source(ALL, "the consensus (as user consensus) and every coder's own codes, side by side")
    if value == POOLED:
        return _pooled(scope, coders, fallback=False)
    if value.startswith(CODER) and value[len(CODER):].strip():
        name = scope.coder(session, value[len(CODER):].strip()).name  # Forbidden / NotFound as for any read
        return Source(CODER + name, f"coder {name} alone", name)
    raise InvalidInput(f"source is one of: {HELP}; not {value!r}")


def _consensus(session: Session, scope: Visibility, transcript_ids: Sequence[int] | None,
               fallback: bool) -> Source:
    """The consensus; coded transcripts without one are pooled (fallback) or left out, and named either way,
    as are adjudicated ones whose consensus has unresolved rows or is not marked finished."""
    scope.require_everyone("the consensus")
    done = consensus.transcripts_with_consensus(session, transcript_ids)
    coded = consensus.transcripts_coded(session, transcript_ids)
    missing = sorted(coded - done)
    open_notes = []
    for tid in sorted(done):
        view = consensus.adjudication(session, scope, tid, context=False)
        problems = ([f"{len(view.unresolved)} row(s) unresolved"] if view.unresolved else []) + \
            ([] if view.consensus_finished else ["not marked finished"])
        if problems:
            open_notes.append(f"{_title(view.title, tid)}: {', '.join(problems)}")
    label = f"consensus codes of {len(done)} adjudicated transcript(s)"
    if open_notes:
        label += f" (still open: {'; '.join(open_notes[:NAMED])}{' …' if len(open_notes) > NAMED else ''})"
    if missing:
        named = ", ".join(_title(store.get_transcript(session, transcript_id=t).title, t) for t in missing[:NAMED])
        named += " …" if len(missing) > NAMED else ""
        label += (f"; all coders pooled for {len(missing)} transcript(s) without consensus: {named}" if fallback
                  else f"; {len(missing)} coded transcript(s) without consensus left out: {named}")
    if fallback and missing:
        return Source(MIXED, label, pooled_for=frozenset(missing))
    return Source(CONSENSUS, label)


def _title(title: str | None, transcript_id: int) -> str:
    return f"{title} (transcript {transcript_id})" if title else f"transcript {transcript_id}"


def _pooled(scope: Visibility, coders: Sequence[str] | None, fallback: bool) -> Source:
    if not scope.sees_everyone:
        return Source(POOLED, "your own codes (coding is blind)")
    who = f"coders {', '.join(coders)}" if coders else "all coders"
    why = ", no consensus recorded yet" if fallback else ""
    return Source(POOLED, f"{who} pooled: a code any of them gave counts{why}")


def labels(session: Session, scope: Visibility, source: Source, transcript_ids: Sequence[int] | None = None,
           coders: Sequence[str] | None = None) -> dict[int, dict[str, SegmentLabels]]:
    """segment id -> who -> current labels starting there, for the source (consensus: who is "consensus")."""
    if source.is_consensus:
        out = {s: {CONSENSUS_CODER: state}
               for s, state in consensus.read_consensus(session, scope, transcript_ids).items()}
        if source.name == CONSENSUS:
            return out
        coders_of = sorted(source.pooled_for) if source.name == MIXED else transcript_ids
        if coders_of is not None and not coders_of:
            return out
        for segment, states in labels(session, scope, _pooled(scope, coders, False), coders_of, coders).items():
            out.setdefault(segment, {}).update(states)
        return out
    names_wanted = [source.coder] if source.coder else coders
    decisions = scope.decisions(session, transcript_ids=transcript_ids, coders=names_wanted)
    names = scope.names(session, decisions)
    out: dict[int, dict[str, SegmentLabels]] = {}
    for (segment, coder), state in replay(decisions).items():
        out.setdefault(segment, {})[names[coder]] = state
    return out
