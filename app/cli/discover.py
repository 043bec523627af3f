"""`autocoder discover`: find what the codebook misses (candidate new codes), show a run, and promote one."""

import json
from pathlib import Path

import typer

from app.cli.common import fail, open_session, require_admin, service_coder

app = typer.Typer(help="Inductive discovery: candidate new codes from sentences no code explains.",
                  no_args_is_help=True)


def _discoverer():
    from app.config import get_settings
    from app.services.discovery import Discoverer

    coder, sessions = service_coder()
    return Discoverer(get_settings(), coder, sessions), sessions


def _print(run, candidates, texts) -> None:
    summary = run.summary or {}
    typer.echo(f"run {run.id} ({run.status}) on {run.codebook_name}: {summary.get('transcripts', 0)} transcripts, "
               f"{summary.get('sentences', 0)} sentences, {run.units} unexplained "
               f"({summary.get('under_threshold', 0)} under the threshold, {summary.get('weak_fit', 0)} weakly "
               f"fitting their best code, {summary.get('all_rejected', 0)} with "
               f"every suggestion rejected, {summary.get('flagged', 0)} flagged), {len(candidates)} candidates, "
               f"{summary.get('noise', 0)} in none; "
               f"{summary.get('seconds', 0)} s")
    for c in candidates:
        roles = ", ".join(f"{r} {n}" for r, n in sorted(c.by_role.items()))
        near = ", ".join(f"{code} {s:.2f}" for code, s in c.nearest_codes)
        stable = "-" if c.stability is None else f"{c.stability:.2f}"
        typer.echo(f"\n#{c.number} [{c.status}] {c.name or c.label}  size {c.size} ({roles}), "
                   f"{len(c.by_transcript)} transcripts, stability {stable}; nearest codes {near}")
        for s in c.quotes[:4]:
            if s in texts:
                typer.echo(f"    \"{texts[s][2][:160]}\"")


def _write(out: Path, run, candidates, texts) -> None:
    from app.services import discovery_plot

    out.mkdir(parents=True, exist_ok=True)
    rows = [{"number": c.number, "status": c.status, "label": c.label, "name": c.name, "size": c.size,
             "by_role": c.by_role, "by_transcript": c.by_transcript, "terms": c.terms,
             "quotes": [{"segment_id": s, "transcript_id": texts[s][0], "role": texts[s][1], "text": texts[s][2]}
                        for s in c.quotes if s in texts],
             "nearest_codes": c.nearest_codes, "stability": c.stability} for c in candidates]
    (out / "candidates.json").write_text(json.dumps({"run": run.id, "codebook": run.codebook_name,
                                                     "filters": run.filters, "params": run.params,
                                                     "summary": run.summary, "candidates": rows}, indent=1))
    for fmt in ("png", "svg"):
        (out / f"map.{fmt}").write_bytes(discovery_plot.candidate_map(run, candidates, fmt))
    typer.echo(f"\nwrote {out / 'candidates.json'}, {out / 'map.png'} and {out / 'map.svg'}")


def _show(session, run_id: int, out: Path | None) -> None:
    from app.db import discovery as db

    run = db.get_run(session, run_id=run_id)
    if run is None:
        fail(ValueError(f"no discovery run {run_id}"))
    candidates = db.candidates(session, run_id=run_id)
    texts = db.segment_texts(session, ids=[s for c in candidates for s in c.quotes])
    _print(run, candidates, texts)
    if out is not None:
        _write(out, run, candidates, texts)


@app.command("run")
def discover_run(
    codebook: str = typer.Option(None, help="Transcripts whose current run used this codebook (default: the "
                                            "service's)."),
    role: str = typer.Option(None, help="Only sentences said by this role (peer_worker, supported_peer)."),
    site: str = typer.Option(None, help="Only transcripts from this site."),
    arm: str = typer.Option(None, help="Only transcripts from this trial arm."),
    transcript: list[int] = typer.Option(None, help="Only these transcript ids (repeat the option)."),
    kind: list[str] = typer.Option(None, help="Only these unexplained sentences (repeat): under_threshold, "
                                              "weak_fit, all_rejected, flagged (a memo and no code). Default: "
                                              "all."),
    min_cluster_size: int = typer.Option(None, help="Smallest candidate (default: chosen from the number of "
                                                    "sentences)."),
    resamples: int = typer.Option(10, help="Re-clusterings for the stability figure (0: skip)."),
    seed: int = typer.Option(0, help="Seed for sampling and resampling."),
    reduce: str = typer.Option("pca", help="pca, or umap (needs umap-learn; try with --min-cluster-size 5)."),
    out: Path = typer.Option(None, help="Folder for candidates.json and the 2-D map (map.png, map.svg)."),
) -> None:
    """Cluster the sentences no code explains well into candidate new codes, and store the run."""
    from app.errors import AutocoderError
    from app.services.discovery import DiscoveryFilters, check_params

    try:  # before the encoder loads: a wrong value is told at once
        params = check_params({"min_cluster_size": min_cluster_size, "resamples": resamples, "seed": seed,
                               "reduce": reduce})
    except AutocoderError as exc:
        fail(exc)
    discoverer, sessions = _discoverer()
    with sessions() as session:
        try:
            run = discoverer.request(session, None, DiscoveryFilters(
                codebook=codebook, role=role, site=site, arm=arm,
                transcripts=tuple(transcript) if transcript else None,
                **({"kinds": tuple(kind)} if kind else {})), params)
        except AutocoderError as exc:
            fail(exc)
        run_id = run.id
    run = discoverer.run(run_id)
    if run.status != "done":
        fail(ValueError(f"run {run_id} failed: {run.message}"))
    with sessions() as session:
        _show(session, run_id, out)


@app.command("show")
def discover_show(run_id: int, out: Path = typer.Option(None, help="Folder for candidates.json and the map.")) -> None:
    """A stored run's candidates (and, with --out, its files)."""
    with open_session() as session:
        _show(session, run_id, out)


@app.command("list")
def discover_list() -> None:
    """Discovery runs, newest first."""
    from app.db import discovery as db

    with open_session() as session:
        for run in db.list_runs(session):
            summary = run.summary or {}
            typer.echo(f"run {run.id:<4} {run.status:8} {run.codebook_name:28} {run.created_at:%Y-%m-%d %H:%M} "
                       f"{run.units} sentences, {summary.get('candidates', 0)} candidates {run.message or ''}")


@app.command("promote")
def discover_promote(
    run_id: int, number: int,
    by: str = typer.Option(..., help="The admin promoting it."),
    label: str = typer.Option(None, help="The code's name (default: the candidate's name)."),
    definition: str = typer.Option(None, help="The code's definition (default: the candidate's)."),
    codebook: str = typer.Option(None, help="Uploaded codebook to add it to (default: <base>-discovered, "
                                            "extending the run's codebook)."),
    code_id: str = typer.Option(None, help="The new code's id (default: D<run>.<candidate>)."),
    parent: str = typer.Option(None, help="Group code to put it under."),
    parent_label: str = typer.Option(None, help="The group's name, when the group is new."),
    recode: bool = typer.Option(False, help="Then re-suggest every transcript coded with the run's codebook."),
) -> None:
    """Make a candidate a code in a new version of a codebook."""
    from app.errors import AutocoderError

    discoverer, sessions = _discoverer()
    with sessions() as session:
        try:
            user = require_admin(session, by)
            row, version = discoverer.promote(session, user, run_id, number, codebook=codebook, code_id=code_id,
                                              label=label, definition=definition, parent=parent,
                                              parent_label=parent_label)
            typer.echo(f"code {row.promoted_code} '{row.name}' is in {row.promoted_codebook} version {version}")
            if recode:
                row = discoverer.request_recode(session, user, run_id, number)
                candidate_id = row.id
        except AutocoderError as exc:
            fail(exc)
    if recode:
        state = discoverer.recode(candidate_id)
        typer.echo(f"re-coded {state['done']} of {state['total']} transcripts with {state['codebook']}")


@app.command("dismiss")
def discover_dismiss(run_id: int, number: int, reason: str = typer.Option(..., help="Why (kept)."),
                     by: str = typer.Option(None, help="The adjudicator or admin dismissing it (recorded).")) -> None:
    """Dismiss a candidate, keeping the reason."""
    from app.db import accounts
    from app.errors import AutocoderError

    discoverer, sessions = _discoverer()
    with sessions() as session:
        try:
            user = None
            if by is not None:
                user = accounts.get_user(session, name=by)
                if user is None:
                    fail(ValueError(f"no user {by!r}: `autocoder users list` shows who there is"))
            discoverer.dismiss(session, user, run_id, number, reason)
        except AutocoderError as exc:
            fail(exc)
    typer.echo(f"candidate {number} of run {run_id} dismissed")
