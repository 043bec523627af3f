"""End-to-end speed and memory of `autocoder precode` with each encoder backend against plain
SentenceTransformer.encode, in one run.

Run by hand: `.venv/bin/python bench/precode.py [--sentences 12000] [--device cpu|cuda] [--backends ...]
[--model DIR] [--batch-size 64]`. It writes a synthetic corpus (transcripts of participant sentences, 6-40
words, all distinct, so the embedding cache gives no free hits), then in fresh processes, one after the other:
  1. plain: SentenceTransformer(model).encode(all sentences) at its default batch size (only encode is timed;
     fp16 on a GPU, as precode runs there);
  2. for each backend (AUTOCODER_EMBEDDING_BACKEND): `autocoder precode` on a 10-sentence corpus with an empty
     cache folder: the first run on a machine (loading, the ONNX export and its check, encoding the codebook,
     and for auto, timing its candidates); the line names the encoder that ran;
  3. the same 10 sentences again: start-up, the time to the first sentences once the export and the codebook
     vectors are cached, as every later run finds them;
  4. the whole corpus: the whole command (start-up, reading, segmenting, encoding, scoring against 98 codes,
     writing Parquet), export and codebook cached, every sentence encoded (an empty sentence cache).
It prints sentences/s, the ratio precode / plain encode (target >= 2 on a CPU with the default backend), and
each process's peak RSS (target < 2 GiB), with the load average (other work on the machine slows everything).
On a GPU only torch runs (the ONNX backends are CPU-only); bench/gpu.md says what to run there.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_TEXT = ("she helped me plan my week and we talked about what gets in the way when I feel low about going out "
         "to the group the doctor my family walking every morning after work the housing office forms money "
         "worries sleep medication side effects confidence goal steps small changes support her own experience "
         "hospital feeling safe trust listened without judging together next time practice reward progress "
         "notice habit routine coping stress anxiety friends phone call appointment honest changed")
WORDS = _TEXT.split()

PLAIN = """
import json, sys, time, os
os.environ["HF_HUB_OFFLINE"] = "1"
from sentence_transformers import SentenceTransformer
from app.engine.encoders import resolve
sentences = json.load(open(sys.argv[1]))
encoder = resolve(sys.argv[2], fallback=False)  # a registry name (its prompt too) or a folder
model = SentenceTransformer(str(encoder.path), device=sys.argv[3], local_files_only=True)
if encoder.spec is not None:
    model.max_seq_length = min(model.max_seq_length or encoder.spec.max_tokens, encoder.spec.max_tokens)
if sys.argv[3].startswith("cuda") and (encoder.spec is None or encoder.spec.name != "embeddinggemma"):
    model.half()  # EmbeddingGemma's activations overflow fp16 (its card: use fp32 or bf16)
sentences = [encoder.prompt + s for s in sentences]
model.encode(sentences[:256])  # warm-up, not timed
start = time.perf_counter()
model.encode(sentences)
print(time.perf_counter() - start)
"""


def corpus(folder: Path, sentences: int, per_transcript: int = 200, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    written: list[str] = []
    seen: set[str] = set()
    t = 0
    while len(written) < sentences:
        lines = []
        for _ in range(min(per_transcript, sentences - len(written))):
            while True:
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 40))).capitalize() + "."
                if text not in seen:
                    break
            seen.add(text)
            written.append(text)
            lines.append(f"SP{t}: {text}")
        (folder / f"t{t:05d}.txt").write_text("\n".join(lines) + "\n")
        t += 1
    return written


def run(cmd: list[str], env: dict, log: Path) -> tuple[float, float, str]:
    """Wall seconds, this child's own peak RSS in GiB (from wait4), and its output."""
    start = time.perf_counter()
    with log.open("w") as handle:
        child = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    output = log.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd[:5])} failed:\n{output}")
    return wall, usage.ru_maxrss / 2**20, output


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=12_000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backends", default="",
                        help="comma-separated (default: auto,torch,torch-bf16,onnx,onnx-int8 on a CPU, torch on a GPU)")
    parser.add_argument("--model", default="", help="encoder name (embeddinggemma, mpnet, minilm) or local folder "
                                                     "(default: minilm)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()] or \
        (["auto", "torch", "torch-bf16", "onnx", "onnx-int8"] if args.device == "cpu" else ["torch"])
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sentences = corpus(root / "corpus", args.sentences)
        corpus(root / "small", 10, seed=8)
        (root / "sentences.json").write_text(__import__("json").dumps(sentences))
        model = args.model or "minilm"
        print(f"{len(sentences)} sentences in {len(list((root / 'corpus').iterdir()))} transcripts; "
              f"device {args.device}; batch size {args.batch_size}; load average {os.getloadavg()}", flush=True)

        wall, rss_plain, out = run([sys.executable, "-c", PLAIN, str(root / "sentences.json"), model, args.device],
                                   env, root / "plain.log")
        plain = float(out.strip().splitlines()[-1])
        print(f"plain torch encode:          {plain:8.1f} s  {len(sentences) / plain:8.0f} sentences/s  "
              f"(peak RSS {rss_plain:.2f} GiB)", flush=True)

        cli = [sys.executable, "-m", "app.cli", "precode", "--device", args.device,
               "--batch-size", str(args.batch_size), "--model", model]
        for backend in backends:
            cache = root / f"cache-{backend}"
            env_backend = dict(env, AUTOCODER_CACHE_DIR=str(cache), AUTOCODER_EMBEDDING_BACKEND=backend)
            first, _, said = run(cli + [str(root / "small"), "--out", str(root / f"first-{backend}")], env_backend,
                                 root / f"first-{backend}.log")
            encoder = next((line for line in said.splitlines() if line.startswith("encoder: ")), "encoder: ?")
            shutil.rmtree(cache / "embeddings")
            start, _, _ = run(cli + [str(root / "small"), "--out", str(root / f"start-{backend}")], env_backend,
                              root / f"start-{backend}.log")
            shutil.rmtree(cache / "embeddings")
            wall, rss, _ = run(cli + [str(root / "corpus"), "--out", str(root / f"out-{backend}")], env_backend,
                               root / f"precode-{backend}.log")
            print(f"precode {backend:10}          {wall:8.1f} s  {len(sentences) / wall:8.0f} sentences/s  "
                  f"(peak RSS {rss:.2f} GiB)  ratio to plain encode: {plain / wall:.2f}  | start-up "
                  f"{start:.1f} s, first run on a machine {first:.1f} s  | {encoder}", flush=True)
        print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
