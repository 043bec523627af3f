"""Inter-coder agreement: Cohen's kappa for pairs, Krippendorff's alpha for any number, percent agreement;
per code and pooled, between coders and between the model's suggestions and each coder.

Units. A coder's units are the segments they made any labelling decision on (memos alone do not count).
For code c, a rater's value on a unit is 1 if c is among their current labels there, else 0. A pair is
compared on the segments both decided on; alpha uses every segment at least two coders decided on, with the
others' values missing. "Pooled" treats every (segment, code) as a unit, over the codes anyone used in the
compared units: counting the dozens of codes nobody used would inflate agreement with trivial zeros.
The model counts as a rater whose labels are the suggestions its current run showed (at or over the
threshold). Kappa and alpha are undefined (None) where there is no variation at all.

The statistics come from scikit-learn (cohen_kappa_score) and the `krippendorff` package; the tests check
them against the worked examples of Krippendorff (2011) and the Cohen's kappa article's 2x2 example.
"""

import warnings
from dataclasses import dataclass, field
from itertools import combinations

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score
from sqlalchemy.orm import Session

from app.db import decisions as db
from app.services.visibility import Visibility, replay

MODEL = "model"
Ratings = dict[int, frozenset[str]]  # segment id -> codes


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
    except ValueError:  # one value in the whole domain: no variation to agree about
        return None
    return None if np.isnan(value) else float(value)


def percent(a: list[int], b: list[int]) -> float | None:
    return float(np.mean(np.array(a) == np.array(b))) if a else None


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    units: int
    kappa: float | None
    percent_agreement: float | None


@dataclass(frozen=True)
class CodeAgreement:
    code: str
    applied: dict[str, int]  # rater -> units they applied the code to
    alpha: float | None
    pairs: list[Pair]


@dataclass
class AgreementReport:
    coders: list[str]
    units: int  # segments at least two coders decided on
    codes: list[str]
    alpha: float | None
    pairs: list[Pair]
    model: list[Pair]  # the model's suggestions against each coder, pooled
    per_code: list[CodeAgreement] = field(default_factory=list)


def _pair(name_a: str, a: Ratings, name_b: str, b: Ratings, codes: list[str]) -> Pair:
    units = sorted(set(a) & set(b))
    va = [int(c in a[u]) for c in codes for u in units]
    vb = [int(c in b[u]) for c in codes for u in units]
    return Pair(name_a, name_b, len(units), kappa(va, vb), percent(va, vb))


def compare(coders: dict[str, Ratings], model: Ratings | None = None) -> AgreementReport:
    """Agreement among coders (and of the model with each), from each rater's labels on their units."""
    names = sorted(coders)
    shared = sorted(u for u in set().union(*coders.values()) if sum(u in r for r in coders.values()) >= 2) \
        if coders else []
    codes = sorted({c for r in coders.values() for u in shared for c in r.get(u, ())})

    def matrix(code_list: list[str]) -> list[list[float]]:
        return [[(float(c in coders[n][u]) if u in coders[n] else np.nan) for c in code_list for u in shared]
                for n in names]

    report = AgreementReport(
        coders=names, units=len(shared), codes=codes,
        alpha=alpha(matrix(codes)) if len(names) >= 2 and codes else None,
        pairs=[_pair(x, coders[x], y, coders[y], codes) for x, y in combinations(names, 2)],
        model=[],
    )
    if model is not None:
        for n in names:
            used = sorted({c for u in coders[n] for c in coders[n][u] | model.get(u, frozenset())})
            report.model.append(_pair(MODEL, model, n, coders[n], used))
    for code in codes:
        report.per_code.append(CodeAgreement(
            code=code,
            applied={n: sum(code in coders[n][u] for u in shared if u in coders[n]) for n in names},
            alpha=alpha(matrix([code])) if len(names) >= 2 else None,
            pairs=[_pair(x, coders[x], y, coders[y], [code]) for x, y in combinations(names, 2)],
        ))
    return report


def gather(session: Session, scope: Visibility, transcript_ids: list[int] | None,
           coder_names: list[str] | None = None) -> tuple[dict[str, Ratings], Ratings]:
    """Each coder's labels on the segments they decided on, and the model's shown codes, from the database.
    Agreement compares coders, so under blind coding only admins and viewers may see it."""
    scope.require_everyone("agreement")
    decisions = scope.decisions(session, transcript_ids=transcript_ids, coders=coder_names)
    people = scope.names(session, decisions)
    coders: dict[str, Ratings] = {}
    for (segment, coder), state in replay(decisions).items():
        if state.codes:  # a memo alone is not a coding decision
            coders.setdefault(people[coder], {})[segment] = frozenset(state.labels)
    runs = db.current_runs(session, transcript_ids=transcript_ids)
    model: dict[int, set[str]] = {}
    for s in db.shown_suggestions(session, run_ids=[r.id for r in runs]):
        model.setdefault(s.segment_id, set()).add(s.code_id)
    coded = db.coded_segment_ids(session, transcript_ids=transcript_ids)
    return coders, {u: frozenset(model.get(u, ())) for u in coded}


def table(report: AgreementReport) -> str:
    """A plain-text table for the terminal or a methods section."""
    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    lines = [f"Coders: {', '.join(report.coders) or '(none)'}; segments decided by two or more: {report.units}; "
             f"codes used: {len(report.codes)}",
             f"Krippendorff's alpha (pooled, nominal): {fmt(report.alpha)}", ""]
    lines.append(f"{'pair':32} {'units':>6} {'kappa':>7} {'agree %':>8}")
    for p in report.pairs + report.model:
        pct = "n/a" if p.percent_agreement is None else f"{100 * p.percent_agreement:.1f}"
        lines.append(f"{p.a + ' / ' + p.b:32} {p.units:6} {fmt(p.kappa):>7} {pct:>8}")
    if report.per_code:
        lines += ["", f"{'code':12} {'alpha':>7} " + " ".join(f"{n[:10]:>10}" for n in report.coders)
                  + "   pairwise kappa"]
        for c in report.per_code:
            kappas = ", ".join(f"{p.a}/{p.b} {fmt(p.kappa)}" for p in c.pairs)
            lines.append(f"{c.code:12} {fmt(c.alpha):>7} " + " ".join(f"{c.applied[n]:>10}" for n in report.coders)
                         + f"   {kappas}")
    return "\n".join(lines)
