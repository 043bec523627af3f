"""`autocoder precode`: pre-code a folder of transcripts in batch.

Exit status: 0 when every input was read and pre-coded; 1 when the job could not run (no such input, a bad
manifest or option, an output folder holding another job); 2 when it finished but some file was skipped or
could not be read (each is listed in <out>/errors.json with the reason, and on standard error)."""

from pathlib import Path

import typer

from app.cli.common import fail, open_session


def precode(
    input_path: Path = typer.Argument(help="A folder of transcripts (.txt .json .docx .vtt .srt, .csv/.jsonl turn "
                                           "tables, .zip), one such file, or a manifest (.csv/.jsonl with a 'file' "
                                           "column and participant, role, site, arm).", metavar="INPUT"),
    out: Path = typer.Option(..., help="Output folder: sentences.<format>, presence.<format>, errors.json, "
                                       "warnings.json."),
    codebook: str = typer.Option("", help="Codebook name(s) or file(s), joined with '+' (default: the service's)."),
    model: str = typer.Option("", help="A local sentence-transformers model folder (default: the bundled one)."),
    top_k: int | None = typer.Option(None, min=1, max=50, help="Codes kept per sentence."),
    threshold: float | None = typer.Option(None, min=0, max=1, help="Score a code needs to count as present."),
    device: str = typer.Option("cpu", help="cpu, cuda or auto; fp16 is used on a GPU."),
    batch_size: int = typer.Option(64, min=1, help="Sentences per model batch."),
    chunk_size: int = typer.Option(16, min=1, help="Transcripts per chunk (the unit that is resumed)."),
    output_format: str = typer.Option("parquet", "--format", help="parquet, csv or jsonl."),
    threads: int | None = typer.Option(None, min=1, help="CPU threads the encoder runs on, torch or ONNX Runtime "
                                                             "(default: every core for ONNX, torch's own choice)."),
    cache: bool = typer.Option(True, help="Reuse and store sentence vectors in the embedding cache."),
    fresh: bool = typer.Option(False, help="Discard what an earlier run left in --out and start over."),
    ray: str = typer.Option("", help="Run on Ray: 'local' starts one here, or a cluster address (ray://…)."),
    ray_workers: int = typer.Option(2, min=1, help="Ray actors, each holding a copy of the model."),
    code_interviewer: bool = typer.Option(False, help="Code interviewer turns too."),
    name_pattern: str = typer.Option("", help="Metadata from file names, e.g. '{participant}_{role}.docx' (fields "
                                              "participant, role, site, arm; {*} matches anything). A file whose "
                                              "name does not fit is skipped and listed in errors.json."),
    into_db: bool = typer.Option(False, help="Also store every transcript in the service's database "
                                             "(DATABASE_URL) for review; a resumed run stores each once."),
    classifier: str = typer.Option("", help="Blend in a trained classifier: 'served' (the version the database "
                                            "serves for this codebook) or a version number; default: none."),
) -> None:
    """Pre-code whole datasets: every sentence with its top-k codes, resumable after any interruption.

    Exit status: 0 every input read and pre-coded; 1 the job could not run; 2 it finished, but some file was
    skipped or could not be read (listed with the reason in OUT/errors.json)."""
    import sys

    from app.batch.cache import EmbeddingCache
    from app.batch.inputs import InputError, discover
    from app.batch.precode import FORMATS, JobMismatch, LocalEncoder, PrecodeOptions, Precoder
    from app.config import get_settings
    from app.engine.code_index import CodeIndexCache
    from app.services.embedders import make_embedder
    from taxonomy import CodebookError, resolve_spec

    if output_format not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    settings = get_settings()
    if name_pattern:
        from app.ingest.metadata import NamePattern

        try:
            NamePattern(name_pattern)
        except ValueError as exc:
            fail(exc)
    try:
        sources = discover(input_path, role_patterns=settings.role_patterns)
        book = resolve_spec(codebook or settings.default_codebook, settings.taxonomy_dir,
                            third_party=settings.third_party_text, interview_examples=settings.interview_examples)
    except (InputError, CodebookError) as exc:
        fail(exc)
    embedder = make_embedder(settings, **({"model": model} if model else {}), device=device,
                             batch_size=batch_size, half=True, threads=threads)
    typer.echo(f"encoder: {embedder.describe()}", err=True)
    index = CodeIndexCache(embedder, settings.cache_dir).get(book)
    options = PrecodeOptions(top_k=top_k or settings.top_k,
                             threshold=settings.threshold if threshold is None else threshold,
                             scoring=settings.scoring(), passages=settings.passages(), chunk_size=chunk_size,
                             batch_size=batch_size,
                             code_interviewer=code_interviewer, output_format=output_format,
                             name_pattern=name_pattern or None)
    vector_cache = EmbeddingCache(settings.cache_dir / "embeddings", embedder.model_id, embedder.dimension) \
        if cache else None
    precoder = Precoder(settings, index, LocalEncoder(embedder), options, vector_cache,
                        _scorer_for(classifier, index, embedder.model_id) if classifier else None)
    pool = None
    if ray:
        from app.batch.ray_pool import RayPool

        try:
            pool = RayPool(None if ray == "local" else ray, ray_workers, embedder.same_encoder(),
                           device=device, threads=threads, backend=embedder.backend)
        except ImportError:
            fail(RuntimeError("Ray is not installed here: pip install -e '.[ray]' (or pip install ray)"))
    on_chunk = _database_writer(settings, embedder, book, index, options, precoder, sources) if into_db else None
    report = _progress_reporter(sys.stderr.isatty(), len(sources))
    try:
        progress = precoder.run(sources, out, on_progress=report, fresh=fresh, ray_pool=pool, on_chunk=on_chunk)
    except JobMismatch as exc:
        fail(exc)
    finally:
        report(None)
        if pool is not None:
            pool.close()
    typer.echo(f"{progress.transcripts_done} of {len(sources)} inputs, {progress.transcripts_coded} transcripts "
               f"pre-coded this run, {progress.sentences_done} sentences ({progress.sentences_encoded} encoded, the "
               f"rest from the cache; {progress.chunks_resumed} of {progress.chunks_total} chunks were already done) "
               f"in {progress.elapsed:.1f} s ({progress.rate:.0f} sentences/s) -> {out}/sentences.{output_format}")
    _summarise(out)
    if progress.errors or _listed(out / "errors.json"):
        raise typer.Exit(2)


def _listed(path: Path) -> list[dict]:
    import json

    return json.loads(path.read_text()) if path.exists() else []


def _summarise(out: Path) -> None:
    """The skipped files with their reasons, and the speaker warnings, from the job's files (a resumed run
    reports the earlier runs' too)."""
    errors, warnings = _listed(out / "errors.json"), _listed(out / "warnings.json")
    for w in warnings:
        typer.echo(f"warning: {w['file']}: {w['warning']}", err=True)
    if errors:
        typer.echo(f"{len(errors)} file(s) skipped or not read (listed in {out}/errors.json):", err=True)
        for e in errors:
            typer.echo(f"  {e['file']}: {e['reason']}", err=True)


def _scorer_for(choice: str, index, model_id: str):
    """The Scorer for `precode --classifier served|N`, from the configured database and models folder."""
    from app.config import get_settings
    from app.db import classifiers as db
    from app.services.coding import Scorer
    from app.services.serving import ServedModels

    served = ServedModels(get_settings().models_dir)
    with open_session() as session:
        if choice == "served":
            found = served.current(session, index.codebook_name)
            if found is None:
                fail(ValueError(f"no classifier is served for {index.codebook_name}; see `autocoder models list`"))
            row = found[0]
        elif choice.isdigit():
            row = db.get_classifier(session, classifier_id=int(choice))
            if row is None or row.status != "ready":
                fail(ValueError(f"no ready classifier version {choice}; see `autocoder models list`"))
        else:
            fail(ValueError(f"--classifier is 'served' or a version number, not {choice!r}"))
        if row.embedding_model != model_id:
            fail(ValueError(f"version {row.id} was trained on {row.embedding_model} vectors, not {model_id}"))
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

        bar = tqdm(total=total, unit="file", dynamic_ncols=True)

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
        typer.echo(f"precode: {progress.transcripts_done}/{progress.transcripts_total} inputs, "
                   f"{progress.sentences_done} sentences, {progress.rate:.0f}/s{eta}", err=True)

    return log_line
