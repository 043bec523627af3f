"""`autocoder codebook`: validate, list, import and export codebook files."""

from pathlib import Path

import typer

from app.cli.common import fail, open_session

app = typer.Typer(help="Work with codebook files.", no_args_is_help=True)


@app.command("validate")
def validate(paths: list[Path]) -> None:
    """Check codebook files (YAML or JSON) against the schema; exit 1 on the first bad one."""
    from taxonomy import CodebookError, load_codebook_file

    for path in paths:
        try:
            book = load_codebook_file(path)
        except (CodebookError, OSError) as exc:
            typer.echo(f"{path}: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"{path}: ok ({book.name} {book.version}, {len(book.codes)} codes)")


@app.command("import-bcto")
def import_bcto_command(
    xlsx: Path = typer.Argument(help="bcto.xlsx from HumanBehaviourChangeProject/ontologies."),
    out: Path = typer.Option(Path("bcttv1-bcto.yaml"), help="Where to write the new codebook (YAML)."),
    base: str = typer.Option("bcttv1", help="Built-in codebook whose codes receive the ontology's wording."),
    name: str = typer.Option("bcttv1-bcto", help="Name of the new codebook."),
    include_proposed: bool = typer.Option(False, help="Also use classes still marked 'Proposed'."),
) -> None:
    """Give BCTTv1 codes the Behaviour Change Technique Ontology's definitions, synonyms and examples."""
    import yaml

    from app.config import get_settings
    from taxonomy import CodebookError, parse_codebook, resolve_spec
    from taxonomy.bcto import import_bcto

    try:
        settings = get_settings()
        base_book = resolve_spec(base, settings.taxonomy_dir, third_party=settings.third_party_text,
                                 interview_examples=settings.interview_examples).parts[-1]
        book, summary = import_bcto(xlsx, base_book, name=name, include_proposed=include_proposed)
    except (CodebookError, OSError) as exc:
        fail(exc)
    text = yaml.safe_dump(book.model_dump(exclude_defaults=True), sort_keys=False, allow_unicode=True, width=100)
    parse_codebook(text, source=str(out))  # what we write must load back; fail here, not at upload
    out.write_text(text, encoding="utf-8")
    typer.echo(f"{out}: {book.name} {book.version}: {summary.codes_with_bcto} codes carry BCTO wording from "
               f"{summary.classes_used} of {summary.classes_read} ontology classes")
    if summary.codes_without_bcto:
        typer.echo(f"kept {base}'s own definition (no ontology class refers to them): "
                   f"{', '.join(summary.codes_without_bcto)}")
    for ref, classes in summary.unknown_references.items():
        typer.echo(f"skipped: {ref} is not a code in {base} (from {'; '.join(classes)})")


@app.command("list")
def list_codebooks() -> None:
    """The built-in codebooks."""
    from app.config import get_settings
    from taxonomy import load_builtin

    settings = get_settings()
    for book in load_builtin(settings.taxonomy_dir, third_party=settings.third_party_text).values():
        typer.echo(f"{book.name:24} {book.version:8} {len(book.codes):4} codes  {book.title}")


@app.command("export-qdc")
def codebook_export_qdc(name: str, out: Path) -> None:
    """Write a codebook (built-in or uploaded; 'a+b' combines) as a REFI-QDA .qdc file."""
    from app.config import get_settings
    from app.errors import AutocoderError
    from app.exchange.refi import codebook_qdc
    from app.services.codebooks import CodebookCatalog

    with open_session() as session:
        try:
            book = CodebookCatalog.from_settings(get_settings()).resolve(session, name, to_encode=False)
        except AutocoderError as exc:
            fail(exc)
        out.write_bytes(codebook_qdc(book))
    typer.echo(f"wrote {out} ({len(book.leaves)} codes)")


@app.command("import-qdc")
def codebook_import_qdc(path: Path, name: str = typer.Option(..., help="Name to store it under.")) -> None:
    """Store a REFI-QDA .qdc codebook in the database (as POST /codebooks/qdc does)."""
    import json

    from app.config import get_settings
    from app.errors import AutocoderError
    from app.exchange.refi import RefiError, read_qdc
    from app.services.codebooks import CodebookCatalog

    try:
        book = read_qdc(path.read_bytes(), name)
    except (OSError, RefiError, ValueError) as exc:
        fail(exc)
    with open_session() as session:
        try:
            catalog = CodebookCatalog.from_settings(get_settings())
            resolved, created = catalog.upload(session, json.dumps(book.model_dump()))
        except AutocoderError as exc:
            fail(exc)
        session.commit()
    typer.echo(f"{'stored' if created else 'unchanged'}: {resolved.name} ({len(resolved.leaves)} codes)")
