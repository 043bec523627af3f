"""The same sentence-transformers model run by ONNX Runtime on the CPU, fp32 or int8, exported here from the
local weights at first use (nothing is downloaded) and checked against torch before it is ever used.

An export lives in `<cache_dir>/onnx/<model id>-e<EXPORTER_VERSION>/`: the fp32 graph of the transformer
(`fp32.onnx`), its int8 quantisation (`int8.onnx`), the torch vectors of a fixed probe set (`probe.npz`) and,
per precision, a check file (`fp32.json`, `int8.json`) written only once the exported model's probe vectors
were within TOLERANCE of torch's. Mean pooling and normalisation are done here in numpy, as
sentence-transformers' Pooling and Normalize modules do. Each time an export is loaded its probe vectors are
compared again with the stored torch ones, so a damaged or swapped file is refused, not used.

fp32 is the transformer exported by torch.onnx with ONNX Runtime's transformer fusions: the same suggestions as
torch. int8 is ONNX Runtime's dynamic quantisation with per-channel weights (every MatMul and the embedding
Gather), each sentence run alone: of the int8 variants measured by bench/backends.py (docs/speed.md) it kept
the most quality at the best speed. How much it changes suggestions depends on the CPU (within 1 point of torch
on an AVX2 machine, up to 2.1 points lower on an AVX-512 one), so it runs only when asked for; `auto` chooses
between torch and fp32 (app/engine/auto_backend.py).
"""

import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Bumped whenever what an export contains changes (graph, quantisation recipe, probe set), so an old export is
# never reused; it is part of the model id of the vectors an ONNX backend makes.
EXPORTER_VERSION = 1
PRECISIONS = ("fp32", "int8")


@dataclass(frozen=True)
class Tolerance:
    """How close an export's unit vectors must be to torch's on the probe set (cosine similarity)."""

    min_cosine: float
    mean_cosine: float


# fp32 must be torch's vectors up to float rounding (measured: cosine 1.00000, largest component difference
# 3e-7); int8 moves vectors a little (per-channel dynamic: mean 0.991, min 0.973 on 1,000 sentences).
TOLERANCE = {"fp32": Tolerance(0.9999, 0.9999), "int8": Tolerance(0.95, 0.98)}

# Sentences the export is checked on: interview talk of many lengths, filler, and one past the 256-piece limit.
PROBE = [
    "Yeah.",
    "I don't know.",
    "She helped me plan my week.",
    "We set a goal of walking to the shop every morning.",
    "He told me he had been on the ward himself, and that made me trust him.",
    "I'd see her every week for about three months, usually at the cafe near the station.",
    "The doctor changed my medication and the side effects were awful for the first fortnight.",
    "When I felt low we would talk about what gets in the way of going out to the group.",
    "Honestly, money worries kept me awake most nights and I stopped answering the phone.",
    "She never judged me, she just listened, and she was honest about her own experience.",
    "We wrote down small steps, like making one phone call a day, and ticked them off together.",
    "I rewarded myself with a film on Friday if I had managed three walks that week.",
    "My family noticed I was sleeping better before I did.",
    "The housing office forms were impossible until someone sat down and went through them with me.",
    "What would you say to someone starting peer support now?",
    "It was kind of that, you know, like, just being there.",
    "Practise the breathing when you're calm, so it's there when you need it.",
    "I keep a diary of my mood and bring it to our meetings so we can look for patterns.",
    "Some weeks nothing changed at all, and that was fine too, she said progress isn't a straight line.",
    "PW6 and SP3 met at the community centre on Tuesdays.",
    "Confidence, routine, trust, hospital, appointment, reward, habit, stress, anxiety, friends.",
    "I'm not sure it helped but I liked having someone to talk to who had been through it.",
    "Mm, yeah, definitely, definitely.",
    " ".join(["She talked me through every step of the appointment and then we practised it again"] * 20) + ".",
]


def quick(text: str) -> bool:
    """Every probe sentence but the one past the 256-piece limit (encoding it costs 0.7 s of start-up; the export
    check covers it): what a cached export is re-checked on at each load, and what bf16 and `auto` use."""
    return len(text) < 1000


QUICK_PROBE = [t for t in PROBE if quick(t)]


class ExportError(RuntimeError):
    """An ONNX export that cannot be made, or whose vectors are not the model's: it is never used."""


def supported(model_path: Path) -> str | None:
    """Why this model cannot run on the ONNX backend, or None when it can: a transformer followed by mean
    pooling and (optionally) normalisation, with a fast tokenizer."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((model_path / "modules.json").read_text())]
        pooling_dir = next(m["path"] for m in json.loads((model_path / "modules.json").read_text())
                           if m["type"].endswith("Pooling"))
        pooling = json.loads((model_path / pooling_dir / "config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration):
        return "it has no modules.json with a Pooling module"
    if modules[:2] != ["Transformer", "Pooling"] or set(modules[2:]) - {"Normalize"}:
        return f"its modules are {modules}, not Transformer, Pooling[, Normalize]"
    others = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v and k != "pooling_mode_mean_tokens"]
    if not pooling.get("pooling_mode_mean_tokens") or others:
        return "its pooling is not mean pooling alone"
    if not (model_path / "tokenizer.json").exists():
        return "it has no tokenizer.json (fast tokenizer)"
    return None


def _max_length(model_path: Path) -> int:
    try:
        return int(json.loads((model_path / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError):
        return 512


def _tokenizer(model_path: Path, max_length: int | None, *, pad: bool = True):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    if max_length is not None:
        tokenizer.enable_truncation(max_length)
    if max_length is not None and pad:
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0,
                                 pad_token="[PAD]" if tokenizer.token_to_id("[PAD]") is not None else "<pad>")
    return tokenizer


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OnnxModel:
    """One exported precision of one model, ready to encode: tokenizer, ONNX Runtime session, numpy pooling.

    `one_at_a_time`: run each sentence alone, on `threads` threads each running ONNX Runtime on one core,
    instead of in padded batches run on all cores. int8 needs it: dynamic quantisation scales a MatMul's
    input by the largest value in the whole batch, padding included, so in batches a sentence's vector would
    depend on its neighbours (cosine down to 0.97 between two batchings). Alone, a sentence always gets the
    same vector, and on 2 cores it was as fast as batches of 64 (788 against 758 sentences/s)."""

    def __init__(self, model_path: Path, onnx_file: Path, *, threads: int | None = None,
                 one_at_a_time: bool = False):
        import onnxruntime as ort

        self.max_length = _max_length(model_path)
        self.threads = threads or _cores()
        self.one_at_a_time = one_at_a_time
        self._tokenizer = _tokenizer(model_path, self.max_length, pad=not one_at_a_time)
        self._counter = _tokenizer(model_path, None)  # its own object: tokenizers keep padding as state
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = 1 if one_at_a_time else self.threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own exception types (InvalidProtobuf, Fail, ...)
            raise ExportError(f"the ONNX export {onnx_file} cannot be loaded ({exc}); delete {onnx_file.parent} "
                              "to export it again") from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def token_counts(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(texts, add_special_tokens=True)]

    def _features(self, texts: list[str]) -> dict[str, np.ndarray]:
        return self._feed(self._tokenizer.encode_batch(texts))

    def _feed(self, encodings) -> dict[str, np.ndarray]:
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        return feed

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        hidden = self._session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32, copy=False)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit vectors; longest texts first so a batch pads to similar lengths, the next batch tokenized in a
        background thread while ONNX Runtime runs this one."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        if self.one_at_a_time:
            encodings = self._tokenizer.encode_batch(texts)  # truncated, not padded

            def one(i: int) -> None:
                out[i] = self._run(self._feed([encodings[i]]))[0]

            with ThreadPoolExecutor(max_workers=self.threads) as pool:
                list(pool.map(one, range(len(texts))))
            return out
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        with ThreadPoolExecutor(max_workers=1) as tokenizer:
            pending = tokenizer.submit(self._features, [texts[i] for i in batches[0]])
            for n, rows in enumerate(batches):
                feed = pending.result()
                if n + 1 < len(batches):
                    pending = tokenizer.submit(self._features, [texts[i] for i in batches[n + 1]])
                out[rows] = self._run(feed)
        return out


def export_folder(cache_dir: Path, model_id: str) -> Path:
    safe = model_id.replace("/", "_").replace("@", "-")
    return cache_dir / "onnx" / f"{safe}-e{EXPORTER_VERSION}"


def load(model_path: Path, folder: Path, precision: str, *, threads: int | None = None) -> OnnxModel:
    """The checked export of `precision` in `folder`, made first if missing. Raises ExportError when the
    export's vectors are not within TOLERANCE of torch's (now, or as stored at export time)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}")
    if not (folder / f"{precision}.json").exists():
        export(model_path, folder, precision)
    model = OnnxModel(model_path, folder / f"{precision}.onnx", threads=threads, one_at_a_time=precision == "int8")
    with np.load(folder / "probe.npz") as probe:
        texts, reference = [str(t) for t in probe["texts"]], probe["vectors"]
    keep = [i for i, t in enumerate(texts) if quick(t)]
    _check(model.encode([texts[i] for i in keep], 8), reference[keep], precision,
           f"the cached ONNX export {folder / (precision + '.onnx')} no longer gives the vectors it was checked "
           f"with (damaged or replaced?); delete {folder} to export it again")
    return model


def _check(vectors: np.ndarray, reference: np.ndarray, precision: str, what: str) -> dict:
    tolerance = TOLERANCE[precision]
    if vectors.shape != reference.shape:
        raise ExportError(f"{what}: vectors of shape {vectors.shape}, torch gives {reference.shape}")
    cosine = (vectors * reference).sum(axis=1)
    stats = {"min_cosine": float(cosine.min()), "mean_cosine": float(cosine.mean()),
             "max_abs_difference": float(np.abs(vectors - reference).max())}
    if not (stats["min_cosine"] >= tolerance.min_cosine and stats["mean_cosine"] >= tolerance.mean_cosine):
        raise ExportError(f"{what}: cosine to torch's vectors on the {len(cosine)} probe sentences is min "
                          f"{stats['min_cosine']:.4f}, mean {stats['mean_cosine']:.4f}; {precision} needs at least "
                          f"min {tolerance.min_cosine}, mean {tolerance.mean_cosine}")
    return stats


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export(model_path: Path, folder: Path, precision: str, *, quantize=None) -> dict:
    """Export the transformer (`fp32.onnx`: ONNX Runtime's transformer fusions applied; `int8.onnx`: quantised
    from the unfused graph), check the precision asked for against torch on the probe set and write
    `<precision>.json`. Files appear atomically, so a concurrent reader never sees half of one.
    `quantize(src, dst)` replaces the int8 recipe (tests, bench/backends.py)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = f".tmp{os.getpid()}"
    needs_fp32 = not (folder / "probe.npz").exists() or not (folder / "fp32.onnx").exists()
    if needs_fp32 or precision == "int8":
        graph = folder / f"graph{tmp}.onnx"
        try:
            reference = export_graph(model_path, graph)
            if needs_fp32:
                np.savez(folder / f"probe{tmp}.npz", texts=np.array(PROBE), vectors=reference)
                os.replace(folder / f"probe{tmp}.npz", folder / "probe.npz")
                fuse(model_path, graph, folder / f"fp32{tmp}.onnx")
                os.replace(folder / f"fp32{tmp}.onnx", folder / "fp32.onnx")
            if precision == "int8":
                (quantize or quantize_int8)(graph, folder / f"int8{tmp}.onnx")
                os.replace(folder / f"int8{tmp}.onnx", folder / "int8.onnx")
        finally:
            for leftover in folder.glob(f"*{tmp}*"):
                leftover.unlink()
    with np.load(folder / "probe.npz") as probe:
        reference = probe["vectors"]
    onnx_file = folder / f"{precision}.onnx"
    model = OnnxModel(model_path, onnx_file, one_at_a_time=precision == "int8")
    stats = _check(model.encode(PROBE, 8), reference, precision,
                   f"refusing the {precision} ONNX export of {model_path}")
    import onnxruntime

    record = {"precision": precision, "exporter_version": EXPORTER_VERSION, "onnxruntime": onnxruntime.__version__,
              "sha256": _sha256(onnx_file), "tolerance": vars(TOLERANCE[precision])} | stats
    (folder / f"{precision}.json{tmp}").write_text(json.dumps(record, indent=2))
    os.replace(folder / f"{precision}.json{tmp}", folder / f"{precision}.json")
    return record


def export_graph(model_path: Path, target: Path) -> np.ndarray:
    """torch.onnx.export of the model's transformer (last hidden state, dynamic batch and length); returns
    torch's own normalised vectors of the probe set, to check every export against."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    reference = model.encode(PROBE, batch_size=8, normalize_embeddings=True, convert_to_numpy=True,
                             show_progress_bar=False).astype(np.float32)
    transformer = model[0].auto_model.eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]

    class LastHidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state

    sample = model.tokenizer(PROBE[:3], padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    import warnings

    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python control flow it froze (shape checks)
        torch.onnx.export(LastHidden(), tuple(sample[n] for n in names), str(target), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
    return reference


def fuse(model_path: Path, source: Path, target: Path) -> None:
    """ONNX Runtime's transformer optimiser on a BERT-type model (fused LayerNorm, GELU and bias adds: 1.3x
    on 2 cores, identical suggestions); other model types are copied unchanged."""
    try:
        model_type = json.loads((model_path / "config.json").read_text()).get("model_type")
    except (OSError, ValueError):
        model_type = None
    if model_type != "bert":
        shutil.copyfile(source, target)
        return
    import logging

    from onnxruntime.transformers.optimizer import optimize_model

    logging.getLogger("onnxruntime.transformers").setLevel(logging.WARNING)
    optimize_model(str(source), model_type="bert", num_heads=0, hidden_size=0, opt_level=1).save_model_to_file(
        str(target))


def quantize_int8(source: Path, target: Path) -> None:
    """The int8 recipe: dynamic quantisation, int8 weights per output channel, activations quantised at run
    time (every MatMul and the embedding Gather)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
