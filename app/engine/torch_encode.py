"""Encoding with a SentenceTransformer on torch, in fp32 or with its matrix products in bfloat16, and the check
that a model's bf16 vectors stay close to its fp32 ones. Used by the embedder (app/engine/embed.py) and by
the backend timing (app/engine/auto_backend.py), which the embedder runs: both import this, not each other."""

import contextlib

import numpy as np

# torch-bf16 is used only where a model's bf16 vectors keep at least this cosine to its fp32 ones.
BF16_MIN_COSINE = 0.999


def bf16_autocast(on: bool):
    """bfloat16 autocast on the CPU when `on` (matrix products in bf16, sums and norms in fp32)."""
    if not on:
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


def st_encode(model, texts: list[str], batch_size: int, *, bf16: bool = False) -> np.ndarray:
    """Unit-length float32 vectors from a SentenceTransformer, its products in bfloat16 when `bf16` (normalised
    again in fp32 here: bf16 outputs are unit length only to bf16's precision)."""
    with bf16_autocast(bf16):
        vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                               show_progress_bar=False)
    if not bf16:
        return vectors.astype(np.float32, copy=False)
    vectors = vectors.astype(np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def check_bf16(model) -> float:
    """The smallest cosine between bf16 and fp32 vectors of the export probe set; refuses (ValueError) a model
    whose bf16 vectors are not within BF16_MIN_COSINE of its own fp32 ones."""
    from app.engine.onnx_backend import QUICK_PROBE as texts

    reference, vectors = st_encode(model, texts, 8), st_encode(model, texts, 8, bf16=True)
    worst = float((vectors * reference).sum(axis=1).min())
    if worst < BF16_MIN_COSINE:
        raise ValueError(f"embedding backend torch-bf16: cosine to the fp32 vectors of {len(texts)} probe sentences "
                         f"is down to {worst:.4f} (at least {BF16_MIN_COSINE} needed); use torch")
    return worst
