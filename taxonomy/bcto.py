"""Build a codebook whose BCTTv1 codes carry the Behaviour Change Technique Ontology's wording.

The BCTO (Marques et al., HumanBehaviourChangeProject/ontologies, CC BY 4.0) defines techniques as ontology
classes; its 'Cross-reference' column names the BCTTv1 technique(s) a class corresponds to ("BCT1.4 Action
planning", sometimes several separated by ';'). Several classes can map to one BCTTv1 code (1.1 has 'agree
behaviour goal' and 'set behaviour goal'): the code gets all their definitions, their labels as synonyms,
and their examples. Codes the ontology does not cross-reference keep the base codebook's definition.
"""

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from taxonomy.loader import CodebookError
from taxonomy.schema import Code, Codebook, Exemplar

REQUIRED = ("ID", "Label", "Definition", "Cross-reference", "Synonyms", "Examples", "Curation status")
ATTRIBUTION = (
    "Definitions, synonyms and examples from the Behaviour Change Technique Ontology (BCTO): Marques MM, "
    "Wright AJ, Corker E, et al. The Behaviour Change Technique Ontology: transforming the Behaviour Change "
    "Technique Taxonomy v1. Wellcome Open Research 2023;8:308. Human Behaviour-Change Project, "
    "github.com/HumanBehaviourChangeProject/ontologies, licensed CC BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/). Changes: ontology classes joined to BCTTv1 codes through "
    "their Cross-reference column; '<' and '>' around class names removed."
)
_XREF = re.compile(r"BCT\s*(\d+\.\d+)")


@dataclass(frozen=True)
class OntologyClass:
    id: str
    label: str
    definition: str
    synonyms: tuple[str, ...]
    examples: tuple[str, ...]
    bcttv1: tuple[str, ...]


@dataclass
class ImportSummary:
    classes_read: int = 0
    classes_used: int = 0
    codes_with_bcto: int = 0
    codes_without_bcto: list[str] = field(default_factory=list)
    unknown_references: dict[str, list[str]] = field(default_factory=dict)  # code id -> ontology classes


def read_bcto(path: Path, *, include_proposed: bool = False) -> list[OntologyClass]:
    """The ontology's classes that cross-reference BCTTv1, from its spreadsheet."""
    from openpyxl import load_workbook  # only this importer needs it

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a file that is not a workbook
        raise CodebookError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise CodebookError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(filter(None, header))}")
    col = {name: header.index(name) for name in REQUIRED}
    classes: list[OntologyClass] = []
    for row in rows:
        def cell(name: str, row=row) -> str:
            value = row[col[name]] if col[name] < len(row) else None
            return str(value).strip() if value is not None else ""

        refs = tuple(dict.fromkeys(_XREF.findall(cell("Cross-reference"))))
        if not refs or not cell("ID") or (cell("Curation status") == "Proposed" and not include_proposed):
            continue
        classes.append(OntologyClass(
            id=cell("ID"),
            label=re.sub(r"\s+BCT$", "", cell("Label")),
            definition=cell("Definition").replace("<", "").replace(">", ""),
            synonyms=tuple(s.strip() for s in re.split(r"[;,]", cell("Synonyms")) if s.strip()),
            examples=tuple(e.strip() for e in cell("Examples").split(";") if e.strip()),
            bcttv1=refs,
        ))
    return classes


def import_bcto(path: Path, base: Codebook, *, name: str = "bcttv1-bcto",
                include_proposed: bool = False) -> tuple[Codebook, ImportSummary]:
    """A copy of `base` (BCTTv1) whose codes carry the ontology's definitions, synonyms and examples."""
    classes = read_bcto(path, include_proposed=include_proposed)
    summary = ImportSummary(classes_read=len(classes))
    ids = {c.id for c in base.codes}
    by_code: dict[str, list[OntologyClass]] = {}
    for cls in classes:
        for ref in cls.bcttv1:
            if ref in ids:
                by_code.setdefault(ref, []).append(cls)
            else:
                summary.unknown_references.setdefault(ref, []).append(f"{cls.label} ({cls.id})")
    summary.classes_used = len({cls.id for group in by_code.values() for cls in group})

    parents = {c.parent for c in base.codes if c.parent}
    codes: list[Code] = []
    for code in base.codes:
        mapped = by_code.get(code.id, [])
        if code.id in parents:
            codes.append(code)
            continue
        if not mapped:
            summary.codes_without_bcto.append(code.id)
            codes.append(code)
            continue
        summary.codes_with_bcto += 1
        synonyms = [cls.label for cls in mapped if cls.label.casefold() != code.label.casefold()]
        synonyms += [s for cls in mapped for s in cls.synonyms]
        examples = [Exemplar(text=e, source=f"BCTO {cls.id} example (CC BY 4.0)") for cls in mapped
                    for e in cls.examples]
        codes.append(code.model_copy(update={
            "definition": " ".join(dict.fromkeys(cls.definition for cls in mapped if cls.definition)),
            "synonyms": list(dict.fromkeys(synonyms)),
            "exemplars": examples + list(code.exemplars),
        }))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    codebook = Codebook(
        name=name,
        title=f"{base.title or base.name}, with the Behaviour Change Technique Ontology's definitions",
        version=f"{base.version}+bcto.{digest}",
        description=(f"{base.name} with each technique's definition, synonyms and examples taken from the BCTO "
                     f"(file sha256 {digest}). Exemplars not marked BCTO come from {base.name}."),
        attribution=ATTRIBUTION + (f" Base codebook: {base.attribution}" if base.attribution else ""),
        licence="BCTO text: CC BY 4.0 (attribution above). " + (base.licence or ""),
        codes=codes,
    )
    return codebook, summary
