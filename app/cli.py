"""The `autocoder` command: thin wrappers over the library."""

from pathlib import Path

import typer

app = typer.Typer(help="bct-autocoder: suggest BCT codes for interview transcripts.", no_args_is_help=True)
codebook_app = typer.Typer(help="Work with codebook files.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")


def _session():
    """A session on the configured database, migrated to the newest schema first."""
    from app.config import get_settings
    from app.db.migrate import upgrade
    from app.db.session import make_engine, make_session_factory

    url = get_settings().database_url
    upgrade(url)
    return make_session_factory(make_engine(url))()


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
    raise typer.Exit(1) from None


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers)


@codebook_app.command("validate")
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


@codebook_app.command("import-bcto")
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
        base_book = resolve_spec(base, get_settings().taxonomy_dir).parts[-1]
        book, summary = import_bcto(xlsx, base_book, name=name, include_proposed=include_proposed)
    except (CodebookError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
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


@codebook_app.command("list")
def list_codebooks() -> None:
    """The built-in codebooks."""
    from app.config import get_settings
    from taxonomy import load_codebook_file

    for path in sorted(get_settings().taxonomy_dir.glob("*.yaml")):
        book = load_codebook_file(path)
        typer.echo(f"{book.name:24} {book.version:8} {len(book.codes):4} codes  {book.title}")


@app.command()
def evaluate(
    codebook: str = typer.Argument(help="Built-in codebook name(s) or codebook file(s), joined with '+'."),
    labelled: Path = typer.Argument(help="JSONL: one sentence a line with its text, gold codes and group."),
    codes_field: str = typer.Option("codes", help="Field holding the list of gold codes (ids or labels)."),
    group_field: str = typer.Option("group", help="Field naming the dialogue or transcript; folds never split one."),
    mode: list[str] = typer.Option(["similarity", "classifier", "blend"], help="similarity, classifier, blend."),
    folds: int = typer.Option(5, min=2, help="Grouped cross-validation folds for classifier and blend."),
    context: int = typer.Option(0, min=0, help="Neighbouring sentences of the same group to use (0 = none)."),
    top_k: int | None = typer.Option(None, min=1, help="Codes shown per sentence (default: the service's)."),
    threshold: float | None = typer.Option(None, min=0, max=1, help="Score to show a code (default: service's)."),
    curve: bool = typer.Option(False, help="Also simulate a coder confirming 0, 25, ... labels: a learning curve."),
    seeds: int = typer.Option(3, min=1, help="Random label orders per learning-curve point."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """How often suggestions are right on labelled data: top-1, hit@k, F1 per code, confusions."""
    import json

    from app.config import get_settings
    from app.engine.code_index import CodeIndexCache
    from app.engine.embed import Embedder
    from taxonomy import CodebookError, resolve_spec
    from training.evaluate import MODES, EvalConfig, EvaluationSet, learning_curve
    from training.evaluate import evaluate as run_evaluation
    from training.labelled import LabelledFileError, load_labelled
    from training.tables import full_text

    unknown = [m for m in mode if m not in MODES]
    if unknown:
        raise typer.BadParameter(f"unknown mode {', '.join(unknown)}; choose from {', '.join(MODES)}")
    settings = get_settings()
    try:
        book = resolve_spec(codebook, settings.taxonomy_dir)
        items = load_labelled(labelled, book, codes_field=codes_field, group_field=group_field)
    except (CodebookError, LabelledFileError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    config = EvalConfig(top_k=top_k or settings.top_k,
                        threshold=settings.threshold if threshold is None else threshold,
                        evidence_k=settings.evidence_k, context=context, folds=folds)
    embedder = Embedder(settings.embedding_model)
    data = EvaluationSet(items, CodeIndexCache(embedder, settings.cache_dir).get(book), embedder, config)
    try:
        result = run_evaluation(data, modes=tuple(mode))
        if curve:
            result.curve = learning_curve(data, seeds=seeds)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if json_out:
        payload = {"codebook": book.version, "model": embedder.model_id, "config": vars(config)} | result.as_dict()
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(f"Codebook {book.version}, model {embedder.model_id}, {labelled}")
        typer.echo(full_text(result, threshold=config.threshold, top_k=config.top_k))


@users_app.command("add")
def users_add(name: str, role: str = typer.Option("coder", help="viewer, coder or admin.")) -> None:
    """Add a user and print their API token (shown once: only its hash is stored)."""
    from app.errors import AutocoderError
    from app.services import accounts

    with _session() as session:
        try:
            new = accounts.add_user(session, name, role)
        except AutocoderError as exc:
            _fail(exc)
    typer.echo(f"added {name} ({role}). API token, shown once; send it as 'Authorization: Bearer <token>':")
    typer.echo(new.token)


@users_app.command("token")
def users_token(name: str, revoke_old: bool = typer.Option(False, help="Revoke the user's earlier tokens.")) -> None:
    """Print a new API token for a user (for a lost token, with --revoke-old)."""
    from app.errors import AutocoderError
    from app.services import accounts

    with _session() as session:
        try:
            new = accounts.new_token(session, name, revoke_old=revoke_old)
        except AutocoderError as exc:
            _fail(exc)
    typer.echo(new.token)


@users_app.command("list")
def users_list() -> None:
    """Users and their roles."""
    from app.db import accounts as db

    with _session() as session:
        for user in db.list_users(session):
            typer.echo(f"{user.name:24} {user.role:8} {'active' if user.active else 'deactivated'}")


@app.command()
def agreement(
    transcript: list[int] = typer.Option(None, help="Transcript id(s); all transcripts by default."),
    coder: list[str] = typer.Option(None, help="Coder name(s); everyone who decided by default."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Agreement between coders (Cohen's kappa, Krippendorff's alpha, % agreement) and with the model."""
    import dataclasses
    import json

    from app.services import agreement as stats

    with _session() as session:
        report = stats.compare(*stats.gather(session, transcript or None, coder or None))
    typer.echo(json.dumps(dataclasses.asdict(report), indent=2) if json_out else stats.table(report))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database named by DATABASE_URL to the newest schema."""
    from app.config import get_settings
    from app.db.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database is at the newest schema")


def main() -> None:
    app()
