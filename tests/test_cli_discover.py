"""`autocoder discover` on a database with three transcripts imported with the CLI (coded with plain bcttv1):
a run prints its candidates and writes candidates.json and the map; list, show, dismiss and promote work on
the stored run; wrong users, runs and codebooks are refused with exit status 1 and a message."""

import json

import pytest
from typer.testing import CliRunner

from app.cli import app
from tests.web.discovery_data import RELATIONAL, TRANSCRIPTS, text

runner = CliRunner()


@pytest.fixture
def database(tmp_path, monkeypatch, index_cache_dir):
    """A fresh SQLite database for the commands, the test session's codebook-vector cache, three imports."""
    from app.config import get_settings

    for name, value in [("AUTOCODER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}"),
                        ("AUTOCODER_CACHE_DIR", str(index_cache_dir)),
                        ("AUTOCODER_MODELS_DIR", str(tmp_path / "models"))]:
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    files = []
    for n in range(TRANSCRIPTS):
        files.append(tmp_path / f"interview{n}.txt")
        files[-1].write_text(text(n))
    imported = runner.invoke(app, ["import", *map(str, files), "--codebook", "bcttv1"])
    assert imported.exit_code == 0, imported.output
    yield tmp_path
    get_settings.cache_clear()


def ok(args: list[str]) -> str:
    """What the command printed (stdout: the model's loading bars go to stderr)."""
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    return result.output


def test_discover_run_list_show_dismiss_and_promote(database):
    out = database / "discovery"
    printed = ok(["discover", "run", "--codebook", "bcttv1", "--resamples", "2", "--out", str(out)])
    assert printed.startswith("run 1 (done) on bcttv1: 3 transcripts")
    found = json.loads((out / "candidates.json").read_text())
    assert found["run"] == 1 and found["codebook"] == "bcttv1" and found["summary"]["transcripts"] == 3
    candidates = found["candidates"]
    assert len(candidates) >= 2
    for c in candidates:  # each printed with its size, stability and nearest codes, then its quotes
        assert f"#{c['number']} [open] {c['label']}  size {c['size']} (" in printed
        assert c["quotes"] and f'    "{c["quotes"][0]["text"]}"' in printed
        assert c["stability"] is not None and len(c["nearest_codes"]) == 3
    assert (out / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (out / "map.svg").read_bytes()[:1000]
    assert f"wrote {out / 'candidates.json'}" in printed

    listed = ok(["discover", "list"])
    assert listed.startswith("run 1") and "done" in listed and f"{len(candidates)} candidates" in listed
    shown = ok(["discover", "show", "1"])
    assert shown.splitlines()[1:] == printed.splitlines()[1:-2]  # the same candidates (the last lines: files)
    assert "no discovery run 9" in refused(["discover", "show", "9"])

    # The relational candidate (most relational quotes) is promoted; another is dismissed.
    second = max(candidates, key=lambda c: sum(q["text"] in RELATIONAL for q in c["quotes"]))["number"]
    first = next(c["number"] for c in candidates if c["number"] != second)
    assert "say why" in refused(["discover", "dismiss", "1", str(first), "--reason", " "])
    assert "no candidate 99" in refused(["discover", "dismiss", "1", "99", "--reason", "x"])
    assert ok(["discover", "dismiss", "1", str(first), "--reason", "small talk"]).strip() == \
        f"candidate {first} of run 1 dismissed"
    assert f"#{first} [dismissed]" in ok(["discover", "show", "1"])

    ok(["users", "add", "ana", "--role", "admin"])
    ok(["users", "add", "cleo", "--role", "coder"])
    promote = ["discover", "promote", "1", str(second), "--label", "Been there",
               "--definition", "The peer worker has been through it too, so the person feels understood."]
    assert "cleo is a coder" in refused([*promote, "--by", "cleo"])
    assert "cleo is a coder" in refused(["discover", "dismiss", "1", str(second), "--reason", "x", "--by", "cleo"])
    assert "no user 'nobody'" in refused(["discover", "dismiss", "1", str(second), "--reason", "x", "--by", "nobody"])
    assert "no user 'nobody'" in refused([*promote, "--by", "nobody"])
    assert f"candidate {first} is dismissed" in refused(["discover", "promote", "1", str(first), "--by", "ana",
                                                          "--label", "x", "--definition", "y"])
    done = ok([*promote, "--by", "ana"])
    assert done.strip() == f"code D1.{second} 'Been there' is in bcttv1-discovered version 1"
    again = ok(["discover", "show", "1"])
    assert f"#{second} [promoted] Been there" in again
    qdc = database / "discovered.qdc"  # the new version is stored: it exports, extending bcttv1, with the code
    ok(["codebook", "export-qdc", "bcttv1-discovered", str(qdc)])
    assert f'name="D1.{second} Been there"' in qdc.read_text() and 'name="1.1 Goal setting' in qdc.read_text()


def test_an_unknown_codebook_lists_the_known_ones(database):
    out = refused(["discover", "run", "--codebook", "no-such-book"])
    assert "no-such-book" in out and "known codebooks: " in out and "bcttv1" in out
    assert "unknown role 'boss'" in refused(["discover", "run", "--codebook", "bcttv1", "--role", "boss"])
    assert ok(["discover", "list"]) == ""  # the refused runs were never stored
    # Filters no transcript passes: a run with nothing to cluster, said so, not an error.
    empty = ok(["discover", "run", "--codebook", "bcttv1", "--site", "Nowhere", "--out", str(database / "empty")])
    assert empty.startswith("run 1 (done) on bcttv1: 0 transcripts, 0 sentences, 0 unexplained")
    assert (database / "empty" / "map.png").read_bytes()[:4] == b"\x89PNG"


def test_clustering_values_out_of_range_are_refused_before_anything_loads():
    """The same check as the API's (DiscoveryParams), told at once: exit status 1, which value, its range."""
    assert "error: resamples must be a whole number from 0 to 50" in refused(["discover", "run", "--resamples", "51"])
    assert "error: min_cluster_size must be a whole number from 2 to 5000" in refused(
        ["discover", "run", "--min-cluster-size", "1"])
    assert "error: reduce must be one of pca, umap" in refused(["discover", "run", "--reduce", "tsne"])
