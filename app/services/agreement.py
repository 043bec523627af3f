"""Inter-coder agreement as methodologists compute it: Cohen's kappa per code for each pair of coders,
Krippendorff's alpha pooled and per code, each beside the code's prevalence; percent agreement, with its
caveat; and the model's shown suggestions against each coder and, where an adjudicator has marked a transcript's
consensus finished, against the consensus, pooled and per code: the model as a second coder, as a team sees it.

Units. Two coders are compared on every codable sentence (segments with no skip reason) of the transcripts
BOTH have marked finished (app/services/progress.py); alpha over any number of coders uses the transcripts
ALL of them finished. A sentence a coder left blank is still a unit: for each code, a coder's value on a unit
is 1 if the code is among their current labels there and 0 if not, so "one coded it, the other did not" is a
disagreement. A code applied to a span counts on every codable sentence of the span. Transcripts a coder has
not finished are left out (they may still be coding), and listed as such.

Codes compared are the codebook's codes any compared coder used on the units. Codes nobody used agree
trivially (0 and 0 everywhere): counting them would push percent agreement towards 100%, so percent
agreement is over the used codes only, and still inflated by the many sentences without a given code;
kappa and alpha correct for that chance agreement, and prevalence (the share of units a coder gave the code)
shows when a code is too rare for kappa to be stable. Kappa and alpha are undefined (None) where there is no
variation at all.

The statistics come from scikit-learn (cohen_kappa_score) and the `krippendorff` package; the tests check
them against published worked examples and the hand-computed example in docs/agreement.md.
"""

import warnings
from dataclasses import dataclass, field, replace
from itertools import combinations

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score
from sqlalchemy.orm import Session

from app.db import accounts
from app.db import decisions as db
from app.services import progress
from app.services.consensus import consensus_labels
from app.services.sentences import Sentences
from app.services.visibility import Visibility, replay
from taxonomy import code_order

MODEL = "model"
CONSENSUS = "consensus"
NOTE = ("Units are the codable sentences of transcripts both coders (for alpha: all coders) marked finished; "
        "a sentence without a code is a 0 for that code. Percent agreement counts every (sentence, code) over "
        "the codes someone used and is inflated by the many sentences without a code; kappa and alpha correct "
        "for chance. Read each beside its code's prevalence: for rare codes they are unstable.")


def kappa(a: list[int], b: list[int]) -> float | None:
    if not a:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined kappa is reported as None, not as a warning
        value = cohen_kappa_score(a, b, labels=sorted(set(a) | set(b)) or None)
    return None if np.isnan(value) else float(value)


def alpha(matrix: list[list[float]]) -> float | None:
    """Krippendorff's alpha, nominal; rows are raters, columns units, NaN where a rater gave no value."""
    try:
        value = krippendorff.alpha(reliability_data=np.array(matrix, dtype=float), level_of_measurement="nominal")
    except ValueError:  # one value in the whole domain, or no units: no variation to agree about
        return None
    return None if np.isnan(value) else float(value)


def percent(a: list[int], b: list[int]) -> float | None:
    return float(np.mean(np.array(a) == np.array(b))) if a else None


def share(values: list[int]) -> float | None:
    return float(np.mean(values)) if values else None


@dataclass
class Work:
    """One rater's coding: the transcripts they finished, and their codes per sentence (span codes on every
    sentence of the span; a sentence they left blank is simply absent)."""

    finished: set[int]
    codes: dict[int, frozenset[str]] = field(default_factory=dict)

    def values(self, code: str, units: list[int]) -> list[int]:
        return [int(code in self.codes.get(u, ())) for u in units]


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    transcripts: int  # transcripts both finished
    units: int  # codable sentences of those transcripts
    kappa: float | None  # per code: that code's; pooled: over every (sentence, used code)
    percent_agreement: float | None
    prevalence_a: float | None  # share of units (pooled: of sentence-code units) a gave the code(s)
    prevalence_b: float | None


@dataclass(frozen=True)
class CodeAgreement:
    code: str
    applied: dict[str, int]  # rater -> units of the all-finished transcripts they gave the code
    prevalence: dict[str, float | None]  # rater -> share of those units
    alpha: float | None
    pairs: list[Pair]
    model_consensus: Pair | None = None  # the model against the finished consensus, on this code


@dataclass
class AgreementReport:
    coders: list[str]
    transcripts: list[int]  # finished by every compared coder: alpha's units come from these
    units: int  # codable sentences of those transcripts
    codes: list[str]  # codes any compared coder used on the units compared
    alpha: float | None  # pooled over (sentence, code) units
    pairs: list[Pair]  # pooled, per pair of coders, over the transcripts both finished
    model: list[Pair]  # the model's shown suggestions against each coder, pooled
    per_code: list[CodeAgreement] = field(default_factory=list)
    # The model against the consensus, pooled over the transcripts whose consensus is marked finished (None
    # when none is); per code in per_code, and for the codes only the model or the consensus used in
    # model_consensus_codes.
    model_consensus: Pair | None = None
    model_consensus_codes: list[CodeAgreement] = field(default_factory=list)
    # Each coder against the finished consensus, pooled over the transcripts both finished: how far each
    # coder's own coding was from what the team settled on.
    coder_consensus: list[Pair] = field(default_factory=list)
    unfinished: dict[str, list[int]] = field(default_factory=dict)  # coder -> transcripts they coded, unfinished
    note: str = NOTE


def _units(transcripts: set[int], sentences: dict[int, list[int]]) -> list[int]:
    return [u for t in sorted(transcripts) for u in sentences.get(t, ())]


def _pair(name_a: str, a: Work, name_b: str, b: Work, codes: list[str], sentences: dict[int, list[int]],
          finished: set[int]) -> Pair:
    """a against b over the codable sentences of `finished`, pooled over `codes` (one code: that code's)."""
    units = _units(finished, sentences)
    va = [v for c in codes for v in a.values(c, units)]
    vb = [v for c in codes for v in b.values(c, units)]
    return Pair(name_a, name_b, len(finished), len(units), kappa(va, vb), percent(va, vb), share(va), share(vb))


def _matrix(coders: dict[str, Work], names: list[str], codes: list[str], units: list[int]) -> list[list[float]]:
    return [[float(v) for c in codes for v in coders[n].values(c, units)] for n in names]


def compare(coders: dict[str, Work], sentences: dict[int, list[int]],
            model: dict[int, frozenset[str]] | None = None,
            unfinished: dict[str, list[int]] | None = None, consensus: Work | None = None) -> AgreementReport:
    """Agreement among coders (and of the model with each, and with the consensus). `sentences`: transcript id
    -> its codable sentence ids; only transcripts in it count. The model is taken to have rated every sentence
    it was run on; `consensus.finished`: the transcripts whose consensus is finished."""
    names = sorted(coders)
    both = {(x, y): coders[x].finished & coders[y].finished & set(sentences) for x, y in combinations(names, 2)}
    everyone = set(sentences).intersection(*(coders[n].finished for n in names)) if names else set()
    compared = {u for done in both.values() for u in _units(done, sentences)}
    codes = sorted({c for n in names for u in compared for c in coders[n].codes.get(u, ())}, key=code_order)
    units = _units(everyone, sentences)
    several = len(names) >= 2

    report = AgreementReport(
        coders=names, transcripts=sorted(everyone), units=len(units), codes=codes,
        alpha=alpha(_matrix(coders, names, codes, units)) if several and codes and units else None,
        pairs=[_pair(x, coders[x], y, coders[y], codes, sentences, both[(x, y)]) for x, y in combinations(names, 2)],
        model=[], unfinished=unfinished or {})
    if model is not None:
        rater = Work(set(sentences), dict(model))
        for n in names:
            own = _units(coders[n].finished & set(sentences), sentences)
            used = sorted({c for u in own for c in coders[n].codes.get(u, frozenset()) | model.get(u, frozenset())},
                          key=code_order)
            report.model.append(_pair(MODEL, rater, n, coders[n], used, sentences, coders[n].finished & set(sentences)))
    for code in codes:
        applied = {n: sum(coders[n].values(code, units)) for n in names}
        report.per_code.append(CodeAgreement(
            code=code, applied=applied,
            prevalence={n: (applied[n] / len(units) if units else None) for n in names},
            alpha=alpha(_matrix(coders, names, [code], units)) if several and units else None,
            pairs=[_pair(x, coders[x], y, coders[y], [code], sentences, both[(x, y)])
                   for x, y in combinations(names, 2)]))
    if consensus is not None and consensus.finished & set(sentences):
        if model is not None:
            _against_consensus(report, Work(set(sentences), dict(model)), consensus, sentences)
        report.coder_consensus = [_pooled_against(name, coders[name], consensus, sentences)[0] for name in names]
    return report


def _pooled_against(name: str, rater: Work, consensus: Work,
                    sentences: dict[int, list[int]]) -> tuple[Pair, list[str], set[int], list[int]]:
    """One rater (a coder, or the model) against the finished consensus, pooled over the codes either used on
    the transcripts both finished; and those codes, transcripts and units."""
    done = consensus.finished & rater.finished
    units = _units(done, sentences)
    used = sorted({c for u in units for c in consensus.codes.get(u, frozenset()) | rater.codes.get(u, frozenset())},
                  key=code_order)
    return _pair(name, rater, CONSENSUS, consensus, used, sentences, done), used, done, units


def _against_consensus(report: AgreementReport, rater: Work, consensus: Work,
                       sentences: dict[int, list[int]]) -> None:
    """The model's shown codes against the finished consensus: pooled over the codes either used, and per code."""
    report.model_consensus, used, done, units = _pooled_against(MODEL, rater, consensus, sentences)
    position = {c.code: i for i, c in enumerate(report.per_code)}
    for code in used:
        pair = _pair(MODEL, rater, CONSENSUS, consensus, [code], sentences, done)
        if code in position:
            report.per_code[position[code]] = replace(report.per_code[position[code]], model_consensus=pair)
        else:
            applied = {CONSENSUS: sum(consensus.values(code, units)), MODEL: sum(rater.values(code, units))}
            report.model_consensus_codes.append(CodeAgreement(
                code=code, applied=applied, prevalence={k: v / len(units) if units else None
                                                        for k, v in applied.items()},
                alpha=None, pairs=[], model_consensus=pair))


def gather(session: Session, scope: Visibility, transcript_ids: list[int] | None,
           coder_names: list[str] | None = None) -> dict:
    """compare()'s arguments from the database: each coder's finished transcripts and current codes (span
    codes spread over their sentences), the codable sentences, and the model's shown codes. Coders compared:
    `coder_names`, else everyone who coded or finished a transcript in scope. Agreement compares coders, so
    under blind coding only admins, adjudicators and viewers may see it."""
    scope.require_everyone("agreement")
    finished = progress.finished_coders(session, transcript_ids)
    named = scope.coder_ids(session, coder_names)  # NotFound for an unknown name; None: everyone
    decisions = scope.decisions(session, transcript_ids=transcript_ids, coders=coder_names or None)
    ids = named if named is not None else \
        {c for coders in finished.values() for c in coders} | {d.coder_id for d in decisions}
    people = {u.id: u.name for u in accounts.users_by_id(session, ids=ids).values()}
    done: dict[int, set[int]] = {c: set() for c in ids}
    for tid, coders in finished.items():
        for c in coders & ids:
            done[c].add(tid)
    in_scope = {t for tids in done.values() for t in tids}
    sentences = Sentences.load(session, sorted(in_scope))
    work = {people[c]: Work(done[c]) for c in ids}
    unfinished: dict[str, set[int]] = {}
    for d in decisions:
        if d.transcript_id not in done[d.coder_id]:
            unfinished.setdefault(people[d.coder_id], set()).add(d.transcript_id)
    spread: dict[tuple[str, int], set[str]] = {}
    for (segment, coder), state in replay(d for d in decisions if d.transcript_id in done[d.coder_id]).items():
        for code in state.labels:
            for unit in sentences.covered(segment, state.ends.get(code)):
                spread.setdefault((people[coder], unit), set()).add(code)
    for (name, unit), codes in spread.items():
        work[name].codes[unit] = frozenset(codes)
    runs = db.current_runs(session, transcript_ids=sorted(in_scope))
    shown: dict[int, set[str]] = {}
    for s in db.shown_suggestions(session, run_ids=[r.id for r in runs]):
        for unit in sentences.covered(s.segment_id, s.end_segment_id):
            shown.setdefault(unit, set()).add(s.code_id)
    rated = {r.transcript_id for r in runs}
    return {"coders": work, "sentences": {t: sentences.codable.get(t, []) for t in in_scope},
            "consensus": _consensus(session, sentences, sorted(in_scope)),
            "model": {u: frozenset(shown.get(u, ())) for t in rated for u in sentences.codable.get(t, [])}
            if rated else None,  # no suggestion run among these transcripts: no model to compare
            "unfinished": {n: sorted(t) for n, t in sorted(unfinished.items())}}


def _consensus(session: Session, sentences: Sentences, transcript_ids: list[int]) -> Work | None:
    """The consensus as a rater, on the transcripts whose consensus an adjudicator marked finished."""
    finished = {t for t, who in progress.finished_coders(session, transcript_ids, stage="consensus").items() if who}
    if not finished:
        return None
    work = Work(finished)
    spread: dict[int, set[str]] = {}
    for segment, labels in consensus_labels(db.decisions(session, transcript_ids=sorted(finished),
                                                          stage="consensus")).items():
        for code in labels.labels:
            for unit in sentences.covered(segment, labels.ends.get(code)):
                spread.setdefault(unit, set()).add(code)
    work.codes = {u: frozenset(c) for u, c in spread.items()}
    return work


def table(report: AgreementReport) -> str:
    """A plain-text table for the terminal or a methods section."""
    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}"

    lines = [f"Coders: {', '.join(report.coders) or '(none)'}; transcripts all finished: "
             f"{len(report.transcripts)}; units (codable sentences there): {report.units}; "
             f"codes used: {len(report.codes)}",
             f"Krippendorff's alpha (pooled over sentence x code, nominal): {fmt(report.alpha)}", ""]
    lines.append(f"{'pair':28} {'transcripts':>11} {'units':>6} {'kappa':>7} {'agree %':>8} {'prev a %':>9} "
                 f"{'prev b %':>9}")
    for p in (report.pairs + report.model + ([report.model_consensus] if report.model_consensus else [])
              + report.coder_consensus):
        lines.append(f"{p.a + ' / ' + p.b:28} {p.transcripts:11} {p.units:6} {fmt(p.kappa):>7} "
                     f"{pct(p.percent_agreement):>8} {pct(p.prevalence_a):>9} {pct(p.prevalence_b):>9}")
    if report.per_code:
        lines += ["", f"{'code':10} {'alpha':>7}  prevalence % ({', '.join(report.coders)})   "
                      "pairwise kappa (agree %; prevalence % a/b)"]
        for c in report.per_code:
            prevalence = " / ".join(pct(c.prevalence[n]) for n in report.coders)
            kappas = ", ".join(f"{p.a}/{p.b} {fmt(p.kappa)} ({pct(p.percent_agreement)}; "
                               f"{pct(p.prevalence_a)}/{pct(p.prevalence_b)})" for p in c.pairs)
            lines.append(f"{c.code:10} {fmt(c.alpha):>7}  {prevalence:24}   {kappas}")
    against = [c for c in report.per_code + report.model_consensus_codes if c.model_consensus]
    if against:
        lines += ["", "The model against the finished consensus, per code: kappa (agree %; prevalence % "
                      "model/consensus)"]
        lines += [f"{c.code:10} {fmt(c.model_consensus.kappa):>7} ({pct(c.model_consensus.percent_agreement)}; "
                  f"{pct(c.model_consensus.prevalence_a)}/{pct(c.model_consensus.prevalence_b)})" for c in against]
    if report.unfinished:
        lines += ["", "Left out, not marked finished: " + "; ".join(
            f"{n}: transcript{'s' if len(t) > 1 else ''} {', '.join(map(str, t))}"
            for n, t in report.unfinished.items())]
    lines += ["", report.note]
    return "\n".join(lines)
