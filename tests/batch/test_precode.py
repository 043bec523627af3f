"""Batch pre-coding: a mixed folder gives the expected rows; a run killed with SIGKILL and resumed, and a run
on a local Ray cluster, give the identical table to an uninterrupted run."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from app.batch.cache import EmbeddingCache
from app.batch.inputs import discover
from app.batch.precode import JobMismatch, LocalEncoder, PrecodeOptions, Precoder
from app.cli import app
from app.config import Settings
from app.db.tables import Suggestion, Transcript
from app.engine.code_index import CodeIndexCache
from taxonomy import resolve_spec
from tests.conftest import REPO

runner = CliRunner()


def mixed_folder(root: Path) -> Path:
    folder = root / "in"
    (folder / "site2").mkdir(parents=True)
    (folder / "a.txt").write_text("Interviewer: How was it?\nSP3: She never judged me, not once. I felt safe with "
                                  "her.\nShe came with me to the housing office and helped me fill in the forms.\n")
    (folder / "b.json").write_text(json.dumps([{"speaker": "PW6", "text": "I tell them about my own depression "
                                                "and how I got through it. They open up a bit more."}]))
    (folder / "site2" / "c.json").write_text(json.dumps({
        "participant_id": "SP9", "role": "supported_peer", "site": "Setting_2",
        "text": "SP9: We set a goal that I would get out of the house twice a week. Yeah."}))
    (folder / "broken.txt").write_bytes(b"SP1: \x00\x01\x02 a binary file named .txt\n")
    (folder / "notes.md").write_text("not a transcript: listed as skipped")
    return folder


def test_mixed_folder_gives_expected_rows_in_every_format(tmp_path):
    folder = mixed_folder(tmp_path)
    out = {}
    for fmt in ("parquet", "csv", "jsonl"):
        result = runner.invoke(app, ["precode", str(folder), "--out", str(tmp_path / fmt), "--format", fmt,
                                     "--chunk-size", "2"])
        assert result.exit_code == 2, result.output  # 2: finished, but files were skipped or could not be read
        assert "2 file(s) skipped or not read" in result.output
        errors = json.loads((tmp_path / fmt / "errors.json").read_text())
        assert errors == [{"file": "broken.txt", "transcript_index": 2,
                           "reason": "this looks like a binary file, not text"},
                          {"file": "notes.md", "transcript_index": 3, "reason": "unsupported file type .md; "
                           "transcripts are .txt, .json, .docx, .vtt, .srt, .csv, .jsonl, .zip"}]
        out[fmt] = tmp_path / fmt / f"sentences.{fmt}"
    rows = pq.read_table(out["parquet"]).to_pylist()
    # "I felt safe with her." (a.txt, 2): five words that the bundled model's gate does not take for a technique
    # (EmbeddingGemma, the default encoder, suggests 17.5 Validating relationship at 0.90).
    assert [(r["transcript"], r["position"], r["status"]) for r in rows] == [
        ("a.txt", 0, "skipped"), ("a.txt", 1, "suggested"), ("a.txt", 2, "uncoded"), ("a.txt", 3, "suggested"),
        ("b.json", 0, "suggested"), ("b.json", 1, "uncoded"),
        ("site2/c.json", 0, "suggested"), ("site2/c.json", 1, "skipped")]
    goal = rows[6]
    # 1.1 Goal setting: first with the default encoder, second after 1.5 with the bundled MiniLM (as in
    # tests/api/test_transcripts.py).
    assert "1.1" in (goal["code_1"], goal["code_2"]) and goal["participant_id"] == "SP9" and goal["site"] == "Setting_2"
    assert goal["text"] == "We set a goal that I would get out of the house twice a week."
    assert rows[0]["skip_reason"] == "interviewer" and rows[0]["code_1"] is None
    assert all(r["score_1"] >= r["score_2"] >= r["score_5"] for r in rows if r["code_1"])
    # Code ids such as 10.10 are text: read them as text (CSV readers guess numbers otherwise).
    as_text = pacsv.ConvertOptions(column_types={f"code_{i}": pa.string() for i in range(1, 6)},
                                   strings_can_be_null=True)
    csv_rows = pacsv.read_csv(out["csv"], convert_options=as_text).to_pylist()
    jsonl_rows = [json.loads(line) for line in out["jsonl"].read_text().splitlines()]
    assert [(r["transcript"], r["code_1"], r["score_1"]) for r in csv_rows] == \
        [(r["transcript"], r["code_1"], r["score_1"]) for r in rows] == \
        [(r["transcript"], r["code_1"], r["score_1"]) for r in jsonl_rows]
    presence = {r["transcript"]: r for r in pq.read_table(tmp_path / "parquet" / "presence.parquet").to_pylist()}
    assert set(presence) == {"a.txt", "b.json", "site2/c.json"}
    strong = goal["code_1"]  # one sentence at PRESENCE_STRONG_SCORE (0.45) or more makes its code present
    assert goal["score_1"] >= 0.45 and presence["site2/c.json"][strong] == 1 and presence["b.json"][strong] == 0
    # Run again: everything is already done, nothing recomputed, the same table.
    again = runner.invoke(app, ["precode", str(folder), "--out", str(tmp_path / "parquet"), "--chunk-size", "2"])
    assert "3 of 3 chunks were already done" in again.output
    assert pq.read_table(out["parquet"]).equals(pq.read_table(tmp_path / "parquet" / "sentences.parquet"))
    # Different options on the same folder are refused rather than mixed.
    other = runner.invoke(app, ["precode", str(folder), "--out", str(tmp_path / "parquet"), "--top-k", "3"])
    assert other.exit_code == 1 and "other options" in other.output


def big_folder(root: Path, transcripts: int = 24, sentences: int = 20) -> Path:
    folder = root / "big"
    folder.mkdir()
    for t in range(transcripts):
        lines = [f"SP{t}: In week {i} of the programme, meeting {t} went over what {'really ' * (i % 4)}helped "
                 f"me cope when things were hard again." for i in range(sentences)]
        (folder / f"t{t:03d}.txt").write_text("\n".join(lines) + "\n")
    return folder


def precode_cli(folder: Path, out: Path, cache: Path, *extra: str, database: str = "") -> subprocess.Popen:
    env = dict(os.environ, HF_HUB_OFFLINE="1", AUTOCODER_CACHE_DIR=str(cache))
    if database:
        env["DATABASE_URL"] = database
    return subprocess.Popen([sys.executable, "-m", "app.cli", "precode", str(folder), "--out", str(out),
                             "--chunk-size", "1", "--threads", "1", *extra], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def seeded_cache(path: Path, embedder, index_cache_dir: Path) -> Path:
    """A cache folder that already holds the codebook's vectors, as a machine that ran the service before has:
    the runs below are about the sentences, and each would otherwise encode the whole codebook again first.
    Sentence vectors are not seeded: each run's own embedding cache starts empty."""
    settings = Settings(cache_dir=index_cache_dir)
    CodeIndexCache(embedder, index_cache_dir).get(resolve_spec(settings.default_codebook, settings.taxonomy_dir))
    folder = embedder.model_id.replace("/", "_").replace("@", "-")  # as CodeIndexCache names it
    shutil.copytree(index_cache_dir / folder, path / folder)
    return path


def test_killed_run_resumes_to_the_identical_table(tmp_path, database_url, embedder, index_cache_dir):
    folder = big_folder(tmp_path, transcripts=24, sentences=12)
    whole = precode_cli(folder, tmp_path / "whole", seeded_cache(tmp_path / "cache-whole", embedder,
                                                                 index_cache_dir))
    assert whole.wait(timeout=600) == 0, whole.stdout.read()

    # The interrupted run also stores transcripts for review: after resuming, each is there exactly once.
    killed = precode_cli(folder, tmp_path / "resumed", seeded_cache(tmp_path / "cache-resumed", embedder,
                                                                    index_cache_dir), "--into-db",
                         database=database_url)
    parts = tmp_path / "resumed" / ".precode" / "parts"
    deadline = time.monotonic() + 300
    while len(list(parts.glob("part-*.parquet"))) < 5:
        assert killed.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    done_before = len(list(parts.glob("part-*.parquet")))
    assert 5 <= done_before < 24 and not (tmp_path / "resumed" / "sentences.parquet").exists()

    resumed = precode_cli(folder, tmp_path / "resumed", tmp_path / "cache-resumed", "--into-db",
                          database=database_url)
    output = resumed.stdout.read()
    assert resumed.wait(timeout=600) == 0, output
    assert f"{done_before} of 24 chunks were already done" in output
    first = pq.read_table(tmp_path / "whole" / "sentences.parquet")
    second = pq.read_table(tmp_path / "resumed" / "sentences.parquet")
    assert first.num_rows == 24 * 12 and first.equals(second)
    assert pq.read_table(tmp_path / "whole" / "presence.parquet").equals(
        pq.read_table(tmp_path / "resumed" / "presence.parquet"))
    engine = create_engine(database_url)
    with engine.connect() as conn:
        keys = conn.execute(select(Transcript.source_key, Transcript.participant_id)).all()
        suggestions = conn.scalar(select(func.count()).select_from(Suggestion))
    engine.dispose()
    assert len(keys) == len({k for k, _ in keys}) == 24
    assert suggestions == 24 * 12 * 5  # every sentence coded, top 5 each


def test_ray_run_gives_the_identical_table(tmp_path, embedder, index_cache_dir):
    pytest.importorskip("ray")
    import torch

    from app.batch.ray_pool import RayPool

    folder = big_folder(tmp_path, transcripts=6, sentences=10)
    settings = Settings(cache_dir=index_cache_dir)
    index = CodeIndexCache(embedder, index_cache_dir).get(resolve_spec(settings.default_codebook,
                                                                        settings.taxonomy_dir))
    options = PrecodeOptions(chunk_size=2)
    sources = discover(folder)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same as each Ray actor, so both compute in the same order
    try:
        local = Precoder(settings, index, LocalEncoder(embedder), options).run(sources, tmp_path / "local")
    finally:
        torch.set_num_threads(threads)
    pool = RayPool(None, 2, embedder.same_encoder(), threads=1)
    try:
        cache = EmbeddingCache(tmp_path / "ray-cache", embedder.model_id, embedder.dimension)
        on_ray = Precoder(settings, index, LocalEncoder(embedder), options, cache).run(
            sources, tmp_path / "ray", ray_pool=pool)
    finally:
        pool.close()
    assert local.sentences_done == on_ray.sentences_done == 60
    assert pq.read_table(tmp_path / "local" / "sentences.parquet").equals(
        pq.read_table(tmp_path / "ray" / "sentences.parquet"))
    with pytest.raises(JobMismatch):
        Precoder(settings, index, LocalEncoder(embedder), PrecodeOptions(chunk_size=3)).run(sources, tmp_path / "ray")
