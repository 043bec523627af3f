"""Plain-text tables of evaluation results, for the terminal and the docs."""

from training.evaluate import CurvePoint, Evaluation
from training.metrics import Report


def summary_table(reports: dict[str, Report]) -> str:
    ks = sorted(next(iter(reports.values())).hit_at) if reports else []
    head = (["mode", "top-1"] + [f"hit@{k}" for k in ks if k > 1]
            + ["macro F1", "micro F1", "technique shown", "right code shown", "no-code left uncoded", "kappa"])
    rows = [[mode, f"{r.top1:.3f}"] + [f"{r.hit_at[k]:.3f}" for k in ks if k > 1]
            + [f"{r.macro_f1:.3f}", f"{r.micro_f1:.3f}", f"{r.technique_shown:.3f}", f"{r.right_shown:.3f}",
               f"{r.none_uncoded:.3f}", "-" if r.kappa is None else f"{r.kappa:.3f}"]
            for mode, r in reports.items()]
    return markdown_table(head, rows)


def per_code_table(report: Report) -> str:
    rows = [[row.code, str(row.support), str(row.predicted), f"{row.precision:.2f}", f"{row.recall:.2f}",
             f"{row.f1:.2f}"] for row in sorted(report.per_code, key=lambda r: -r.support)]
    return markdown_table(["code", "support", "shown", "precision", "recall", "F1"], rows)


def confusion_lines(report: Report) -> str:
    if not report.confusions:
        return "(none)"
    return "\n".join(f"{n:4}  gold {gold} -> ranked first {first}" for gold, first, n in report.confusions)


def curve_table(points: list[CurvePoint]) -> str:
    sizes = list(dict.fromkeys(p.labels for p in points))
    modes = list(dict.fromkeys(p.mode for p in points))
    by = {(p.labels, p.mode): p for p in points}
    head = ["labels"] + [f"{m} top-1" for m in modes] + [f"{m} hit@5" for m in modes] + [f"{m} macro F1" for m in modes]
    rows = []
    for size in sizes:
        cells = [by[(size, m)] for m in modes]
        rows.append(["all" if size is None else str(size)]
                    + [f"{p.top1:.3f} ±{p.top1_sd:.3f}" for p in cells]
                    + [f"{p.hit5:.3f}" for p in cells]
                    + [f"{p.macro_f1:.3f}" for p in cells])
    return markdown_table(head, rows)


def full_text(evaluation: Evaluation, *, threshold: float, top_k: int) -> str:
    parts = [f"Items: {_first(evaluation).items} ({_first(evaluation).labelled_items} with a gold code). "
             f"F1 counts a code as shown when it is in the top {top_k} and scores >= {threshold}.",
             "", summary_table(evaluation.reports)]
    for mode, report in evaluation.reports.items():
        parts += ["", f"Per code ({mode}):", per_code_table(report),
                  "", f"Most common confusions ({mode}):", confusion_lines(report)]
    if evaluation.curve:
        parts += ["", "Learning curve (mean ± sd over seeds; grouped folds):", curve_table(evaluation.curve)]
    return "\n".join(parts)


def _first(evaluation: Evaluation) -> Report:
    return next(iter(evaluation.reports.values()))


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    """A Markdown table: readable in a terminal and pasteable into the docs unchanged."""
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])
