"""The ONNX Runtime backends: exported from the local weights once, cached by weights fingerprint and exporter
version, checked against torch, refused when their vectors are not the model's, and named on every run."""

import json
import shutil

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import create_engine, text

from app.config import Settings, get_settings
from app.engine import auto_backend, embed, onnx_backend, torch_encode
from app.engine.embed import Embedder, resolve_backend
from app.engine.onnx_backend import EXPORTER_VERSION, ExportError, Tolerance
from app.main import create_app
from tests.conftest import add_user

SENTENCES = [
    "My peer worker came with me to the GP and helped me explain what was going on.",
    "We agreed I would try the walking group on Thursday and text her afterwards.",
    "Yeah.",
    "It felt like she really got it, because she'd been there herself.",
    "I write down what I spent each day so I can see where the money goes.",
    "honestly i dont know what i would have done without her",
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def int8(onnx_cache) -> Embedder:
    return Embedder(backend="onnx-int8", cache_dir=onnx_cache)


@pytest.fixture(scope="session")
def fp32(onnx_cache, int8) -> Embedder:
    return Embedder(backend="onnx", cache_dir=onnx_cache)


def test_the_export_is_cached_by_weights_fingerprint_and_exporter_version(onnx_cache, int8, embedder, monkeypatch):
    folder = onnx_backend.export_folder(onnx_cache, embedder.model_id)
    assert folder.name == f"{embedder.model_id.replace('@', '-')}-e{EXPORTER_VERSION}"
    assert [p.name for p in (onnx_cache / "onnx").iterdir()] == [folder.name]
    made = {name: (folder / name).stat().st_mtime_ns for name in ("fp32.onnx", "int8.onnx", "probe.npz")}

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although a checked export is cached")

    monkeypatch.setattr(onnx_backend, "export", no_export)
    again = Embedder(backend="onnx-int8", cache_dir=onnx_cache)
    assert {name: (folder / name).stat().st_mtime_ns for name in made} == made
    assert again.model_id == int8.model_id
    np.testing.assert_array_equal(again.encode(SENTENCES), int8.encode(SENTENCES))


def test_vectors_match_torch_within_the_stated_tolerance(embedder, fp32, int8):
    reference = embedder.encode(SENTENCES)
    for model, tolerance in ((fp32, onnx_backend.TOLERANCE["fp32"]), (int8, onnx_backend.TOLERANCE["int8"])):
        vectors = model.encode(SENTENCES)
        assert vectors.shape == reference.shape and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        cosine = (vectors * reference).sum(axis=1)
        assert cosine.min() >= tolerance.min_cosine and cosine.mean() >= tolerance.mean_cosine
    np.testing.assert_allclose(fp32.encode(SENTENCES), reference, atol=1e-5)
    # Batches are length-sorted and padded (fp32), or int8 runs each sentence alone: either way a sentence gets
    # the same vector whatever else is encoded with it.
    for model in (fp32, int8):
        np.testing.assert_allclose(model.encode_pipelined(SENTENCES * 5, 4)[:6], model.encode(SENTENCES), atol=1e-5)
    long = "We talked about it again and again " * 60
    assert int8.truncated([long, "short"]) == embedder.truncated([long, "short"]) == [True, False]


def test_a_mismatched_cached_export_is_refused(onnx_cache, int8, tmp_path):
    source = onnx_backend.export_folder(onnx_cache, int8.model_id.split("+")[0])
    swapped = tmp_path / "swapped"
    shutil.copytree(source, swapped)
    shutil.copyfile(source / "int8.onnx", swapped / "fp32.onnx")  # int8 vectors where fp32 ones are promised
    with pytest.raises(ExportError, match="no longer gives the vectors it was checked with"):
        onnx_backend.load(int8.path, swapped, "fp32")
    (swapped / "int8.onnx").write_bytes((source / "int8.onnx").read_bytes()[:1000])  # cut short
    with pytest.raises(ExportError, match="cannot be loaded"):
        onnx_backend.load(int8.path, swapped, "int8")


def test_an_export_beyond_tolerance_is_refused_and_never_cached(onnx_cache, int8, tmp_path, monkeypatch):
    source = onnx_backend.export_folder(onnx_cache, int8.model_id.split("+")[0])
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    for name in ("fp32.onnx", "probe.npz"):  # the fp32 export is reused; only the int8 step runs again
        shutil.copyfile(source / name, fresh / name)
    monkeypatch.setitem(onnx_backend.TOLERANCE, "int8", Tolerance(0.9999, 0.9999))
    with pytest.raises(ExportError, match="refusing the int8 ONNX export"):
        onnx_backend.load(int8.path, fresh, "int8")
    assert not (fresh / "int8.json").exists()


def test_impossible_backends_are_refused_and_auto_runs_without_onnxruntime(embedder, monkeypatch, tmp_path):
    path = embedder.path
    assert resolve_backend("auto", "cuda", path) == "torch"
    assert resolve_backend("torch", "cpu", path) == "torch"
    with pytest.raises(ValueError, match="CPU only"):
        resolve_backend("onnx-int8", "cuda", path)
    with pytest.raises(ValueError, match="not one of"):
        resolve_backend("tensorrt", "cpu", path)
    real = embed.importlib.util.find_spec
    monkeypatch.setattr(embed.importlib.util, "find_spec", lambda name: None if name == "onnxruntime" else real(name))
    # no onnxruntime installed: auto still runs, timing what can run
    assert resolve_backend("auto", "cpu", path, folder=tmp_path) in ("torch", "torch-bf16")
    assert json.loads((tmp_path / auto_backend.CHOICE_FILE).read_text())["left_out"]["onnx"] == \
        "onnxruntime is not installed"
    with pytest.raises(ValueError, match="needs onnxruntime"):
        resolve_backend("onnx", "cpu", path)
    assert "+" not in embedder.model_id  # torch fp32 keeps the id existing databases have


@pytest.fixture
def checked_fp32(onnx_cache, fp32, tmp_path):
    """A fresh export folder holding the checked fp32 export (copied: exporting again costs half a minute)."""
    source = onnx_backend.export_folder(onnx_cache, fp32.model_id.split("+")[0])
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("fp32.onnx", "fp32.json", "probe.npz"):
        shutil.copyfile(source / name, folder / name)
    return folder


def test_auto_measures_torch_and_onnx_once_per_machine_and_remembers(embedder, checked_fp32, monkeypatch):
    choice = resolve_backend("auto", "cpu", embedder.path, folder=checked_fp32)
    saved = json.loads((checked_fp32 / auto_backend.CHOICE_FILE).read_text())
    assert saved["choice"] == choice == auto_backend.decide(saved["speeds"])
    assert saved["speeds"]["torch"] > 0 and saved["speeds"]["onnx"] > 0 and saved["sentences"] == 192
    # bf16 is timed where the CPU computes it natively, and otherwise said to be left out
    assert ("torch-bf16" in saved["speeds"]) == auto_backend.bf16_native() != ("torch-bf16" in saved["left_out"])
    assert saved["machine"] == auto_backend.machine() and "sentences/s" in saved["reason"]

    def no_measure(*args, **kwargs):
        raise AssertionError("measured again on the same machine")

    monkeypatch.setattr(auto_backend, "measure", no_measure)
    assert resolve_backend("auto", "cpu", embedder.path, folder=checked_fp32) == choice
    # Another CPU (or runtime version) is measured anew.
    other = "torch" if choice != "torch" else "onnx"
    (checked_fp32 / auto_backend.CHOICE_FILE).write_text(json.dumps(saved | {"machine": {"cpu": "elsewhere"}}))
    monkeypatch.setattr(auto_backend, "measure", lambda *args, **kwargs: {"choice": other, "reason": "test"})
    assert resolve_backend("auto", "cpu", embedder.path, folder=checked_fp32) == other


def test_auto_takes_the_fastest_only_when_clearly_faster_than_torch():
    assert auto_backend.decide({"torch": 100.0, "onnx": 104.0}) == "torch"
    assert auto_backend.decide({"torch": 100.0, "onnx": 106.0}) == "onnx"
    assert auto_backend.decide({"torch": 100.0, "onnx": 30.0}) == "torch"
    assert auto_backend.decide({"torch": 100.0, "torch-bf16": 240.0, "onnx": 90.0}) == "torch-bf16"
    assert auto_backend.decide({"torch": 100.0, "torch-bf16": 104.0, "onnx": 103.0}) == "torch"
    assert auto_backend.decide({"torch": 100.0}) == "torch"
    texts = auto_backend.timing_sentences()
    assert len(set(texts)) == len(texts) == 192


def test_auto_leaves_out_a_refused_onnx_export_and_a_bf16_model_too_far_from_torch(embedder, checked_fp32,
                                                                                   monkeypatch):
    monkeypatch.setitem(onnx_backend.TOLERANCE, "fp32", Tolerance(1.0001, 1.0001))  # nothing can meet them
    monkeypatch.setattr(torch_encode, "BF16_MIN_COSINE", 1.0001)
    assert resolve_backend("auto", "cpu", embedder.path, folder=checked_fp32) == "torch"
    saved = json.loads((checked_fp32 / auto_backend.CHOICE_FILE).read_text())
    assert list(saved["speeds"]) == ["torch"]
    assert saved["left_out"]["onnx"].startswith("the ONNX export was refused")
    assert "onnx not measured: the ONNX export was refused" in saved["reason"]
    if auto_backend.bf16_native():
        assert "cosine to the fp32 vectors" in saved["left_out"]["torch-bf16"]


@pytest.mark.parametrize("choice", ["onnx", "torch", "torch-bf16"])
def test_an_auto_embedder_runs_and_names_the_remembered_choice(onnx_cache, fp32, embedder, choice):
    folder = onnx_backend.export_folder(onnx_cache, embedder.model_id)
    (folder / auto_backend.CHOICE_FILE).write_text(json.dumps(
        {"choice": choice, "reason": "test", "speeds": {}, "machine": auto_backend.machine()}))
    auto = Embedder(backend="auto", cache_dir=onnx_cache)
    assert auto.backend == choice
    assert auto.model_id == {"onnx": fp32.model_id, "torch": embedder.model_id,
                             "torch-bf16": embedder.model_id + "+torch-bf16"}[choice]
    cosine = (auto.encode(SENTENCES) * embedder.encode(SENTENCES)).sum(axis=1)
    assert cosine.min() >= (torch_encode.BF16_MIN_COSINE if choice == "torch-bf16" else 0.99999)
    (folder / auto_backend.CHOICE_FILE).unlink()


def test_the_setting_is_read_by_settings_and_by_embedders_made_without_one(monkeypatch):
    monkeypatch.setenv("AUTOCODER_EMBEDDING_BACKEND", "onnx-int8")
    assert Settings().embedding_backend == "onnx-int8" and embed.configured_backend() == "onnx-int8"
    monkeypatch.delenv("AUTOCODER_EMBEDDING_BACKEND")
    assert Settings().embedding_backend == "auto" and embed.configured_backend() == "auto"
    monkeypatch.setenv("AUTOCODER_EMBEDDING_BACKEND", "tensorrt")
    with pytest.raises(ValidationError):
        Settings()


def test_the_backend_is_recorded_on_runs_and_other_vectors_are_re_encoded(settings, int8, embedder):
    body = {"text": "SP3: We set a goal that I would get out of the house twice a week.\n"
                    "SP3: She came with me to the housing office and helped me fill in the forms.\n",
            "participant_id": "SP3", "role": "supported_peer"}
    with TestClient(create_app(settings, int8)) as client:
        client.headers.update(add_user(client.app, "admin", "admin"))
        posted = client.post("/transcripts", json=body)
        assert posted.status_code == 201, posted.text
        assert posted.json()["run"]["model"] == int8.model_id
        assert int8.model_id.endswith(f"+onnx-int8.e{EXPORTER_VERSION}")
        headers = dict(client.headers)
    engine = create_engine(settings.database_url)
    stored = "select distinct embedding_model from segments where embedding is not null"
    with engine.connect() as conn:
        assert conn.execute(text(stored)).scalars().all() == [int8.model_id]
    # The same database served by torch: the int8 sentence vectors are not reused, they are encoded again.
    with TestClient(create_app(settings, embedder)) as client:
        again = client.post(f"/transcripts/{posted.json()['id']}/runs", json={}, headers=headers)
        assert again.status_code == 201, again.text
        assert again.json()["run"]["model"] == embedder.model_id
    with engine.connect() as conn:
        assert conn.execute(text(stored)).scalars().all() == [embedder.model_id]
        models = conn.execute(text("select model_id from suggestion_runs order by id")).scalars().all()
    engine.dispose()
    assert models == [int8.model_id, embedder.model_id]


def test_a_changed_backend_keeps_every_label_and_says_why_a_served_version_is_not_used(settings, embedder, int8,
                                                                                      caplog):
    """Labels confirmed under torch, a version trained and served there; then the service runs int8 (as a
    changed `auto` does): it warns that the served version is not used, and retraining encodes the labelled
    sentences again rather than leaving them out."""
    from tests.api.test_learning import interview, label, wait_for

    with TestClient(create_app(settings, embedder)) as client:
        client.headers.update(add_user(client.app, "admin", "admin"))
        coder = add_user(client.app, "cora", "coder")
        for n in range(6):
            label(client, coder, client.post("/transcripts", json={"text": interview(n)}).json())
        first = wait_for(client, client.post("/models/retrain", json={}).json()["version"])
        assert first["status"] == "ready" and first["serving"], first
        headers = dict(client.headers)
    with caplog.at_level("WARNING", logger="autocoder.learning"), TestClient(create_app(settings, int8)) as client:
        client.headers.update(headers)
        warned = [r.getMessage() for r in caplog.records if r.name == "autocoder.learning"]
        assert any(f"served classifier (version {first['version']})" in w and "AUTOCODER_EMBEDDING_BACKEND=torch"
                   in w for w in warned), warned
        probe = client.post("/suggest", json={"text": "We watched the football."}).json()
        assert probe["classifier_version"] is None and probe["model"] == int8.model_id
        second = wait_for(client, client.post("/models/retrain", json={"force": True}).json()["version"])
        assert second["status"] == "ready", second
        card = second["card"]
        assert card["embedding_model"] == int8.model_id
        assert card["data"]["segments"] == first["card"]["data"]["segments"] == 36
        assert card["data"]["left_out_other_embedding_model"] == 0
        assert client.post("/suggest", json={"text": "We watched the football."}).json()["classifier_version"] \
            == second["version"]


def test_precode_threads_reach_onnx_runtime(onnx_cache, int8, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import app

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "sp1.txt").write_text("SP1: She helped me plan my week.\nSP1: We set a goal of walking daily.\n")
    monkeypatch.setenv("AUTOCODER_EMBEDDING_BACKEND", "onnx-int8")
    monkeypatch.setenv("AUTOCODER_CACHE_DIR", str(onnx_cache))
    get_settings.cache_clear()  # the CLI reads the process-wide settings, which an earlier test may have read
    runner = CliRunner()
    try:
        for threads, expected in (["--threads", "1"], 1), ([], onnx_backend._cores()):
            result = runner.invoke(app, ["precode", str(folder), "--out", str(tmp_path / f"out{expected}"),
                                         *threads])
            assert result.exit_code == 0, result.output
            assert f"encoder: {int8.model_id} (onnx-int8 backend, {expected} CPU thread(s))" in result.output
    finally:
        get_settings.cache_clear()
