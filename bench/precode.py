"""End-to-end speed and memory of `autocoder precode` against plain SentenceTransformer.encode, same run.

Run by hand: `.venv/bin/python bench/precode.py [--sentences 200000] [--device cpu|cuda] [--model DIR]`.
It writes a synthetic corpus (transcripts of participant sentences, 6-40 words, all distinct, so the
embedding cache gives no free hits), then in fresh processes, one after the other:
  1. plain: SentenceTransformer(model).encode(all sentences) at its default batch size (only encode is timed);
  2. precode: the whole `autocoder precode` command (start-up, reading, segmenting, encoding, scoring against
     98 codes, writing Parquet), with an empty embedding cache;
  3. precode again on the same corpus into a new folder: every vector comes from the cache.
It prints sentences/s, the ratio precode / plain (target >= 0.9 on CPU), and each process's peak RSS.
"""

import argparse
import os
import random
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
sentences = json.load(open(sys.argv[1]))
model = SentenceTransformer(sys.argv[2], device=sys.argv[3], local_files_only=True)
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
    parser.add_argument("--sentences", type=int, default=200_000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="", help="local model folder (default: the bundled one)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sentences = corpus(root / "corpus", args.sentences)
        (root / "sentences.json").write_text(__import__("json").dumps(sentences))
        model = args.model
        if not model:
            from app.engine.embed import bundled_model_path

            model = str(bundled_model_path())
        print(f"{len(sentences)} sentences in {len(list((root / 'corpus').iterdir()))} transcripts; "
              f"device {args.device}", flush=True)

        wall, rss_plain, out = run([sys.executable, "-c", PLAIN, str(root / "sentences.json"), model, args.device],
                                   env, root / "plain.log")
        plain = float(out.strip().splitlines()[-1])
        print(f"plain encode:      {plain:8.1f} s  {len(sentences) / plain:8.0f} sentences/s  "
              f"(peak RSS {rss_plain:.2f} GiB)", flush=True)

        cli = [sys.executable, "-m", "app.cli", "precode", str(root / "corpus"), "--device", args.device,
               "--batch-size", str(args.batch_size)] + (["--model", args.model] if args.model else [])
        env_cache = dict(env, AUTOCODER_CACHE_DIR=str(root / "cache"))
        wall, rss, out = run(cli + ["--out", str(root / "out1")], env_cache, root / "precode1.log")
        print(f"precode (cold):    {wall:8.1f} s  {len(sentences) / wall:8.0f} sentences/s  "
              f"(peak RSS {rss:.2f} GiB)  ratio to plain encode: {plain / wall:.2f}", flush=True)
        wall2, rss2, _ = run(cli + ["--out", str(root / "out2")], env_cache, root / "precode2.log")
        print(f"precode (cached):  {wall2:8.1f} s  {len(sentences) / wall2:8.0f} sentences/s  "
              f"(peak RSS {rss2:.2f} GiB)  ratio to plain encode: {plain / wall2:.2f}", flush=True)


if __name__ == "__main__":
    main()
