"""Labelled sentences for evaluation and training: read from JSONL and checked against a codebook."""

import json
from dataclasses import dataclass
from pathlib import Path

from taxonomy import ResolvedCodebook


class LabelledFileError(ValueError):
    """A labelled file that cannot be used, with the line that says why."""


@dataclass(frozen=True)
class LabelledItem:
    text: str
    codes: frozenset[str]  # code ids of the codebook; empty = no code applies
    group: str  # the unit folds never split (a dialogue, a transcript)
    position: int  # order inside the group, for neighbouring-sentence context
    speaker: str | None = None
    turn: str | None = None  # the speaker turn inside the group: context never crosses it (None: the group)


def load_labelled(path: Path, codebook: ResolvedCodebook, *, codes_field: str = "codes",
                  group_field: str = "group", order_field: str | None = "index", turn_field: str | None = None,
                  where: dict[str, set[str]] | None = None) -> list[LabelledItem]:
    """One JSON object a line: text, a list of codes (ids or labels), and a group; blank lines are skipped.

    `where` keeps only lines whose field holds one of the given values (e.g. {"split": {"dev"}}); lines left
    out still count for positions, so neighbouring-sentence context stays as in the transcript.

    Codes are matched to the codebook by id, then by label (case-insensitive); a code the codebook does not
    have is an error naming the line, never silently dropped, since that would inflate every figure.
    """
    lookup = {c.id: c.id for c in codebook.leaves}
    lookup |= {c.id.casefold(): c.id for c in codebook.leaves} | {c.label.casefold(): c.id for c in codebook.leaves}
    items: list[LabelledItem] = []
    positions: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LabelledFileError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
                raise LabelledFileError(f"{path}:{number}: each line needs a non-empty 'text'")
            raw = row.get(codes_field, [])
            if isinstance(raw, str):
                raw = [raw]
            if not isinstance(raw, list):
                raise LabelledFileError(f"{path}:{number}: '{codes_field}' must be a list of codes")
            unknown = [c for c in raw if str(c).casefold() not in lookup and str(c) not in lookup]
            if unknown:
                raise LabelledFileError(f"{path}:{number}: codes not in codebook {codebook.name}: "
                                        f"{', '.join(map(str, unknown))}")
            group = str(row.get(group_field, f"line-{number}"))
            position = positions.get(group, 0)
            if order_field and isinstance(row.get(order_field), int):
                position = row[order_field]
            positions[group] = position + 1
            if where and any(str(row.get(field)) not in values for field, values in where.items()):
                continue
            codes = frozenset(lookup.get(str(c), lookup.get(str(c).casefold())) for c in raw)
            turn = str(row[turn_field]) if turn_field and row.get(turn_field) is not None else None
            items.append(LabelledItem(row["text"].strip(), codes, group, position, row.get("speaker"), turn))
    if not items:
        raise LabelledFileError(f"{path}: no labelled lines" + (" match the filter" if where else ""))
    return items
