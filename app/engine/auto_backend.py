"""What the `auto` encoder backend runs on a CPU: torch, torch-bf16 or ONNX Runtime fp32, whichever encodes
fastest on this machine, measured once and remembered.

All three give torch's suggestions (the fp32 export is checked at cosine >= 0.9999 to torch's vectors, bf16 at
0.999; measured, bf16 changed the top code of 0.2-0.5% of sentences), so the choice is about speed only, and
speed depends on the CPU: on an AMD EPYC with AVX2, ONNX fp32 ran at 1.14-1.18x torch; on an Intel Xeon with
AVX-512 BF16, torch (oneDNN) ran at 1.1-1.2x ONNX fp32 and torch-bf16 at 2.4-2.5x torch (docs/speed.md).
bf16 is timed only where the CPU computes it natively. No fixed default is right for every CPU.
int8 is never auto's choice: how far it moves suggestions depends on the CPU's int8 kernels (within
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
CHOICES = ("torch", "torch-bf16", "onnx")
# Another backend must be this much faster than torch to be chosen: torch's vectors keep the model id every
# database already has, and the first-use measurement on a busy machine is noisy.
MARGIN = 1.05
ROUNDS = 3


def machine() -> dict:
    """What the measured speeds depend on: the CPU, the cores this process may use, the two runtimes."""
    from importlib.metadata import PackageNotFoundError, version  # not the imports: torch costs a second

    from app.engine.onnx_backend import _cores

    def installed(package: str) -> str | None:
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    return {"cpu": _cpu_name(), "arch": platform.machine(), "cores": _cores(),
            "onnxruntime": installed("onnxruntime"), "torch": installed("torch")}


def choose(model_path: Path, folder: Path, threads: int | None = None, *, no_onnx: str | None = None) -> str:
    """The backend `auto` runs for this model on this machine: the remembered choice, else measured now.
    `no_onnx`: why the ONNX backend cannot be measured (not installed, or it cannot run this model)."""
    folder.mkdir(parents=True, exist_ok=True)
    here = machine()
    with _locked(folder / "auto.lock"):
        saved = read_choice(folder)
        if saved is not None and saved.get("machine") == here:
            return saved["choice"]
        record = measure(model_path, folder, threads, no_onnx=no_onnx) | {"machine": here}
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
    return saved if isinstance(saved, dict) and saved.get("choice") in CHOICES else None


def decide(speeds: dict[str, float]) -> str:
    """The fastest backend measured, if it is torch or at least MARGIN times torch's speed; else torch."""
    fastest = max(speeds, key=speeds.get)
    return fastest if speeds[fastest] >= MARGIN * speeds["torch"] else "torch"


def bf16_native() -> bool:
    """Whether this CPU computes bfloat16 products natively (AVX-512 BF16, AMX): elsewhere torch emulates them,
    slower than fp32, so they are not worth timing."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def measure(model_path: Path, folder: Path, threads: int | None, *, no_onnx: str | None = None) -> dict:
    """Sentences/s of each candidate on the same sentences, in the Embedder's batches, best of ROUNDS
    interleaved runs each (so a burst of other work hurts all alike). A candidate whose vectors fail their
    check against torch's is left out, with the reason."""
    import torch
    from sentence_transformers import SentenceTransformer

    from app.engine import onnx_backend
    from app.engine.torch_encode import check_bf16, st_encode

    if threads:
        torch.set_num_threads(threads)
    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    texts = timing_sentences()

    def run_torch(bf16: bool):
        return lambda: st_encode(model, texts, 64, bf16=bf16)

    runs, left_out = {"torch": run_torch(False)}, {}
    if not bf16_native():
        left_out["torch-bf16"] = "this CPU has no native bfloat16 arithmetic"
    else:
        try:
            check_bf16(model)
            runs["torch-bf16"] = run_torch(True)
        except ValueError as exc:
            left_out["torch-bf16"] = str(exc)
    if no_onnx:
        left_out["onnx"] = no_onnx
    else:
        try:
            onnx_model = onnx_backend.load(model_path, folder, "fp32", threads=threads)
            runs["onnx"] = lambda: onnx_model.encode(texts, 64)
        except onnx_backend.ExportError as exc:
            left_out["onnx"] = f"the ONNX export was refused: {exc}"
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
    reason = (", ".join(f"{name} {speed:.0f}" for name, speed in speeds.items())
              + f" sentences/s on {len(texts)} sentences; a backend other than torch is chosen at {MARGIN}x "
              "torch or faster" + "".join(f"; {name} not measured: {why}" for name, why in left_out.items()))
    return {"choice": choice, "reason": reason, "speeds": speeds, "sentences": len(texts), "left_out": left_out}


def timing_sentences() -> list[str]:
    """192 distinct sentences of interview talk, 3-40 words: ordered pairs of the export's probe sentences."""
    from app.engine.onnx_backend import QUICK_PROBE as short

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

