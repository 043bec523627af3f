"""What the `auto` encoder backend runs on a CPU: torch or ONNX Runtime fp32, whichever encodes faster on this
machine, measured once and remembered.

Both give the same vectors (the fp32 export is checked at cosine >= 0.9999 to torch's), so the choice is about
speed only, and speed depends on the CPU: on an AMD EPYC with AVX2, ONNX fp32 ran at 1.14-1.18x torch; on an
Intel Xeon with AVX-512, torch (oneDNN) ran at 1.1-1.2x ONNX fp32 (docs/speed.md). No fixed default is right
for both. int8 is never auto's choice: how far it moves suggestions depends on the CPU's int8 kernels (within
1 point of torch on the AVX2 machine, 1.7-2.1 points lower on the AVX-512 one), and a sentence a coder must
reject costs more than the seconds it saves.

The choice is written to `auto.json` in the model's ONNX export folder with the machine it was measured on
and the speeds; a process that finds it for the same machine uses it without measuring. A file lock makes
concurrent starts (Ray actors, several workers) measure once and agree, since the choice names the vectors'
model id and two ids must not meet in one job.
"""

import json
import logging
import os
import platform
import time
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

CHOICE_FILE = "auto.json"
# ONNX must be this much faster to be chosen: torch's vectors keep the model id every database already has,
# and the first-use measurement on a busy machine is noisy.
MARGIN = 1.05
ROUNDS = 3


def machine() -> dict:
    """What the measured speeds depend on: the CPU, the cores this process may use, the two runtimes."""
    from importlib.metadata import version  # not the imports: torch costs a second of start-up

    from app.engine.onnx_backend import _cores

    return {"cpu": _cpu_name(), "arch": platform.machine(), "cores": _cores(),
            "onnxruntime": version("onnxruntime"), "torch": version("torch")}


def choose(model_path: Path, folder: Path, threads: int | None = None) -> str:
    """"torch" or "onnx" for this model on this machine: the remembered choice, else measured now."""
    folder.mkdir(parents=True, exist_ok=True)
    here = machine()
    with _locked(folder / "auto.lock"):
        saved = read_choice(folder)
        if saved is not None and saved.get("machine") == here:
            return saved["choice"]
        record = measure(model_path, folder, threads) | {"machine": here}
        tmp = folder / f"{CHOICE_FILE}.tmp{os.getpid()}"
        tmp.write_text(json.dumps(record, indent=2))
        os.replace(tmp, folder / CHOICE_FILE)
    log.info("embedding backend auto: %s on this machine (%s)", record["choice"], record["reason"])
    return record["choice"]


def read_choice(folder: Path) -> dict | None:
    try:
        saved = json.loads((folder / CHOICE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and saved.get("choice") in ("torch", "onnx") else None


def decide(speeds: dict[str, float]) -> str:
    return "onnx" if speeds["onnx"] >= MARGIN * speeds["torch"] else "torch"


def measure(model_path: Path, folder: Path, threads: int | None) -> dict:
    """Sentences/s of torch and ONNX fp32 on the same sentences, in the Embedder's batches, best of ROUNDS
    interleaved runs each (so a burst of other work hurts both alike)."""
    from app.engine import onnx_backend

    try:
        onnx_model = onnx_backend.load(model_path, folder, "fp32", threads=threads)
    except onnx_backend.ExportError as exc:
        return {"choice": "torch", "reason": f"the ONNX export was refused: {exc}", "speeds": {}}
    from sentence_transformers import SentenceTransformer

    if threads:
        import torch

        torch.set_num_threads(threads)
    torch_model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    texts = timing_sentences()
    runs = {
        "torch": lambda: torch_model.encode(texts, batch_size=64, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False),
        "onnx": lambda: onnx_model.encode(texts, 64),
    }
    for run in runs.values():  # warm-up: first calls allocate and plan
        run()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(ROUNDS):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    speeds = {name: round(len(texts) / seconds, 1) for name, seconds in best.items()}
    choice = decide(speeds)
    reason = (f"{speeds['onnx']:.0f} sentences/s with ONNX Runtime fp32, {speeds['torch']:.0f} with torch, "
              f"on {len(texts)} sentences; onnx is chosen at {MARGIN}x torch or faster")
    return {"choice": choice, "reason": reason, "speeds": speeds, "sentences": len(texts)}


def timing_sentences() -> list[str]:
    """192 distinct sentences of interview talk, 3-40 words: ordered pairs of the export's probe sentences."""
    from app.engine.onnx_backend import PROBE

    short = [p for p in PROBE if len(p) < 1000]
    n = len(short)
    return [f"{short[i % n]} {short[(i % n + 1 + i // n) % n]}" for i in range(192)]


@contextmanager
def _locked(path: Path):
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock; the choice file still appears atomically
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"

