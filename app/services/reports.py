"""The tables and figures a paper reports, from confirmed codes (or, marked as such, from suggestions):
Table 2 of Marks et al. (which codes have quotes from peer workers, from supported peers, both or neither),
exemplar quotes per code, counts per code x role and per transcript x code or group, and two plots.

Confirmed codes come from the source chosen (app/services/sources.py): the consensus (the default once any
exists), one coder's current labels, or every coder's pooled (a segment confirmed by two coders counts once).
The output names its source. Unconfirmed codes are the current suggestions at or over a threshold, never
mixed with confirmed ones.
"""

import html
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import decisions as db
from app.db.tables import Segment, Suggestion, SuggestionRun, Transcript
from app.engine.presence import present_codes
from app.errors import InvalidInput
from app.services import sources
from app.services.visibility import Visibility
from taxonomy import ResolvedCodebook

SUGGESTED = "suggested"
PW, SP = "peer_worker", "supported_peer"


@dataclass(frozen=True)
class CodedSegment:
    segment: Segment
    transcript: Transcript
    code: str
    coders: tuple[str, ...]  # who confirmed it; empty for a suggestion
    score: float | None = None  # the suggestion's score
    end: Segment | None = None  # a span's last sentence (the code counts once, on its first: `segment`)

    @property
    def quote(self) -> str:
        """The words coded: the sentence, or the span from its first sentence to its last."""
        if self.end is None:
            return self.segment.text
        return self.transcript.text[self.segment.char_start:self.end.char_end]


@dataclass
class Coding:
    """Every (segment, code) pair of one source, for one codebook's codes."""

    source: str  # "consensus", "pooled", "coder:<name>" or "suggested"
    book: ResolvedCodebook
    items: list[CodedSegment] = field(default_factory=list)
    threshold: float | None = None
    source_label: str = ""  # the source in words, for captions and titles

    def by_code(self) -> dict[str, list[CodedSegment]]:
        out: dict[str, list[CodedSegment]] = defaultdict(list)
        for item in self.items:
            out[item.code].append(item)
        return out


def gather(session: Session, book: ResolvedCodebook, *, scope: Visibility, source: str | None = None,
           transcript_ids: list[int] | None = None, coders: list[str] | None = None,
           threshold: float | None = None) -> Coding:
    """The coding of one source (sources.HELP, or "suggested"), read through `scope` (blind coding)."""
    codes = {c.id for c in book.leaves}
    if source != SUGGESTED:
        chosen = sources.choose(session, scope, source, transcript_ids, coders)
        who: dict[tuple[int, str], list[str]] = defaultdict(list)
        ends: dict[tuple[int, str], int] = {}  # a span's last sentence (the longest, when coders differ)
        for segment_id, states in sources.labels(session, scope, chosen, transcript_ids, coders).items():
            for name, state in states.items():
                for code in state.labels:
                    if code in codes:
                        who[(segment_id, code)].append(name)
                        if code in state.ends:
                            ends[(segment_id, code)] = max(ends.get((segment_id, code), 0), state.ends[code])
        segments = db.segments_by_id(session, ids={s for s, _ in who} | set(ends.values()))
        transcripts = _transcripts(session, {s.transcript_id for s in segments.values()})
        items = [CodedSegment(segments[s], transcripts[segments[s].transcript_id], code, tuple(sorted(people)),
                              end=segments.get(ends.get((s, code))))
                 for (s, code), people in sorted(who.items())]
        return Coding(chosen.name, book, items, source_label=chosen.label)
    query = (select(Suggestion, SuggestionRun.threshold).join(SuggestionRun, SuggestionRun.id == Suggestion.run_id)
             .where(SuggestionRun.current.is_(True)))
    if transcript_ids is not None:
        query = query.where(SuggestionRun.transcript_id.in_(transcript_ids))
    rows = [(s, t) for s, t in session.execute(query)
            if s.code_id in codes and s.score >= (threshold if threshold is not None else t)]
    rows = _present_only(session, rows, threshold)
    segments = db.segments_by_id(session, ids={s.segment_id for s, _ in rows})
    transcripts = _transcripts(session, {s.transcript_id for s in segments.values()})
    items = [CodedSegment(segments[s.segment_id], transcripts[segments[s.segment_id].transcript_id], s.code_id, (),
                          s.score) for s, _ in sorted(rows, key=lambda r: (r[0].segment_id, r[0].rank))]
    floor = threshold if threshold is not None else "each run's threshold"
    return Coding(SUGGESTED, book, items, threshold, f"UNCONFIRMED suggestions scoring at least {floor}")


def _present_only(session: Session, rows: list, threshold: float | None) -> list:
    """Suggestions of codes present in their transcript (app/engine/presence.py), not every lone sentence."""
    run_of = {r.id: r.transcript_id for r in db.runs_by_id(session, ids={s.run_id for s, _ in rows}).values()}
    shown: dict[int, list[tuple[str, float]]] = defaultdict(list)
    floor: dict[int, float] = {}
    for s, t in rows:
        shown[run_of[s.run_id]].append((s.code_id, s.score))
        floor[run_of[s.run_id]] = threshold if threshold is not None else t
    present = {tid: present_codes(pairs, floor[tid]) for tid, pairs in shown.items()}
    return [(s, t) for s, t in rows if s.code_id in present[run_of[s.run_id]]]


def _transcripts(session: Session, ids: set[int]) -> dict[int, Transcript]:
    if not ids:
        return {}
    return {t.id: t for t in session.scalars(select(Transcript).where(Transcript.id.in_(ids)))}


# -- Table 2 ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PresenceRow:
    code: str
    label: str
    group: str | None  # "1 Goals and planning"
    pw: int  # segments with the code said by peer workers
    sp: int

    @property
    def presence(self) -> str:
        """As the paper's Table 2: Both, Neither, or PW / SP alone."""
        return "Both" if self.pw and self.sp else "Neither" if not (self.pw or self.sp) else "PW" if self.pw else "SP"

    @property
    def cells(self) -> tuple[str, str]:
        """The paper's two columns (Presence of PW quote, of SP quote), 'Both' and 'Neither' spanning both."""
        if self.presence in ("Both", "Neither"):
            return self.presence, self.presence
        return ("Yes" if self.pw else "No"), ("Yes" if self.sp else "No")


def table2(coding: Coding) -> list[PresenceRow]:
    book = coding.book
    counts: dict[str, Counter] = defaultdict(Counter)
    for item in coding.items:
        counts[item.code][item.segment.role] += 1
    rows = []
    for code in book.leaves:
        group = book.group_of(code)
        rows.append(PresenceRow(code.id, code.label, f"{group.id} {group.label}" if group else None,
                                counts[code.id][PW], counts[code.id][SP]))
    return rows


# Escaped: brackets (no link or image can form), pipes (table columns), emphasis and code marks. Not "_":
# Markdown never reads an underscore inside a word (Interviewee_SP4) as emphasis.
_MARKDOWN = re.compile(r"[\\`*\[\]|~]")


def md(text: object) -> str:
    """Text safe inside Markdown (and the HTML a Markdown viewer makes of it): HTML escaped, one line, and
    Markdown's own syntax escaped (table pipes, link and image brackets, emphasis, code spans), so a label
    such as "[x](javascript:...)" stays text. Labels, quotes and titles come from users and transcripts."""
    return _MARKDOWN.sub(r"\\\g<0>", html.escape(" ".join(str(text).split()), quote=False))


def table2_markdown(coding: Coding, rows: list[PresenceRow]) -> str:
    lines = [f"Behaviour change techniques and where quotes were found for peer workers (PW), supported peers (SP), "
             f"both or neither ({md(coding.book.name)}; source: {md(coding.source_label)}).", "",
             "| Number | Grouping and BCTs | Presence of PW quote | Presence of SP quote |",
             "|---|---|---|---|"]
    group = None
    for row in rows:
        if row.group != group and row.group:
            number, _, label = row.group.partition(" ")
            lines.append(f"| {md(number)} | **{md(label)}** | | |")
            group = row.group
        pw, sp = row.cells
        lines.append(f"| {md(row.code)} | {md(row.label)} | {pw} | {sp} |")
    yes_pw = sum(1 for r in rows if r.pw)
    yes_sp = sum(1 for r in rows if r.sp)
    lines.append(f"| | Total: Yes | {yes_pw} | {yes_sp} |")
    both = sum(1 for r in rows if r.presence == "Both")
    lines += ["", f"{sum(1 for r in rows if r.presence != 'Neither')} of {len(rows)} codes have quotes: "
                  f"{sum(1 for r in rows if r.presence == 'PW')} from PW alone, "
                  f"{sum(1 for r in rows if r.presence == 'SP')} from SP alone, {both} from both."]
    return "\n".join(lines) + "\n"


# -- exemplars and counts ----------------------------------------------------------------------------------------

def exemplars(coding: Coding, per_code: int = 3) -> dict[str, list[CodedSegment]]:
    """Up to per_code quotes per code, longest first (a fuller quote reads better in an appendix), at most one
    per transcript and role before any second one, so the quotes show the code's range."""
    out: dict[str, list[CodedSegment]] = {}
    for code, items in coding.by_code().items():
        ranked = sorted(items, key=lambda i: -len(i.quote))
        chosen, seen = [], set()
        for item in ranked:
            key = (item.transcript.id, item.segment.role)
            if key not in seen:
                chosen.append(item)
                seen.add(key)
        chosen += [i for i in ranked if i not in chosen]
        out[code] = chosen[:per_code]
    order = {c.id: n for n, c in enumerate(coding.book.leaves)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


def exemplars_markdown(coding: Coding, quotes: dict[str, list[CodedSegment]]) -> str:
    labels = {c.id: c.label for c in coding.book.leaves}
    lines = [f"# Exemplar quotes ({md(coding.book.name)}; source: {md(coding.source_label)})", ""]
    for code, items in quotes.items():
        lines += [f"## {md(code)} {md(labels.get(code, ''))}", ""]
        for item in items:
            who = f"{md(item.segment.speaker)}, {item.segment.role.replace('_', ' ')}"
            where = md(item.transcript.title or f"transcript {item.transcript.id}")
            lines.append(f"> {md(item.quote)}\n>\n> — {who}; {where}\n")
    return "\n".join(lines)


def code_by_role(coding: Coding) -> list[dict]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for item in coding.items:
        counts[item.code][item.segment.role] += 1
    roles = ("peer_worker", "supported_peer", "interviewer", "other")
    return [{"code": c.id, "label": c.label, **{r: counts[c.id][r] for r in roles},
             "total": sum(counts[c.id].values())} for c in coding.book.leaves]


def transcript_by(coding: Coding, level: str = "code") -> tuple[list[str], list[dict]]:
    """The case x condition matrix: a row per transcript, a column per code (or group), counts of segments."""
    book = coding.book
    if level == "code":
        columns = [c.id for c in book.leaves]
        key = {c.id: c.id for c in book.leaves}
    elif level == "group":
        key = {c.id: (g.id if (g := book.group_of(c)) else c.id) for c in book.leaves}
        columns = list(dict.fromkeys(key.values()))
    else:
        raise InvalidInput(f"level is 'code' or 'group', not {level!r}")
    counts: dict[int, Counter] = defaultdict(Counter)
    titles: dict[int, Transcript] = {}
    for item in coding.items:
        counts[item.transcript.id][key[item.code]] += 1
        titles[item.transcript.id] = item.transcript
    rows = [{"transcript_id": tid, "title": titles[tid].title, "participant_id": titles[tid].participant_id,
             **{col: counts[tid][col] for col in columns}} for tid in sorted(counts)]
    return columns, rows
