"""`autocoder evaluate`: score suggestions against labelled sentences."""

from pathlib import Path

import typer

from app.cli.common import fail


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
    from app.services.embedders import make_embedder
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
        book = resolve_spec(codebook, settings.taxonomy_dir, third_party=settings.third_party_text,
                            interview_examples=settings.interview_examples)
        items = load_labelled(labelled, book, codes_field=codes_field, group_field=group_field,
                              turn_field=turn_field, where=_field_filter(where))
    except (CodebookError, LabelledFileError, OSError) as exc:
        fail(exc)
    known = {e.text for c in book.codes for e in c.exemplars} | {b.text for b in book.background}
    inside = sum(it.text.strip() in known for it in items)
    warnings = []
    if inside:  # a sentence matched against itself: the figures would not say how new talk fares
        warnings.append(f"{inside} of the {len(items)} sentences are exemplars or background of {book.name}, so "
                        "they are scored against themselves; evaluate on sentences the codebook does not hold "
                        "(AUTOCODER_INTERVIEW_EXAMPLES=false leaves out the interview set's)")
    config = EvalConfig(top_k=top_k or settings.top_k,
                        threshold=settings.threshold if threshold is None else threshold,
                        evidence_k=settings.evidence_k, context=context, folds=folds, scoring=settings.scoring())
    embedder = make_embedder(settings)
    if embedder.fallback:
        warnings.append(embedder.fallback)
    for warning in warnings:  # on stderr as it happens, and in the figures' own output, which is what is kept
        typer.echo(f"warning: {warning}", err=True)
    data = EvaluationSet(items, CodeIndexCache(embedder, settings.cache_dir).get(book), embedder, config)
    try:
        result = run_evaluation(data, modes=tuple(mode))
        if curve:
            points = tuple(None if x.strip() == "all" else int(x) for x in sizes.split(",") if x.strip())
            result.curve = learning_curve(data, points, seeds=seeds, modes=tuple(mode))
    except ValueError as exc:
        fail(exc)
    if json_out:
        payload = {"codebook": book.version, "codebook_digest": book.digest, "model": embedder.model_id,
                   "warnings": warnings, "config": dataclasses.asdict(config)} | result.as_dict()
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(f"Codebook {book.version} (digest {book.digest}), model {embedder.model_id}, {labelled}")
        for warning in warnings:
            typer.echo(f"Warning: {warning}")
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
