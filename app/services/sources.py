"""Whose codes a report or export counts: the consensus (the adjudicator's final codes), one coder's, or every
coder's pooled (a code any coder gave counts). Reports default to the consensus once any exists for the
transcripts in scope, and otherwise fall back to pooled codes, saying so: a paper should say which it reports.

Values: "consensus", "pooled", "coder:<name>", or "auto" (None, and the older "confirmed", mean auto).
Every read goes through Visibility: under blind coding a coder's auto source is their own codes, and the
consensus and other coders' codes are refused.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.services import consensus
from app.services.visibility import SegmentLabels, Visibility, replay

AUTO, CONSENSUS, POOLED, CODER = "auto", "consensus", "pooled", "coder:"
CONSENSUS_CODER = "consensus"  # who a consensus code is credited to in reports and exports
HELP = "consensus, pooled (all coders), coder:<name>, or auto (consensus where any exists, else pooled)"


@dataclass(frozen=True)
class Source:
    name: str  # "consensus", "pooled" or "coder:<name>": what the output's source field says
    label: str  # the same in words, for a table's caption or a plot's title
    coder: str | None = None

    @property
    def is_consensus(self) -> bool:
        return self.name == CONSENSUS


def choose(session: Session, scope: Visibility, value: str | None,
           transcript_ids: Sequence[int] | None = None, coders: Sequence[str] | None = None) -> Source:
    """The source `value` names, or for auto: the named `coders`' codes if any are named, else the consensus
    if any exists in scope (and the viewer may see it), else every coder's codes pooled."""
    value = (value or AUTO).strip()
    if value in (AUTO, "confirmed") and coders:  # asking for named coders' codes is asking for theirs
        value = CODER + coders[0] if len(set(coders)) == 1 else POOLED
    if value in (AUTO, "confirmed"):
        if scope.sees_everyone and consensus.transcripts_with_consensus(session, transcript_ids):
            value = CONSENSUS
        else:
            return _pooled(scope, coders, fallback=True)
    if value == CONSENSUS:
        scope.require_everyone("the consensus")
        done = consensus.transcripts_with_consensus(session, transcript_ids)
        scope_note = "" if transcript_ids is None else f" of the {len(set(transcript_ids))} transcript(s) asked for"
        return Source(CONSENSUS, f"consensus codes ({len(done)} transcript(s) adjudicated{scope_note})")
    if value == POOLED:
        return _pooled(scope, coders, fallback=False)
    if value.startswith(CODER) and value[len(CODER):].strip():
        name = scope.coder(session, value[len(CODER):].strip()).name  # Forbidden / NotFound as for any read
        return Source(CODER + name, f"coder {name} alone", name)
    raise InvalidInput(f"source is one of: {HELP}; not {value!r}")


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
        return {s: {CONSENSUS_CODER: state}
                for s, state in consensus.read_consensus(session, scope, transcript_ids).items()}
    names_wanted = [source.coder] if source.coder else coders
    decisions = scope.decisions(session, transcript_ids=transcript_ids, coders=names_wanted)
    names = scope.names(session, decisions)
    out: dict[int, dict[str, SegmentLabels]] = {}
    for (segment, coder), state in replay(decisions).items():
        out.setdefault(segment, {})[names[coder]] = state
    return out
