"""REFI-QDA (QDA-XML 1.0): codebooks as .qdc, whole coded projects as .qdpx, for NVivo, ATLAS.ti, MAXQDA.

QDA-XML has no field for a code's number, so a code's name is '<id> <label>' (e.g. '1.1 Goal setting
(behaviour)'), which is also how BCT coders write them; importing reads the number back when the name
starts with one. A code's Description carries its definition and then its exemplars, one 'Example: text —
source' line each, so our own export round-trips. GUIDs are derived from stable ids (uuid5), so exporting
the same project twice gives the same GUIDs and a re-import into a QDA tool updates rather than duplicates.
"""

import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from taxonomy import Code, Codebook, Exemplar, ResolvedCodebook

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
_ROOT = uuid.UUID("6f1f8d4e-2c3b-5a7e-9d10-bc7a0c0de000")
_NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\s+(.+)$")
_EXAMPLE = "Example: "


class RefiError(ValueError):
    """A REFI-QDA file we cannot read, with the reason."""


def guid(*parts: object) -> str:
    return str(uuid.uuid5(_ROOT, ":".join(str(p) for p in parts)))


def _description(code: Code) -> str:
    lines = [code.definition.strip()] if code.definition.strip() else []
    if code.synonyms:
        lines.append("Synonyms: " + "; ".join(code.synonyms))
    lines += [f"{_EXAMPLE}{ex.text}" + (f" — {ex.source}" if ex.source else "") for ex in code.exemplars]
    return "\n".join(lines)


def _codes_element(ns: str, book_name: str, codes: list[Code]) -> etree._Element:
    children: dict[str | None, list[Code]] = {}
    for code in codes:
        children.setdefault(code.parent, []).append(code)
    known = {c.id for c in codes}

    def build(parent: etree._Element, code: Code) -> None:
        el = etree.SubElement(parent, f"{{{ns}}}Code", guid=guid("code", book_name, code.id),
                              name=f"{code.id} {code.label}",
                              isCodable="false" if code.id in children else "true")
        text = _description(code)
        if text:
            etree.SubElement(el, f"{{{ns}}}Description").text = text
        for child in children.get(code.id, []):
            build(el, child)

    root = etree.Element(f"{{{ns}}}Codes")
    for code in codes:
        if code.parent is None or code.parent not in known:
            build(root, code)
    return root


def codebook_qdc(book: ResolvedCodebook) -> bytes:
    """A resolved codebook (with what it extends) as a .qdc document."""
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS})
    root.append(_codes_element(CODEBOOK_NS, book.name, list(book.codes)))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _parse_description(text: str) -> tuple[str, list[str], list[Exemplar]]:
    definition, synonyms, exemplars = [], [], []
    for line in text.splitlines():
        if line.startswith(_EXAMPLE):
            body, _, source = line[len(_EXAMPLE):].rpartition(" — ")
            exemplars.append(Exemplar(text=body or source, source=source if body else ""))
        elif line.startswith("Synonyms: "):
            synonyms += [s.strip() for s in line[len("Synonyms: "):].split(";") if s.strip()]
        else:
            definition.append(line)
    return "\n".join(definition).strip(), synonyms, exemplars


def read_qdc(data: bytes, name: str) -> Codebook:
    """A .qdc codebook (or the CodeBook of a .qde project) as one of our codebooks called `name`."""
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise RefiError(f"not well-formed XML: {exc}") from None
    ns = etree.QName(root).namespace
    if ns not in (CODEBOOK_NS, PROJECT_NS):
        raise RefiError(f"not a REFI-QDA codebook (namespace {ns!r}, expected {CODEBOOK_NS!r})")
    if etree.QName(root).localname == "Project":
        root = root.find(f"{{{ns}}}CodeBook")
        if root is None:
            raise RefiError("the project has no CodeBook")
    codes: list[Code] = []
    seen: set[str] = set()

    def walk(el: etree._Element, parent: str | None) -> None:
        for node in el.findall(f"{{{ns}}}Code"):
            full = (node.get("name") or "").strip()
            if not full:
                raise RefiError(f"a code (guid {node.get('guid')}) has no name")
            numbered = _NUMBERED.match(full)
            code_id, label = (numbered.group(1), numbered.group(2)) if numbered else (full[:64], full)
            if code_id in seen:  # two unnumbered codes with one name under different parents
                code_id = f"{parent}/{code_id}"[:64] if parent else code_id
            if code_id in seen:  # the same name, or names that share the first 64 characters a code id keeps
                raise RefiError(f"two codes would have the id {code_id!r} (a code id keeps the first 64 characters "
                                f"of an unnumbered code's name; this one is {full[:80]!r}); rename or number one")
            seen.add(code_id)
            desc = node.find(f"{{{ns}}}Description")
            definition, synonyms, exemplars = _parse_description(desc.text or "" if desc is not None else "")
            codes.append(Code(id=code_id, label=label, parent=parent, definition=definition, synonyms=synonyms,
                              exemplars=exemplars))
            walk(node, code_id)

    codes_el = root.find(f"{{{ns}}}Codes")
    if codes_el is None:
        raise RefiError("the codebook has no Codes")
    walk(codes_el, None)
    if not codes:
        raise RefiError("the codebook has no codes")
    return Codebook(name=name, title=name, version="1", description="Imported from a REFI-QDA codebook",
                    codes=codes)


# -- projects --------------------------------------------------------------------------------------------------

@dataclass
class Note:
    """A coder's memo as a REFI-QDA Note: about a code on a selection (referenced from the author's coding of
    that code) or about the selection itself (referenced from the selection)."""

    key: str  # stable id (the memo decision's id)
    author: str
    text: str
    created: datetime | None
    code: str | None = None


@dataclass
class SourceDoc:
    key: str  # stable id (the transcript id)
    name: str
    text: str
    created: datetime | None
    selections: list["Selection"] = field(default_factory=list)
    variables: dict[str, str | None] = field(default_factory=dict)  # e.g. role, site, arm of this transcript


@dataclass
class Selection:
    key: str  # stable id (the segment id)
    start: int
    end: int
    codings: list[tuple[str, str]] = field(default_factory=list)  # (coder name, code id)
    notes: list[Note] = field(default_factory=list)
    coded_at: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (coder, code) -> when applied


@dataclass
class Case:
    """A participant: their attributes as variable values and the sources (transcripts) that are theirs."""

    key: str  # stable id (the participant id)
    name: str
    variables: dict[str, str | None]
    source_keys: list[str]


def _stamp(value: datetime | None) -> str:
    value = value or datetime.now(UTC)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _variable_values(parent: etree._Element, q: str, values: dict[str, str | None]) -> None:
    for var, value in values.items():
        if value is not None and value != "":
            el = etree.SubElement(parent, f"{q}VariableValue")
            etree.SubElement(el, f"{q}VariableRef", targetGUID=guid("variable", var))
            etree.SubElement(el, f"{q}TextValue").text = value


def project_qdpx(name: str, book: ResolvedCodebook, coders: list[str], sources: list[SourceDoc],
                 cases: list[Case] | None = None) -> bytes:
    """A .qdpx: project.qde (users, the codebook, variables, cases, every source with its coded selections,
    notes) and sources/*.txt.

    Positions are character offsets into the plain text, as QDA-XML specifies; our segments' offsets index
    exactly the stored text that is written as the source. Each coding and note names the coder who made it as
    its creatingUser. Cases carry the participants' variables (as Text variables) and refer to their sources;
    each source also carries its own transcript's values, since one participant's transcripts may differ.
    """
    q = f"{{{PROJECT_NS}}}"
    cases = cases or []
    root = etree.Element(f"{q}Project", nsmap={None: PROJECT_NS}, name=name, origin="bct-autocoder",
                         creationDateTime=_stamp(None))
    if coders:  # the schema's Users needs at least one User
        users = etree.SubElement(root, f"{q}Users")
        for coder in coders:
            etree.SubElement(users, f"{q}User", guid=guid("user", coder), name=coder)
    codebook = etree.SubElement(root, f"{q}CodeBook")
    codebook.append(_codes_element(PROJECT_NS, book.name, list(book.codes)))
    variables = list(dict.fromkeys(v for holder in [*cases, *sources] for v in holder.variables))
    if variables:
        variables_el = etree.SubElement(root, f"{q}Variables")
        for var in variables:
            etree.SubElement(variables_el, f"{q}Variable", guid=guid("variable", var), name=var,
                             typeOfVariable="Text")
    if cases:
        cases_el = etree.SubElement(root, f"{q}Cases")
        for case in cases:
            case_el = etree.SubElement(cases_el, f"{q}Case", guid=guid("case", case.key), name=case.name)
            _variable_values(case_el, q, case.variables)
            for key in case.source_keys:
                etree.SubElement(case_el, f"{q}SourceRef", targetGUID=guid("source", key))
    sources_el = etree.SubElement(root, f"{q}Sources")
    notes: list[Note] = []
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for src in sources:
            source_guid = guid("source", src.key)
            el = etree.SubElement(sources_el, f"{q}TextSource", guid=source_guid, name=src.name,
                                  plainTextPath=f"internal://{source_guid}.txt", creationDateTime=_stamp(src.created))
            out.writestr(f"sources/{source_guid}.txt", src.text.encode("utf-8"))
            for sel in src.selections:
                if not sel.codings and not sel.notes:
                    continue
                first = sel.codings[0][0] if sel.codings else sel.notes[0].author
                sel_el = etree.SubElement(el, f"{q}PlainTextSelection", guid=guid("selection", sel.key),
                                          startPosition=str(sel.start), endPosition=str(sel.end),
                                          creatingUser=guid("user", first))
                on_coding = {(n.author, n.code): [] for n in sel.notes if (n.author, n.code) in sel.codings}
                for note in sel.notes:
                    on_coding.get((note.author, note.code), []).append(note)
                for coder, code in sel.codings:
                    coding = etree.SubElement(sel_el, f"{q}Coding", guid=guid("coding", sel.key, coder, code),
                                              creatingUser=guid("user", coder))
                    if (coder, code) in sel.coded_at:
                        coding.set("creationDateTime", _stamp(sel.coded_at[coder, code]))
                    etree.SubElement(coding, f"{q}CodeRef", targetGUID=guid("code", book.name, code))
                    for note in on_coding.get((coder, code), []):
                        etree.SubElement(coding, f"{q}NoteRef", targetGUID=guid("note", note.key))
                for note in sel.notes:  # a memo on the sentence, or about a code its author no longer applies
                    if (note.author, note.code) not in on_coding:
                        etree.SubElement(sel_el, f"{q}NoteRef", targetGUID=guid("note", note.key))
                notes += sel.notes
            _variable_values(el, q, src.variables)
        if notes:
            notes_el = etree.SubElement(root, f"{q}Notes")
            for note in notes:
                title = f"Memo by {note.author}" + (f" on {note.code}" if note.code else "")
                note_el = etree.SubElement(notes_el, f"{q}Note", guid=guid("note", note.key), name=title,
                                           creatingUser=guid("user", note.author),
                                           creationDateTime=_stamp(note.created))
                etree.SubElement(note_el, f"{q}PlainTextContent").text = note.text
        out.writestr("project.qde", etree.tostring(root, xml_declaration=True, encoding="utf-8",
                                                   pretty_print=True))
    return archive.getvalue()


def read_qdpx(data: bytes) -> tuple[etree._Element, dict[str, str]]:
    """The project.qde root and the sources' texts by GUID (for tests and for checking an export)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = etree.fromstring(archive.read("project.qde"))
        texts = {n.removeprefix("sources/").removesuffix(".txt"): archive.read(n).decode("utf-8")
                 for n in archive.namelist() if n.startswith("sources/")}
    return root, texts
