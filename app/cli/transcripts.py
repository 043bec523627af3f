"""`autocoder import` and `autocoder transcripts`: bring transcripts in, show, edit and delete them."""

from pathlib import Path

import typer

from app.cli.common import fail, open_session, require_admin, service_coder

app = typer.Typer(help="Stored transcripts: show, edit their metadata, delete one and everything made from it.",
                  no_args_is_help=True)


def _speaker_roles(pairs: list[str]) -> dict[str, str]:
    """--speaker-role 'R=interviewer' (repeatable) as a map."""
    roles = {}
    for pair in pairs:
        speaker, sep, role = pair.rpartition("=")
        if not sep or not speaker.strip() or not role.strip():
            raise typer.BadParameter(f"--speaker-role {pair!r}: write SPEAKER=ROLE, e.g. 'R=interviewer'")
        roles[speaker.strip()] = role.strip()
    return roles


@app.command("delete")
def transcripts_delete(transcript_id: int, by: str = typer.Option(..., help="The admin deleting it.")) -> None:
    """Delete a transcript, its segments, vectors, runs, suggestions, decisions and cached embeddings; an
    audit row (no text) stays."""
    from app.errors import AutocoderError
    from app.services.privacy import delete_transcript

    coder, sessions = service_coder()
    with sessions() as session:
        try:
            row = delete_transcript(session, coder, transcript_id, require_admin(session, by))
        except AutocoderError as exc:
            fail(exc)
        counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in row.removed.items())
        typer.echo(f"deleted transcript {transcript_id} ({row.participant_id or 'no participant id'}): {counts}")


def import_command(
    paths: list[Path] = typer.Argument(None, help="Files or folders (.txt .json .docx .vtt .srt .csv .jsonl .zip); "
                                                  "with --manifest, default: the manifest's files."),
    codebook: str = typer.Option(None, help="Codebook to suggest with (default: the service's)."),
    participant_id: str = typer.Option(None), site: str = typer.Option(None),
    trial_arm: str = typer.Option(None),
    role: str = typer.Option(None, help="The participant's role, for every file (a role or a label: PW, SP)."),
    speaker_role: list[str] = typer.Option([], help="SPEAKER=ROLE for every file, e.g. 'R=interviewer' "
                                                    "(repeat the option for more speakers)."),
    name_pattern: str = typer.Option(None, help="Metadata from file names, e.g. '{participant}_{role}.docx' "
                                                "(fields participant, role, site, arm; {*} matches anything)."),
    manifest: Path = typer.Option(None, help="A .csv/.jsonl with a 'file' column (relative to it) and "
                                             "participant, role, site, arm, title: each file's metadata."),
    code_interviewer: bool = typer.Option(False, help="Code interviewers' sentences too."),
) -> None:
    """Import transcripts (.txt .json .docx .vtt .srt .csv .jsonl, or .zip of them): all are stored, or none.
    Metadata: each file's own, over its manifest row or name, over the options given for every file."""
    from app.errors import AutocoderError
    from app.ingest.metadata import participant_role
    from app.ingest.readers import is_hidden
    from app.services.coding import SuggestOptions
    from app.services.imports import import_files, per_file
    from app.services.transcripts import warnings

    paths = list(paths or [])
    if manifest is not None and not manifest.is_file():
        fail(ValueError(f"no such manifest: {manifest}"))
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(ValueError(f"no such file or folder: {', '.join(missing)}"))
    coder, sessions = service_coder()
    metadata = {k: v for k, v in dict(participant_id=participant_id, site=site, trial_arm=trial_arm).items() if v}
    try:
        if role:
            metadata["role"] = participant_role(role, coder.settings.role_patterns)
        listed = (manifest.name, manifest.read_bytes()) if manifest is not None else None
        rules = per_file(coder.settings, name_pattern, listed)
    except (ValueError, AutocoderError) as exc:
        fail(ValueError(getattr(exc, "message", None) or str(exc)))
    if manifest is not None and not paths:
        paths = [manifest.parent / name for name in rules.manifest]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            fail(ValueError(f"the manifest names files that are not there: {', '.join(missing)}"))
    if not paths:
        fail(ValueError("name the files or folders to import, or a --manifest"))
    files = []  # (name, bytes): a folder's files are named by their path inside it
    for path in paths:
        if path.is_dir():
            files += [(p.relative_to(path).as_posix(), p.read_bytes()) for p in sorted(path.rglob("*"))
                      if p.is_file() and not is_hidden(p.relative_to(path).as_posix())]
        elif manifest is not None and path.resolve().is_relative_to(manifest.parent.resolve()):
            files.append((path.resolve().relative_to(manifest.parent.resolve()).as_posix(), path.read_bytes()))
        else:
            files.append((path.name, path.read_bytes()))
    with sessions() as session:
        try:
            result = import_files(session, None, coder, files, SuggestOptions(codebook), metadata, code_interviewer,
                                  per_file=rules, speaker_roles=_speaker_roles(speaker_role))
        except AutocoderError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            for problem in exc.details or []:
                typer.echo(f"  {problem}", err=True)
            raise typer.Exit(1) from None
        for transcript, run in result.stored:
            said = ", ".join(f"{k} {v}" for k, v in dict(participant=transcript.participant_id, role=transcript.role,
                                                         site=transcript.site, arm=transcript.trial_arm).items() if v)
            typer.echo(f"transcript {transcript.id}: {transcript.title} ({len(transcript.segments)} sentences, "
                       f"run {run.id}{'; ' + said if said else ''})")
            for warning in warnings(transcript):
                typer.echo(f"warning: transcript {transcript.id}: {warning}", err=True)
    for name in result.skipped:
        typer.echo(f"skipped {name}", err=True)


@app.command("show")
def transcripts_show(transcript_id: int) -> None:
    """A transcript's metadata, its speakers with their roles and sentence counts, warnings and edits."""
    from collections import Counter

    from app.db import store
    from app.errors import AutocoderError
    from app.services import transcripts as managed

    with open_session() as session:
        t = store.get_transcript(session, transcript_id=transcript_id)
        if t is None:
            fail(ValueError(f"no transcript with id {transcript_id}"))
        for name in ("title", "participant_id", "role", "site", "trial_arm", "source_format"):
            typer.echo(f"{name}: {getattr(t, name) or '-'}")
        typer.echo("speaker map: " + (", ".join(f"{k}={v}" for k, v in (t.speaker_roles or {}).items()) or "-"))
        typer.echo("speakers:")
        counts = Counter((s.speaker, s.role) for s in t.segments)
        coded = Counter((s.speaker, s.role) for s in t.segments if s.skip_reason is None)
        for (speaker, role), n in counts.items():
            typer.echo(f"  {speaker}: {role}, {n} sentences ({coded[speaker, role]} coded)")
        for warning in managed.warnings(t):
            typer.echo(f"warning: {warning}")
        try:
            rows = managed.edits(session, transcript_id)
        except AutocoderError as exc:
            fail(ValueError(exc.message))
        for row in rows:
            changes = "; ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in row.changes.items())
            typer.echo(f"edit {row.id} by {row.edited_by_name} at {row.created_at:%Y-%m-%d %H:%M}: {changes}")


@app.command("edit")
def transcripts_edit(
    transcript_id: int,
    by: str = typer.Option(..., help="The adjudicator or admin editing it (named in the audit row)."),
    title: str = typer.Option(None), participant_id: str = typer.Option(None),
    role: str = typer.Option(None, help="The participant's role (a role or a label: PW, SP); '' clears it."),
    site: str = typer.Option(None), trial_arm: str = typer.Option(None),
    speaker_role: list[str] = typer.Option([], help="SPEAKER=ROLE added to the speaker map, e.g. 'R=interviewer' "
                                                    "(repeatable); re-derives the sentences' roles."),
    clear_speaker_roles: bool = typer.Option(False, help="Start the speaker map afresh (before --speaker-role)."),
) -> None:
    """Edit a transcript's metadata (an empty value clears a field); every change is an audit row."""
    from app.db import accounts, store
    from app.errors import AutocoderError
    from app.ingest.metadata import participant_role
    from app.services import transcripts as managed

    coder, sessions = service_coder()
    changes = {k: v for k, v in dict(title=title, participant_id=participant_id, site=site,
                                     trial_arm=trial_arm).items() if v is not None}
    with sessions() as session:
        try:
            if role is not None:
                changes["role"] = participant_role(role, coder.settings.role_patterns) if role.strip() else None
            user = accounts.get_user(session, name=by)
            if user is None:
                fail(ValueError(f"no user {by!r}: `autocoder users list` shows who there is"))
            if speaker_role or clear_speaker_roles:
                t = store.get_transcript(session, transcript_id=transcript_id)
                current = {} if clear_speaker_roles or t is None else dict(t.speaker_roles or {})
                changes["speaker_roles"] = {**current, **_speaker_roles(speaker_role)}
            if not changes:
                fail(ValueError("nothing to change: give --site, --role, --speaker-role, ..."))
            result = managed.edit(session, coder.settings, user, transcript_id, changes)
        except AutocoderError as exc:
            fail(ValueError(exc.message))
        except ValueError as exc:
            fail(exc)
        if result.edit is None:
            typer.echo(f"transcript {transcript_id}: nothing changed")
            return
        for name, (old, new) in result.edit.changes.items():
            typer.echo(f"{name}: {old!r} -> {new!r}")
        for note in result.notes:
            typer.echo(f"note: {note}")
        for warning in managed.warnings(result.transcript):
            typer.echo(f"warning: {warning}")
