"""The `autocoder` command: thin wrappers over the library."""

from pathlib import Path

import typer

app = typer.Typer(help="bct-autocoder: suggest BCT codes for interview transcripts.", no_args_is_help=True)
codebook_app = typer.Typer(help="Work with codebook files.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)
models_app = typer.Typer(help="Trained classifier versions: list, promote, roll back.", no_args_is_help=True)
report_app = typer.Typer(help="Tables and plots for a paper, from confirmed codes.", no_args_is_help=True)
export_app = typer.Typer(help="Export segments, decisions, or the project for NVivo / ATLAS.ti / MAXQDA.",
                         no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(models_app, name="models")
app.add_typer(report_app, name="report")
app.add_typer(export_app, name="export")
transcripts_app = typer.Typer(help="Stored transcripts: delete one and everything made from it.",
                              no_args_is_help=True)
app.add_typer(transcripts_app, name="transcripts")


def _session():
    """A session on the configured database, migrated to the newest schema first."""
    from app.config import get_settings
    from app.db.migrate import upgrade
    from app.db.session import make_engine, make_session_factory

    url = get_settings().database_url
    upgrade(url)
    return make_session_factory(make_engine(url))()


def _fail(exc: Exception) -> None:
    """Print the error (str() keeps a codebook error's list of problems) and exit with status 1."""
    typer.echo(f"error: {exc}", err=True)
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
        settings = get_settings()
        base_book = resolve_spec(base, settings.taxonomy_dir, third_party=settings.third_party_text).parts[-1]
        book, summary = import_bcto(xlsx, base_book, name=name, include_proposed=include_proposed)
    except (CodebookError, OSError) as exc:
        _fail(exc)
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
    from taxonomy import load_builtin

    settings = get_settings()
    for book in load_builtin(settings.taxonomy_dir, third_party=settings.third_party_text).values():
        typer.echo(f"{book.name:24} {book.version:8} {len(book.codes):4} codes  {book.title}")


@app.command()
def evaluate(
    codebook: str = typer.Argument(help="Built-in codebook name(s) or codebook file(s), joined with '+'."),
    labelled: Path = typer.Argument(help="JSONL: one sentence a line with its text, gold codes and group."),
    codes_field: str = typer.Option("codes", help="Field holding the list of gold codes (ids or labels)."),
    group_field: str = typer.Option("group", help="Field naming the dialogue or transcript; folds never split one."),
    turn_field: str | None = typer.Option(None, help="Field naming the speaker turn: context stays inside it."),
    where: list[str] = typer.Option([], help="Keep lines with FIELD=VALUE[,VALUE] (repeatable), e.g. split=dev."),
    mode: list[str] = typer.Option(["similarity", "blend", "baseline", "served"],
                                   help="similarity, classifier, blend, baseline, served (see training/evaluate.py)."),
    folds: int = typer.Option(5, min=2, help="Grouped cross-validation folds for classifier and blend."),
    context: int = typer.Option(0, min=0, help="Neighbouring sentences of the same group to use (0 = none)."),
    top_k: int | None = typer.Option(None, min=1, help="Codes shown per sentence (default: the service's)."),
    threshold: float | None = typer.Option(None, min=0, max=1, help="Score to show a code (default: service's)."),
    curve: bool = typer.Option(False, help="Also simulate a coder confirming 0, 25, ... labels: a learning curve."),
    seeds: int = typer.Option(3, min=1, help="Random label orders per learning-curve point."),
    sizes: str = typer.Option("0,25,50,100,200,400,all", help="Learning-curve points: labels per training fold."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """How often suggestions are right on labelled data: top-1, hit@k, F1 per code, confusions."""
    import dataclasses
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
        book = resolve_spec(codebook, settings.taxonomy_dir, third_party=settings.third_party_text)
        items = load_labelled(labelled, book, codes_field=codes_field, group_field=group_field,
                              turn_field=turn_field, where=_field_filter(where))
    except (CodebookError, LabelledFileError, OSError) as exc:
        _fail(exc)
    config = EvalConfig(top_k=top_k or settings.top_k,
                        threshold=settings.threshold if threshold is None else threshold,
                        evidence_k=settings.evidence_k, context=context, folds=folds, scoring=settings.scoring())
    embedder = Embedder(settings.embedding_model)
    data = EvaluationSet(items, CodeIndexCache(embedder, settings.cache_dir).get(book), embedder, config)
    try:
        result = run_evaluation(data, modes=tuple(mode))
        if curve:
            points = tuple(None if x.strip() == "all" else int(x) for x in sizes.split(",") if x.strip())
            result.curve = learning_curve(data, points, seeds=seeds, modes=tuple(mode))
    except ValueError as exc:
        _fail(exc)
    if json_out:
        payload = {"codebook": book.version, "model": embedder.model_id,
                   "config": dataclasses.asdict(config)} | result.as_dict()
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(f"Codebook {book.version}, model {embedder.model_id}, {labelled}")
        typer.echo(full_text(result, threshold=config.threshold, top_k=config.top_k))


def _field_filter(where: list[str]) -> dict[str, set[str]]:
    """['split=dev', 'role=peer_worker,supported_peer'] -> {'split': {'dev'}, 'role': {...}}."""
    out: dict[str, set[str]] = {}
    for item in where:
        field, sep, values = item.partition("=")
        if not sep or not field or not values:
            raise typer.BadParameter(f"--where {item!r}: write FIELD=VALUE or FIELD=VALUE1,VALUE2")
        out.setdefault(field, set()).update(v for v in values.split(",") if v)
    return out


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
    from app.services.visibility import Visibility

    with _session() as session:
        report = stats.compare(*stats.gather(session, Visibility.everyone(), transcript or None, coder or None))
    typer.echo(json.dumps(dataclasses.asdict(report), indent=2) if json_out else stats.table(report))


@app.command()
def precode(
    input_path: Path = typer.Argument(help="A folder of transcripts (.txt, .json) or a manifest (.csv, .jsonl).",
                                      metavar="INPUT"),
    out: Path = typer.Option(..., help="Output folder: sentences.<format>, presence.<format>, errors.json."),
    codebook: str = typer.Option("", help="Codebook name(s) or file(s), joined with '+' (default: the service's)."),
    model: str = typer.Option("", help="A local sentence-transformers model folder (default: the bundled one)."),
    top_k: int | None = typer.Option(None, min=1, max=50, help="Codes kept per sentence."),
    threshold: float | None = typer.Option(None, min=0, max=1, help="Score a code needs to count as present."),
    device: str = typer.Option("cpu", help="cpu, cuda or auto; fp16 is used on a GPU."),
    batch_size: int = typer.Option(64, min=1, help="Sentences per model batch."),
    chunk_size: int = typer.Option(16, min=1, help="Transcripts per chunk (the unit that is resumed)."),
    output_format: str = typer.Option("parquet", "--format", help="parquet, csv or jsonl."),
    threads: int | None = typer.Option(None, min=1, help="Torch CPU threads (default: torch's choice)."),
    cache: bool = typer.Option(True, help="Reuse and store sentence vectors in the embedding cache."),
    fresh: bool = typer.Option(False, help="Discard what an earlier run left in --out and start over."),
    ray: str = typer.Option("", help="Run on Ray: 'local' starts one here, or a cluster address (ray://…)."),
    ray_workers: int = typer.Option(2, min=1, help="Ray actors, each holding a copy of the model."),
    code_interviewer: bool = typer.Option(False, help="Code interviewer turns too."),
    into_db: bool = typer.Option(False, help="Also store every transcript in the service's database "
                                             "(DATABASE_URL) for review; a resumed run stores each once."),
    classifier: str = typer.Option("", help="Blend in a trained classifier: 'served' (the version the database "
                                            "serves for this codebook) or a version number; default: none."),
) -> None:
    """Pre-code whole datasets: every sentence with its top-k codes, resumable after any interruption."""
    import sys

    from app.batch.cache import EmbeddingCache
    from app.batch.inputs import InputError, discover
    from app.batch.precode import FORMATS, JobMismatch, LocalEncoder, PrecodeOptions, Precoder
    from app.config import get_settings
    from app.engine.code_index import CodeIndexCache
    from app.engine.embed import Embedder
    from taxonomy import CodebookError, resolve_spec

    if output_format not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    settings = get_settings()
    try:
        sources = discover(input_path)
        book = resolve_spec(codebook or settings.default_codebook, settings.taxonomy_dir,
                            third_party=settings.third_party_text)
    except (InputError, CodebookError) as exc:
        _fail(exc)
    if threads:
        import torch

        torch.set_num_threads(threads)
    embedder = Embedder(model or settings.embedding_model, device=device, batch_size=batch_size, half=True)
    index = CodeIndexCache(embedder, settings.cache_dir).get(book)
    options = PrecodeOptions(top_k=top_k or settings.top_k,
                             threshold=settings.threshold if threshold is None else threshold,
                             scoring=settings.scoring(), chunk_size=chunk_size, batch_size=batch_size,
                             code_interviewer=code_interviewer, output_format=output_format)
    vector_cache = EmbeddingCache(settings.cache_dir / "embeddings", embedder.model_id, embedder.dimension) \
        if cache else None
    precoder = Precoder(settings, index, LocalEncoder(embedder), options, vector_cache,
                        _scorer_for(classifier, index, embedder.model_id) if classifier else None)
    pool = None
    if ray:
        from app.batch.ray_pool import RayPool

        try:
            pool = RayPool(None if ray == "local" else ray, ray_workers, model or settings.embedding_model,
                           device=device, threads=threads)
        except ImportError:
            _fail(RuntimeError("Ray is not installed here: pip install -e '.[ray]' (or pip install ray)"))
    on_chunk = _database_writer(settings, embedder, book, index, options, precoder, sources) if into_db else None
    report = _progress_reporter(sys.stderr.isatty(), len(sources))
    try:
        progress = precoder.run(sources, out, on_progress=report, fresh=fresh, ray_pool=pool, on_chunk=on_chunk)
    except JobMismatch as exc:
        _fail(exc)
    finally:
        report(None)
        if pool is not None:
            pool.close()
    typer.echo(f"{progress.transcripts_done} transcripts, {progress.sentences_done} sentences this run "
               f"({progress.sentences_encoded} encoded, the rest from the cache; {progress.chunks_resumed} of "
               f"{progress.chunks_total} chunks were already done) in {progress.elapsed:.1f} s "
               f"({progress.rate:.0f} sentences/s) -> {out}/sentences.{output_format}")
    if progress.errors:
        typer.echo(f"{progress.errors} transcript(s) could not be read: see {out}/errors.json", err=True)
        raise typer.Exit(2)


def _scorer_for(choice: str, index, model_id: str):
    """The Scorer for `precode --classifier served|N`, from the configured database and models folder."""
    from app.config import get_settings
    from app.db import classifiers as db
    from app.services.coding import Scorer
    from app.services.serving import ServedModels

    served = ServedModels(get_settings().models_dir)
    with _session() as session:
        if choice == "served":
            found = served.current(session, index.codebook_name)
            if found is None:
                _fail(ValueError(f"no classifier is served for {index.codebook_name}; see `autocoder models list`"))
            row = found[0]
        elif choice.isdigit():
            row = db.get_classifier(session, classifier_id=int(choice))
            if row is None or row.status != "ready":
                _fail(ValueError(f"no ready classifier version {choice}; see `autocoder models list`"))
        else:
            _fail(ValueError(f"--classifier is 'served' or a version number, not {choice!r}"))
        if row.embedding_model != model_id:
            _fail(ValueError(f"version {row.id} was trained on {row.embedding_model} vectors, not {model_id}"))
        return Scorer.blended(index, row.id, served.load(row))


def _database_writer(settings, embedder, book, index, options, precoder, sources):
    """on_chunk for --into-db: store each finished chunk's transcripts, keyed by the input's fingerprint."""
    from app.db.migrate import upgrade
    from app.db.session import make_engine, make_session_factory
    from app.services.codebooks import CodebookCatalog
    from app.services.coding import Coder, SuggestOptions
    from app.services.jobs import store_prepared

    upgrade(settings.database_url)
    sessions = make_session_factory(make_engine(settings.database_url))
    coder = Coder(settings, embedder, CodebookCatalog.from_settings(settings))
    suggest_options = SuggestOptions(book.name, options.top_k, options.threshold)
    prefix = f"precode:{precoder.job_description(sources)['inputs']}"
    return lambda prepared: store_prepared(sessions, coder, prepared, book, index, suggest_options, prefix,
                                           precoder.scorer.classifier_id)


def _progress_reporter(terminal: bool, total: int):
    """A progress bar on a terminal; otherwise a log line every 10 seconds. Call with None to finish."""
    import time

    if terminal:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="transcript", dynamic_ncols=True)

        def update(progress) -> None:
            if progress is None:
                bar.close()
                return
            bar.n = progress.transcripts_done
            bar.set_postfix_str(f"{progress.rate:.0f} sentences/s")
            bar.refresh()

        return update
    last = [0.0]

    def log_line(progress) -> None:
        if progress is None or time.monotonic() - last[0] < 10 and progress.chunks_done < progress.chunks_total:
            return
        last[0] = time.monotonic()
        eta = f", about {progress.eta / 60:.1f} min left" if progress.eta else ""
        typer.echo(f"precode: {progress.transcripts_done}/{progress.transcripts_total} transcripts, "
                   f"{progress.sentences_done} sentences, {progress.rate:.0f}/s{eta}", err=True)

    return log_line


def _learner():
    """A Learner on the configured database and embedding model (the service's own parts, no HTTP)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from app.config import get_settings
    from app.db.migrate import upgrade
    from app.db.session import make_engine, make_session_factory
    from app.engine.embed import Embedder
    from app.services.codebooks import CodebookCatalog
    from app.services.coding import Coder
    from app.services.learning import Learner

    settings = get_settings()
    upgrade(settings.database_url)
    sessions = make_session_factory(make_engine(settings.database_url))
    embedder = Embedder(settings.embedding_model, device=settings.embedding_device)
    return Learner(settings, Coder(settings, embedder, CodebookCatalog.from_settings(settings)), sessions), sessions


def _admin(session, name: str):
    from app.db import accounts as db
    from app.services.accounts import require

    user = db.get_user(session, name=name)
    if user is None:
        _fail(ValueError(f"no user {name!r}: `autocoder users list` shows who there is"))
    require(user, "admin")
    return user


@app.command()
def train(
    codebook: str = typer.Option(None, help="Codebook (default: the service's)."),
    force: bool = typer.Option(False, help="Promote the new version even if it does not beat the served one."),
    by: str = typer.Option(None, help="Admin to record as having triggered it (default: none, 'cli')."),
) -> None:
    """Fit a classifier version on every confirmed label, validate it, and promote it if it is better."""
    from app.errors import AutocoderError

    learner, sessions = _learner()
    with sessions() as session:
        try:
            user = _admin(session, by) if by else None
            row = learner.request(session, user, codebook=codebook, trigger="cli", force=force)
        except AutocoderError as exc:
            _fail(exc)
        version = row.id
    learner.run(version)
    with sessions() as session:
        row = learner.get(session, version)
        if row.status != "ready":
            _fail(ValueError(f"version {version} failed: {row.message}"))
        card = row.card
        modes = card["validation"]["modes"]
        typer.echo(f"version {version}: {card['data']['segments']} labelled segments from "
                   f"{card['data']['transcripts']} transcripts, {len(card['model']['codes_with_model'])} codes "
                   f"with a model, {card['seconds']:.1f} s; saved in {learner.settings.models_dir / row.path}")
        for mode, report in modes.items():
            typer.echo(f"  {mode:10} macro F1 {report['macro_f1']:.3f}  micro F1 {report['micro_f1']:.3f}  "
                       f"top-1 {report['top1']:.3f}  ({card['validation']['folds']} grouped folds, held out)")
        verdict = card["promotion"]
        typer.echo(("promoted: " if verdict["promoted"] else "not promoted: ") + verdict["reason"])


@models_app.command("list")
def models_list(codebook: str = typer.Option(None, help="Only this codebook's versions.")) -> None:
    """Versions, newest first, and which one is served."""
    from app.db import classifiers as db

    with _session() as session:
        for row in db.list_classifiers(session, codebook_name=codebook):
            served = db.served(session, codebook_name=row.codebook_name)
            mark = "*" if served is not None and served.classifier_id == row.id else " "
            typer.echo(f"{mark} v{row.id:<4} {row.status:9} {row.codebook_name:28} {row.created_at:%Y-%m-%d %H:%M} "
                       f"{row.message or ''}")


@models_app.command("promote")
def models_promote(version: int, by: str = typer.Option(..., help="The admin promoting it.")) -> None:
    """Serve this version from the next request on."""
    from app.errors import AutocoderError

    learner, sessions = _learner()
    with sessions() as session:
        try:
            learner.promote(session, _admin(session, by), version)
        except AutocoderError as exc:
            _fail(exc)
    typer.echo(f"serving v{version}")


@models_app.command("rollback")
def models_rollback(
    by: str = typer.Option(..., help="The admin rolling back."),
    to: int = typer.Option(None, help="Version to serve (default: the one served before the current one)."),
    similarity_only: bool = typer.Option(False, help="Serve no classifier: similarity alone."),
    codebook: str = typer.Option(None, help="Codebook (default: the service's)."),
) -> None:
    """Serve an earlier version again, or similarity alone."""
    from app.errors import AutocoderError

    learner, sessions = _learner()
    with sessions() as session:
        try:
            change = learner.rollback(session, _admin(session, by), codebook, to, similarity_only)
        except AutocoderError as exc:
            _fail(exc)
        typer.echo(f"{change.codebook_name}: serving "
                   f"{'v' + str(change.classifier_id) if change.classifier_id else 'similarity alone'}")


def _coder():
    """The service's Coder on the configured database and model, and a session factory."""
    learner, sessions = _learner()
    return learner.coder, sessions


@transcripts_app.command("delete")
def transcripts_delete(transcript_id: int, by: str = typer.Option(..., help="The admin deleting it.")) -> None:
    """Delete a transcript, its segments, vectors, runs, suggestions, decisions and cached embeddings; an
    audit row (no text) stays."""
    from app.errors import AutocoderError
    from app.services.privacy import delete_transcript

    coder, sessions = _coder()
    with sessions() as session:
        try:
            row = delete_transcript(session, coder, transcript_id, _admin(session, by))
        except AutocoderError as exc:
            _fail(exc)
        counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in row.removed.items())
        typer.echo(f"deleted transcript {transcript_id} ({row.participant_id or 'no participant id'}): {counts}")


@app.command("import")
def import_command(
    paths: list[Path],
    codebook: str = typer.Option(None, help="Codebook to suggest with (default: the service's)."),
    participant_id: str = typer.Option(None), site: str = typer.Option(None),
    trial_arm: str = typer.Option(None),
    code_interviewer: bool = typer.Option(False, help="Code interviewers' sentences too."),
) -> None:
    """Import transcripts (.txt .docx .vtt .srt .csv .jsonl, or .zip of them): all are stored, or none."""
    from app.errors import AutocoderError
    from app.services.coding import SuggestOptions
    from app.services.imports import import_files

    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        _fail(ValueError(f"no such file: {', '.join(missing)}"))
    coder, sessions = _coder()
    metadata = {k: v for k, v in dict(participant_id=participant_id, site=site, trial_arm=trial_arm).items() if v}
    with sessions() as session:
        try:
            result = import_files(session, None, coder, [(p.name, p.read_bytes()) for p in paths],
                                  SuggestOptions(codebook), metadata, code_interviewer)
        except AutocoderError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            for problem in exc.details or []:
                typer.echo(f"  {problem}", err=True)
            raise typer.Exit(1) from None
        for transcript, run in result.stored:
            typer.echo(f"transcript {transcript.id}: {transcript.title} ({len(transcript.segments)} sentences, "
                       f"run {run.id})")
    for name in result.skipped:
        typer.echo(f"skipped {name}", err=True)


def _report_coding(session, coder, codebook, source, threshold=None):
    from app.errors import AutocoderError
    from app.services import reports
    from app.services.visibility import Visibility

    try:
        book = coder.catalog.resolve(session, codebook or coder.settings.default_codebook)
        return reports.gather(session, book, scope=Visibility.everyone(), source=source, threshold=threshold)
    except AutocoderError as exc:
        _fail(exc)


@report_app.command("table2")
def report_table2(
    codebook: str = typer.Option(None, help="Codebook (default: the service's)."),
    source: str = typer.Option("confirmed", help="confirmed, or suggested (UNCONFIRMED, over the threshold)."),
    threshold: float = typer.Option(None, help="With --source suggested: the score floor (default: each run's)."),
    out: Path = typer.Option(None, help="Write CSV here instead of printing Markdown."),
) -> None:
    """The seed paper's Table 2: for every code, quotes from peer workers, supported peers, both or neither."""
    from app.services import exports, reports

    coder, sessions = _coder()
    with sessions() as session:
        coding = _report_coding(session, coder, codebook, source, threshold)
        rows = reports.table2(coding)
        if out is None:
            typer.echo(reports.table2_markdown(coding, rows))
            return
        out.write_bytes(exports.encode([{"code": r.code, "label": r.label, "group": r.group, "pw_quote": r.cells[0],
                                         "sp_quote": r.cells[1], "presence": r.presence, "pw_segments": r.pw,
                                         "sp_segments": r.sp, "source": coding.source} for r in rows], "csv"))
        typer.echo(f"wrote {out}")


@report_app.command("exemplars")
def report_exemplars(codebook: str = typer.Option(None), per_code: int = typer.Option(3),
                     source: str = typer.Option("confirmed")) -> None:
    """Exemplar quotes per code, with speaker and transcript, as Markdown."""
    from app.services import reports

    coder, sessions = _coder()
    with sessions() as session:
        coding = _report_coding(session, coder, codebook, source)
        typer.echo(reports.exemplars_markdown(coding, reports.exemplars(coding, per_code)))


@report_app.command("plots")
def report_plots(
    out: Path = typer.Option(Path("reports"), help="Folder for code-frequency.{png,svg} and group-heatmap.{png,svg}."),
    codebook: str = typer.Option(None), source: str = typer.Option("confirmed"),
) -> None:
    """Codes by speaker role, and a transcript x code-group heat map, as PNG and SVG."""
    from app.services import plots

    coder, sessions = _coder()
    out.mkdir(parents=True, exist_ok=True)
    with sessions() as session:
        coding = _report_coding(session, coder, codebook, source)
        for name, draw in plots.PLOTS.items():
            for fmt in plots.FORMATS:
                (out / f"{name}.{fmt}").write_bytes(draw(coding, fmt))
                typer.echo(f"wrote {out / f'{name}.{fmt}'}")


def _export_rows(out: Path, fmt: str, rows) -> None:
    from app.errors import AutocoderError
    from app.services import exports

    with _session() as session:
        try:
            out.write_bytes(exports.encode(rows(session), fmt))
        except AutocoderError as exc:
            _fail(exc)
    typer.echo(f"wrote {out}")


@export_app.command("segments")
def export_segments(out: Path, fmt: str = typer.Option("csv", "--format", help="csv, jsonl or parquet.")) -> None:
    """Every segment with its suggestions and each coder's codes."""
    from app.services import exports
    from app.services.visibility import Visibility

    _export_rows(out, fmt, lambda session: exports.segment_rows(session, Visibility.everyone()))


@export_app.command("decisions")
def export_decisions(out: Path, fmt: str = typer.Option("csv", "--format", help="csv, jsonl or parquet.")) -> None:
    """The decision trail."""
    from app.services import exports
    from app.services.visibility import Visibility

    _export_rows(out, fmt, lambda session: exports.decision_rows(session, Visibility.everyone()))


@export_app.command("qdpx")
def export_qdpx(out: Path, codebook: str = typer.Option(None),
                name: str = typer.Option("bct-autocoder project")) -> None:
    """The coded project as a REFI-QDA .qdpx for NVivo, ATLAS.ti or MAXQDA."""
    from app.config import get_settings
    from app.errors import AutocoderError
    from app.services import exports
    from app.services.codebooks import CodebookCatalog
    from app.services.visibility import Visibility

    settings = get_settings()
    with _session() as session:
        try:
            book = CodebookCatalog.from_settings(settings).resolve(
                session, codebook or exports.current_codebook_name(session, settings.default_codebook))
            out.write_bytes(exports.project(session, Visibility.everyone(), book, name))
        except AutocoderError as exc:
            _fail(exc)
    typer.echo(f"wrote {out}")


@codebook_app.command("export-qdc")
def codebook_export_qdc(name: str, out: Path) -> None:
    """Write a codebook (built-in or uploaded; 'a+b' combines) as a REFI-QDA .qdc file."""
    from app.config import get_settings
    from app.errors import AutocoderError
    from app.exchange.refi import codebook_qdc
    from app.services.codebooks import CodebookCatalog

    with _session() as session:
        try:
            book = CodebookCatalog.from_settings(get_settings()).resolve(session, name)
        except AutocoderError as exc:
            _fail(exc)
        out.write_bytes(codebook_qdc(book))
    typer.echo(f"wrote {out} ({len(book.leaves)} codes)")


@codebook_app.command("import-qdc")
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
        _fail(exc)
    with _session() as session:
        try:
            catalog = CodebookCatalog.from_settings(get_settings())
            resolved, created = catalog.upload(session, json.dumps(book.model_dump()))
        except AutocoderError as exc:
            _fail(exc)
        session.commit()
    typer.echo(f"{'stored' if created else 'unchanged'}: {resolved.name} ({len(resolved.leaves)} codes)")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database named by DATABASE_URL to the newest schema."""
    from app.config import get_settings
    from app.db.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database is at the newest schema")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
