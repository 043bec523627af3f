"""Speed and suggestion quality of each encoder backend and int8 recipe, against torch, in one run.

Run by hand: `.venv/bin/python bench/backends.py [--sentences 2000]` (needs ../shared for the counselling set).
Every variant is made here from the same local weights (app/engine/onnx_backend.py's exporter; the int8 ones
with ONNX Runtime's quantiser), then:
  - speed: sentences/s encoding N synthetic interview sentences (6-40 words, bench/precode.py's corpus),
    after a warm-up, on every core this process may use; torch-bf16 (the model's products in bfloat16 by
    torch.autocast) is measured beside them: fast only where the CPU computes bfloat16 natively;
  - quality: zero-shot similarity (the service's scoring) on the public counselling set (773 utterances,
    its own codebook) and the interview set's development half (participant sentences): top-1, hit@3 and
    macro F1 as `autocoder evaluate` reports them, each as the change from torch in points, and the share of
    sentences whose top code is not torch's; the same on the interview set's test half, held out: reported,
    never used to choose.
The rule the issue set for `auto`: the fastest variant within 1 point of torch on all three figures on the
counselling set and the interview development half. Run on two CPUs, int8 met it on one (AMD, AVX2) and not on
the other (Intel, AVX-512 VNNI: -1.7 top-1 and -2.1 macro F1 on the development half), and ONNX fp32 was faster
than torch on the first and slower on the second; so `auto` times torch, ONNX fp32 and (where the CPU computes
bfloat16 natively) torch-bf16 on the user's own machine (app/engine/auto_backend.py), and int8 is opt-in.
docs/speed.md has both tables.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from app.config import Settings  # noqa: E402
from app.engine import onnx_backend  # noqa: E402
from app.engine.code_index import CodeIndexCache  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from taxonomy import resolve_spec  # noqa: E402
from training.evaluate import EvalConfig, EvaluationSet  # noqa: E402
from training.labelled import load_labelled  # noqa: E402
from training.tables import markdown_table  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
COUNSELLING = REPO.parent / "shared" / "eval" / "pa-counseling" / "utterances.jsonl"
INTERVIEWS = REPO / "bench" / "data" / "interviews.jsonl"
# The interview set's test half: reported beside the two sets `auto`'s rule is judged on, never used to choose.
HELD_OUT = "interview test (held out)"


class Variant:
    """An ONNX file run like the Embedder runs it (encode and model_id are all the evaluation needs)."""

    def __init__(self, name: str, model_path: Path, onnx_file: Path, one_at_a_time: bool, batch_size: int = 64):
        self.model = onnx_backend.OnnxModel(model_path, onnx_file, one_at_a_time=one_at_a_time)
        self.model_id, self.dimension, self.batch_size = f"bench-{name}", self.model.dimension, batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, self.batch_size)


def recipes() -> dict[str, Callable[[Path, Path], None]]:
    """int8 recipes: name -> quantise(fp32 file, int8 file)."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    def dynamic(per_channel: bool, only_matmul: bool = False, keep_last: bool = False):
        def run(source: Path, target: Path) -> None:
            graph = onnx.load(str(source)).graph
            last = max(int(n.name.split("layer.")[1].split("/")[0]) for n in graph.node if "layer." in n.name)
            exclude = [n.name for n in graph.node if f"layer.{last}/" in n.name] if keep_last else []
            quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=per_channel,
                             op_types_to_quantize=["MatMul"] if only_matmul else None, nodes_to_exclude=exclude)
        return run

    def static(source: Path, target: Path) -> None:
        from onnxruntime.quantization import CalibrationDataReader
        from tokenizers import Tokenizer

        from app.engine.encoders import resolve

        tokenizer = Tokenizer.from_file(str(resolve("minilm").path / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(256)
        texts = onnx_backend.PROBE + synthetic(200, seed=11)  # never the evaluation sets' sentences

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.feeds = iter([{"input_ids": np.array([e.ids]), "attention_mask": np.array([e.attention_mask]),
                                    "token_type_ids": np.array([e.type_ids])} for e in tokenizer.encode_batch(texts)])

            def get_next(self):
                return next(self.feeds, None)

        quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])

    return {"dynamic, per-tensor": dynamic(False), "dynamic, per-channel": dynamic(True),
            "dynamic, per-channel, embeddings fp32": dynamic(True, only_matmul=True),
            "dynamic, per-channel, embeddings + last layer fp32": dynamic(True, only_matmul=True, keep_last=True),
            "static (calibrated QDQ), per-channel": static}


def synthetic(n: int, seed: int = 7) -> list[str]:
    sys.path.insert(0, str(REPO / "bench"))
    from precode import WORDS

    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 40))).capitalize() + "." for _ in range(n)]


def speed(encoder, texts: list[str], repeats: int = 2) -> float:
    """Sentences/s, the best of `repeats` runs (other work on a shared machine only ever slows a run down)."""
    encoder.encode(texts[:128])  # warm-up: first runs allocate
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        encoder.encode(texts)
        best = max(best, len(texts) / (time.perf_counter() - start))
    return best


def quality(encoder, sets: dict) -> dict[str, tuple]:
    """set name -> (report, top code of every sentence)."""
    out = {}
    for name, (book, items, config) in sets.items():
        data = EvaluationSet(items, CodeIndexCache(encoder, None).get(book), encoder, config)
        out[name] = (data.report(data.similarity), data.similarity.argmax(axis=1))
    return out


def evaluation_sets(settings: Settings) -> dict:
    config = EvalConfig(top_k=settings.top_k, threshold=settings.threshold, evidence_k=settings.evidence_k,
                        scoring=settings.scoring())
    sets = {}
    if COUNSELLING.exists():
        book = resolve_spec(str(REPO / "bench" / "data" / "pa-counseling.yaml"), settings.taxonomy_dir)
        sets["counselling"] = (book, load_labelled(COUNSELLING, book, codes_field="strategies",
                                                   group_field="dialog"), config)
    else:
        print(f"no {COUNSELLING}: the counselling set is left out", file=sys.stderr)
    book = resolve_spec(settings.default_codebook, settings.taxonomy_dir)
    for split, name in (("dev", "interview dev"), ("test", HELD_OUT)):
        sets[name] = (book, load_labelled(INTERVIEWS, book, group_field="transcript", turn_field="turn",
                                          where={"split": {split}, "role": {"peer_worker", "supported_peer"}}),
                      config)
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1000, help="synthetic sentences timed per variant")
    parser.add_argument("--only", default="", help="comma-separated variant names to run (default: all)")
    args = parser.parse_args()
    settings = Settings()
    sets = evaluation_sets(settings)
    texts = synthetic(args.sentences)
    torch_embedder = Embedder(settings.encoder, backend="torch")
    print(f"load average at start: {os.getloadavg()}; {len(os.sched_getaffinity(0))} cores", flush=True)
    base_speed = speed(torch_embedder, texts)
    base = quality(torch_embedder, sets)
    rows = [["torch fp32 (batches of 64)", f"{base_speed:.0f}", "1.00"]
            + [f"{base[s][0].top1:.3f} / {base[s][0].hit_at[3]:.3f} / {base[s][0].macro_f1:.3f}" for s in sets]
            + ["-" for _ in sets]]
    print(" | ".join(rows[-1]), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model_path = torch_embedder.path
        graph = folder / "graph.onnx"
        onnx_backend.export_graph(model_path, graph)
        onnx_backend.fuse(model_path, graph, folder / "fused.onnx")
        variants: list[tuple[str, Path, bool]] = [
            ("onnx fp32, torch's graph as exported (batches of 64)", graph, False),
            ("onnx fp32, transformer fusions (batches of 64) = onnx", folder / "fused.onnx", False)]
        for i, (name, quantise) in enumerate(recipes().items()):
            target = folder / f"int8-{i}.onnx"
            quantise(graph, target)
            if name == "dynamic, per-tensor":
                variants.append((f"int8 {name} (batches of 64)", target, False))
            if name == "dynamic, per-channel":
                variants.append((f"int8 {name} (batches of 64)", target, False))
            shipped = " = onnx-int8" if name == "dynamic, per-channel" else ""  # onnx_backend.quantize_int8
            variants.append((f"int8 {name} (one sentence a run){shipped}", target, True))
        wanted = {w.strip() for w in args.only.split(",") if w.strip()}
        bf16 = "torch bf16 autocast (batches of 64) = torch-bf16"
        for name, path, alone in [(bf16, None, False)] + variants:
            if wanted and not any(w in name for w in wanted):
                continue
            variant = Embedder(settings.encoder, backend="torch-bf16") if path is None \
                else Variant(name, model_path, path, alone)
            rate = speed(variant, texts)
            got = quality(variant, sets)
            cells = [name, f"{rate:.0f}", f"{rate / base_speed:.2f}"]
            for s in sets:
                r, b = got[s][0], base[s][0]
                cells.append(f"{100 * (r.top1 - b.top1):+.1f} / {100 * (r.hit_at[3] - b.hit_at[3]):+.1f} / "
                             f"{100 * (r.macro_f1 - b.macro_f1):+.1f}")
            cells += [f"{np.mean(got[s][1] != base[s][1]):.1%}" for s in sets]
            rows.append(cells)
            print(" | ".join(cells), flush=True)
    head = ["variant", "sentences/s (best of 2)", "x torch"] \
        + [f"{s}: top-1 / hit@3 / macro F1 (points vs torch)" for s in sets] + [f"{s}: top code changed" for s in sets]
    print(f"\nload average at end: {os.getloadavg()}; {args.sentences} synthetic sentences timed per variant; "
          f"quality rows are changes from torch's figures (first row) in percentage points\n")
    print(markdown_table(head, rows))


if __name__ == "__main__":
    main()
