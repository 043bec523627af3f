"""Sentence embeddings: a sentence-transformers model (one of the project's encoders, app/engine/encoders.py, or
a local folder), its task prompt prepended, normalized vectors (Matryoshka-truncated where asked), encoded in
batches, run by torch or (on the CPU) by ONNX Runtime in fp32 or int8 (app/engine/onnx_backend.py)."""

import hashlib
import importlib.util
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from app.engine import encoders
from app.engine.markers import without_markers
from app.engine.torch_encode import bf16_autocast, check_bf16, st_encode

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
log = logging.getLogger(__name__)


def configured_backend() -> str:
    """AUTOCODER_EMBEDDING_BACKEND (what Settings.embedding_backend reads), else the default: the backend used
    wherever an Embedder is made without one (the CLI's evaluate and precode, bench/)."""
    return os.environ.get("AUTOCODER_EMBEDDING_BACKEND", "").strip() or DEFAULT_BACKEND


def configured_encoder() -> str:
    """AUTOCODER_ENCODER (what Settings.encoder reads), else the default: the encoder used wherever an Embedder
    is made without one (bench/, tests). A registry name (app/engine/encoders.py) or a local folder."""
    return (os.environ.get("AUTOCODER_ENCODER", "").strip() or os.environ.get("AUTOCODER_EMBEDDING_MODEL", "").strip()
            or encoders.DEFAULT_ENCODER)


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
        no_onnx = ("onnxruntime is not installed" if importlib.util.find_spec("onnxruntime") is None
                   else _onnx_unsupported(model_path))
        from app.engine import auto_backend

        return auto_backend.choose(model_path, folder or _default_folder(model_path), threads, no_onnx=no_onnx)
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


def base_model_id(path: Path, name: str | None = None) -> str:
    """The id of torch's vectors of the weights in `path`: the name (the folder's, unless given: a registry
    encoder's official name, with its prompt and truncation) and a fingerprint of the files."""
    return f"{name or path.name}@{_weights_fingerprint(path)}"


def encoder_name(resolved: encoders.Resolved) -> str | None:
    """How a model id names a registry encoder: its official name, the prompt (':classification') and a
    Matryoshka truncation ('/256'); None for a user's own folder (named by the folder)."""
    if resolved.spec is None:
        return None
    return (resolved.spec.model_name + (f":{resolved.prompt_name}" if resolved.prompt_name else "")
            + (f"/{resolved.dimension}" if resolved.dimension else ""))


def backend_of(model_id: str) -> str:
    """The backend named in a model id made by Embedder (torch's ids carry none)."""
    suffix = model_id.rpartition("+")[2] if "+" in model_id else ""
    return re.sub(r"\.e\d+$", "", suffix) or "torch"


def _onnx_unsupported(model_path: Path) -> str | None:
    from app.engine.onnx_backend import supported

    return supported(model_path)


class Embedder:
    """Wraps one local sentence-transformers model. Nothing is ever downloaded.

    `model`: a registry encoder's name (embeddinggemma, mpnet, minilm or `fast`; app/engine/encoders.py) or a
    local folder; None: configured_encoder(). A registry encoder that is not installed falls back to `fast`,
    and `fallback` says why (None when the one asked for runs). `prompt` names one of the encoder's task prompts
    (None: its default); `dimension` truncates a Matryoshka encoder's vectors. `encoders_dir`: where installed
    encoders are (None: encoders.default_encoders_dir()).
    `backend`: one of BACKENDS (None: configured_backend()). The ONNX backends export the
    model once into `cache_dir`/onnx (None: default_cache_dir()) and check it against torch. `threads`: the CPU
    threads the model runs on, whichever backend (None: every core this process may use for ONNX Runtime,
    torch's own default for torch).
    `model_id` names the weights, the prompt and truncation and, for anything but torch, the backend (and the
    exporter version): vectors of different kinds are never mixed in a cache, a stored segment or a classifier."""

    def __init__(self, model: str | None = None, *, device: str = "cpu", batch_size: int = 64, half: bool = False,
                 backend: str | None = None, cache_dir: Path | None = None, threads: int | None = None,
                 prompt: str | None = None, dimension: int | None = None, encoders_dir: Path | None = None):
        # Refuse hub downloads even if the caller forgot: a name that is not a local folder fails fast.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

        resolved = encoders.resolve(configured_encoder() if model is None else model, encoders_dir=encoders_dir,
                                    prompt=prompt, dimension=dimension)
        path = resolved.path
        self.path = path
        self.encoder = resolved
        self._encoders_dir = Path(encoders_dir or encoders.default_encoders_dir()).resolve()
        self.fallback = resolved.fallback
        self._prompts = resolved.prompt_texts  # more than one: a prompt ensemble, one encoding each
        self._truncate = resolved.dimension
        self.batch_size = batch_size
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.model_id = base_model_id(path, encoder_name(resolved))  # torch fp32: the id stored everywhere
        from app.engine import onnx_backend

        folder = onnx_backend.export_folder(Path(cache_dir or default_cache_dir()), self.model_id)
        self.backend = resolve_backend(backend or configured_backend(), device, path, folder=folder,
                                       threads=threads)
        self._model = self._onnx = None
        self._bf16 = self.backend == "torch-bf16"
        if self.backend in _PRECISION:
            self._onnx = onnx_backend.load(path, folder, _PRECISION[self.backend], threads=threads)
            self.dimension = (self._truncate or self._onnx.dimension) * len(self._prompts)
            self.model_id += f"+{self.backend}.e{onnx_backend.EXPORTER_VERSION}"
            return
        from sentence_transformers import SentenceTransformer

        if threads and device == "cpu":
            import torch

            torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
        if resolved.spec is not None:  # longer inputs cost quadratic time and carry no more of one technique
            self._model.max_seq_length = min(self._model.max_seq_length or resolved.spec.max_tokens,
                                             resolved.spec.max_tokens)
        if half and device.startswith("cuda"):  # halves memory traffic on a GPU; CPUs gain nothing from it
            import torch

            dtype = resolved.spec.gpu_dtype if resolved.spec else "float16"
            self._model.to(getattr(torch, dtype))
        self.dimension = (self._truncate or self._model_dimension()) * len(self._prompts)
        if self._bf16:
            self.model_id += "+torch-bf16"
            check_bf16(self._model)

    @property
    def paraphrase_similarity(self) -> float | None:
        """The similarity from which this encoder's vectors mark a close paraphrase (None: not measured for a
        user's own folder model)."""
        return self.encoder.spec.paraphrase_similarity if self.encoder.spec else None

    @property
    def fit_floor(self) -> float | None:
        """Under this codebook-classifier probability a shown code fits its sentence weakly (discovery)."""
        return self.encoder.spec.fit_floor if self.encoder.spec else None

    @property
    def code_temperature(self) -> float | None:
        """How the rank scores of this encoder's codes turn into probabilities (app/engine/gate.py)."""
        return self.encoder.spec.code_temperature if self.encoder.spec else None

    def same_encoder(self) -> dict:
        """Keyword arguments that make another process's Embedder load this very encoder (Ray actors)."""
        spec = self.encoder.spec
        return {"model": spec.name if spec else str(self.path),
                "prompt": (self.encoder.prompt_name or "none") if spec and spec.prompts else None,
                "dimension": self.encoder.dimension, "encoders_dir": self._encoders_dir}

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
        texts = _prompted(max(self._prompts, key=len), _words(texts))  # the longest prompt leaves the least room
        if self._onnx is not None:
            return [n > self._onnx.max_length for n in self._onnx.token_counts(texts)]
        limit = self._model.max_seq_length
        ids = self._model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return [len(row) > limit for row in ids]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        words = _words(texts)
        return _joined([self._encode(_prompted(prompt, words)) for prompt in self._prompts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._onnx is not None:
            return self._cut(self._onnx.encode(texts, self.batch_size))
        return self._cut(st_encode(self._model, texts, self.batch_size, bf16=self._bf16))

    def _cut(self, vectors: np.ndarray) -> np.ndarray:
        """Matryoshka truncation: the first `dimension` values, unit length again."""
        if not self._truncate:
            return vectors
        vectors = np.ascontiguousarray(vectors[:, :self._truncate], dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def encode_pipelined(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Like encode(), for large batches: sentences go through the model longest first (so a batch pads to
        similar lengths), and the next batch is tokenized in a background thread while the model runs."""
        words = _words(texts)
        return _joined([self._pipelined(_prompted(prompt, words), batch_size) for prompt in self._prompts])

    def _pipelined(self, texts: list[str], batch_size: int | None) -> np.ndarray:
        if self._onnx is not None:
            return self._cut(self._onnx.encode(texts, batch_size or self.batch_size))
        import torch
        from sentence_transformers.util import batch_to_device

        size = batch_size or self.batch_size
        if not texts:
            return np.zeros((0, self.dimension // len(self._prompts)), dtype=np.float32)
        out = np.zeros((len(texts), self._model_dimension()), dtype=np.float32)  # cut after, as encode() does
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
                    with bf16_autocast(self._bf16):
                        vectors = model.forward(batch_to_device(features, model.device))["sentence_embedding"]
                    vectors = torch.nn.functional.normalize(vectors.float(), p=2, dim=1)
                out[rows] = vectors.cpu().numpy()
        return self._cut(out)

    def _model_dimension(self) -> int:
        """The torch model's own output size (sentence-transformers renamed the method in version 5)."""
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        return int(dimension())


def _words(texts: list[str]) -> list[str]:
    """Each text as the model reads it: without transcription markers ("[laughs]", "(pause)": the transcriber's
    notes, not the participant's words). Once per call, whatever the number of prompts."""
    return [without_markers(t) for t in texts]


def _prompted(prompt: str, words: list[str]) -> list[str]:
    """The encoder's task prompt in front of each text."""
    return [prompt + w for w in words]


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """A prompt ensemble's vectors: each prompt's unit vector side by side, scaled to unit length again, so the
    cosine of two joined vectors is the mean of the prompts' cosines (similarity, gate and codebook classifier
    all see the ensemble as one encoder; encoders.ENSEMBLE_JOIN). One prompt: its vectors unchanged."""
    if len(parts) == 1:
        return parts[0]
    return (np.hstack(parts) / np.sqrt(len(parts))).astype(np.float32)


def _weights_fingerprint(path: Path) -> str:
    """A short hash of the weight files' names and sizes, so a swapped model gets a new id."""
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        if file.name == encoders.INSTALL_MANIFEST:
            continue  # written at install, with its date: the same weights keep one id
        if file.is_file() and file.suffix in {".safetensors", ".bin", ".json", ".txt"}:
            digest.update(f"{file.relative_to(path)}:{file.stat().st_size}".encode())
    return digest.hexdigest()[:10]

