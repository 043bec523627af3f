"""Time and memory of inductive discovery (app/engine/discovery.py) at the scale of a batch-pre-coded trial,
against a plain KMeans (k=20) on the same vectors, in one run.

Run by hand: `.venv/bin/python bench/discovery.py [--n 100000] [--pool-noise 0.03] [--resamples 10]
[--backend torch]`. It encodes a pool of real sentences once with the bundled model (the participants'
sentences of bench/data/interviews.jsonl and every exemplar and background sentence of the built-in codebooks,
with third-party text) and each leaf code's definition line (the code vectors). It then makes N units by
drawing pool sentences at random (seeded) and adding Gaussian noise (sd --pool-noise per dimension,
re-normalised; 0.03 keeps a copy's cosine to its source near 0.86): perturbed duplicates, so the texts repeat the
pool's. Then, each in a fresh process so peak RSS is its own (VmHWM; imports, the data and the call):
  1. discover(): seconds per stage (reduce, cluster with the assignment of the units outside the sample,
     describe, stability), candidates, noise, peak RSS and how much the call raised it;
  2. the baseline: KMeans(k=20, n_init=1) on the same N vectors, the same way.
It prints the ratio discover / baseline (wall) and the load average (other work on the machine slows both).
"""

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CHILD = """
import json, pickle, sys, time
import numpy as np
sys.path.insert(0, sys.argv[3])
from sklearn.cluster import KMeans
from app.engine.discovery import DiscoveryParams, discover

def peak():  # this process's own high-water RSS in GiB (ru_maxrss would carry the parent's over exec)
    line = next(x for x in open("/proc/self/status") if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 2**20

data = np.load(sys.argv[1] + ".npz")
meta = pickle.load(open(sys.argv[1] + ".pkl", "rb"))
vectors, texts = data["vectors"], meta["texts"]
before = peak()
start = time.perf_counter()
if sys.argv[2] == "kmeans":
    KMeans(n_clusters=20, n_init=1, random_state=0).fit(vectors)
    out = {}
else:
    result = discover(vectors, texts, meta["code_ids"], data["code_vectors"], DiscoveryParams(**meta["params"]))
    out = {"timings": result.timings, "candidates": len(result.candidates), "noise": len(result.noise),
           "clustered": result.clustered, "min_cluster_size": result.params.min_cluster_size,
           "sizes": [len(c.members) for c in result.candidates][:5],
           "stability": [c.stability for c in result.candidates][:5],
           "labels": [c.label for c in result.candidates][:5]}
out["wall"] = time.perf_counter() - start
out["peak_gib"], out["delta_gib"] = peak(), peak() - before
print("RESULT", json.dumps(out))
"""

def pool(backend: str) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """(pool texts, their vectors, code ids, code vectors)."""
    from app.engine.code_index import definition_text
    from app.engine.embed import Embedder
    from taxonomy import load_builtin, resolve

    said = [row["text"] for line in (REPO / "bench/data/interviews.jsonl").read_text().splitlines()
            if (row := json.loads(line))["role"] != "interviewer"]
    books = load_builtin(REPO / "taxonomy/codebooks")
    texts = said + [ex.text for b in books.values() for c in b.codes for ex in c.exemplars] + \
        [bg.text for b in books.values() for bg in b.background]
    texts = list(dict.fromkeys(t.strip() for t in texts if t.strip()))
    code_ids, definitions = [], []
    for name, book in books.items():
        own = {c.id for c in book.codes}
        for code in resolve(name, books.get).leaves:
            if code.id in own:
                code_ids.append(f"{name}:{code.id}")
                definitions.append(definition_text(code))
    embedder = Embedder(backend=backend)
    return texts, embedder.encode(texts), code_ids, embedder.encode(definitions)


def child(stem: Path, mode: str) -> dict:
    """The child's RESULT: its timings, its own peak RSS (VmHWM) and how much the call raised it, in GiB."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(stem), mode, str(REPO)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    output = proc.stdout.read()
    if proc.wait() != 0:
        sys.exit(f"{mode} failed:\n{output}")
    line = next(x for x in output.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--pool-noise", type=float, default=0.03)
    parser.add_argument("--resamples", type=int, default=10)
    parser.add_argument("--max-points", type=int, default=20_000)
    parser.add_argument("--backend", default="torch", help="encoder backend for the pool (not what is timed)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    start = time.perf_counter()
    texts, vectors, code_ids, code_vectors = pool(args.backend)
    encode_s = time.perf_counter() - start
    rng = np.random.default_rng(args.seed)
    source = rng.integers(0, len(texts), size=args.n)
    units = vectors[source] + rng.normal(scale=args.pool_noise, size=(args.n, vectors.shape[1])).astype(np.float32)
    units /= np.linalg.norm(units, axis=1, keepdims=True)
    copy_cos = float(np.median((units * vectors[source]).sum(axis=1)))
    print(f"pool: {len(texts)} real sentences and exemplars, {len(code_ids)} codes, encoded in {encode_s:.0f} s; "
          f"{args.n} units = pool vectors drawn at random + N(0, {args.pool_noise}) noise per dimension, "
          f"re-normalised (median cosine to the source {copy_cos:.2f}); texts repeat the pool's", flush=True)
    print(f"load average {os.getloadavg()}; peak RSS of this process so far "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB", flush=True)

    params = {"max_points": args.max_points, "resamples": args.resamples, "seed": args.seed}
    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(tmp) / "units"
        np.savez(str(stem) + ".npz", vectors=units.astype(np.float32), code_vectors=code_vectors)
        with open(str(stem) + ".pkl", "wb") as handle:
            pickle.dump({"texts": [texts[i] for i in source], "code_ids": code_ids, "params": params}, handle)
        found = child(stem, "discover")
        t = found["timings"]
        print(f"discover: {found['wall']:.1f} s  (reduce {t['reduce']:.1f}, cluster+assign {t['cluster']:.1f}, "
              f"describe {t['describe']:.1f}, stability x{args.resamples} {t['stability']:.1f})  "
              f"peak RSS {found['peak_gib']:.2f} GiB ({found['delta_gib']:+.2f} GiB during the call)", flush=True)
        print(f"  clustered directly {found['clustered']} of {args.n}, min_cluster_size {found['min_cluster_size']}; "
              f"{found['candidates']} candidates, {found['noise']} noise; largest {found['sizes']}, "
              f"stability {found['stability']}", flush=True)
        for label in found["labels"]:
            print(f"  - {label}")
        base = child(stem, "kmeans")
        print(f"baseline KMeans k=20 on all {args.n}: {base['wall']:.1f} s  peak RSS {base['peak_gib']:.2f} GiB "
              f"({base['delta_gib']:+.2f} GiB during the call)")
        print(f"ratio discover / KMeans wall: {found['wall'] / base['wall']:.2f}; without stability: "
              f"{(found['wall'] - t['stability']) / base['wall']:.2f}")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
