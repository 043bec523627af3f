"""torch-bf16: the model's matrix products in bfloat16 on the CPU, checked against its own fp32 vectors at load,
named in the model id so its vectors never mix with fp32 ones."""

import numpy as np
import pytest

from app.engine import torch_encode
from app.engine.embed import Embedder, resolve_backend
from tests.engine.test_onnx_backend import SENTENCES


@pytest.fixture(scope="module")
def bf16() -> Embedder:
    return Embedder(backend="torch-bf16")


def test_bf16_vectors_stay_within_tolerance_of_fp32_and_are_named(bf16, embedder):
    vectors, reference = bf16.encode(SENTENCES), embedder.encode(SENTENCES)
    assert vectors.dtype == np.float32 and vectors.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * reference).sum(axis=1).min() >= torch_encode.BF16_MIN_COSINE
    assert bf16.model_id == embedder.model_id + "+torch-bf16" and bf16.backend == "torch-bf16"
    assert "torch-bf16 backend" in bf16.describe()
    # precode's path (longest first, tokenized ahead) gives the same vectors as encode()
    pipelined = bf16.encode_pipelined(SENTENCES * 3, 4)[:len(SENTENCES)]
    assert (pipelined * vectors).sum(axis=1).min() >= 0.9999


def test_bf16_is_cpu_only_and_refused_when_too_far_from_fp32(embedder, monkeypatch):
    with pytest.raises(ValueError, match="CPU only"):
        resolve_backend("torch-bf16", "cuda", embedder.path)
    monkeypatch.setattr(torch_encode, "BF16_MIN_COSINE", 1.0001)
    with pytest.raises(ValueError, match="cosine to the fp32 vectors of 23 probe sentences"):
        Embedder(backend="torch-bf16")
