"""Time to code a 1,000-sentence transcript through the HTTP API, against only encoding its sentences.

Run by hand: `.venv/bin/python bench/suggest.py [--sentences 1000] [--repeats 3]`. It starts the real service
(uvicorn on 127.0.0.1, a fresh SQLite file) in this process so both timings share one loaded model, then
prints the medians and their ratio. The target is a ratio of at most 1.2: segmentation, similarity, storage
and the response together should cost less than a fifth of the encoding itself.
"""

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from app.config import Settings  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from app.main import create_app  # noqa: E402
from app.services import accounts  # noqa: E402
from taxonomy import load_codebook_file  # noqa: E402


def sentences(n: int, taxonomy_dir: Path) -> list[str]:
    """Participant-like sentences: every illustrative exemplar of the built-in codebooks, numbered to stay distinct."""
    pool = [ex.text for path in sorted(taxonomy_dir.glob("*.yaml")) for code in load_codebook_file(path).codes
            for ex in code.exemplars if ex.source == "illustrative"]
    return [f"{pool[i % len(pool)].rstrip('.')} (part {i // len(pool) + 1})." for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-suggest-"))
    settings = Settings(database_url=f"sqlite:///{work / 'bench.db'}", cache_dir=work / "cache",
                        max_body_bytes=50_000_000)
    embedder = Embedder(settings.encoder, batch_size=settings.embedding_batch_size, encoders_dir=settings.encoders_dir)
    said = sentences(args.sentences, settings.taxonomy_dir)
    # One sentence per turn, alternating peer worker and supported peer: every sentence is coded.
    transcript = "\n".join(f"{'PW1' if i % 2 else 'SP1'}: {s}" for i, s in enumerate(said))

    app = create_app(settings, embedder)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    with app.state.session_factory() as session:  # every request but /health needs a token
        token = accounts.add_user(session, "bench", "admin").token
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600,
                          headers={"Authorization": f"Bearer {token}"})

    counted: list[int] = []

    def through_api() -> float:
        start = time.perf_counter()
        response = client.post("/transcripts", json={"text": transcript, "participant_id": "bench"})
        elapsed = time.perf_counter() - start
        response.raise_for_status()
        counted.append(response.json()["segment_count"])  # the sentencizer may cut a line in two
        return elapsed

    def encode_only() -> float:
        start = time.perf_counter()
        embedder.encode(said)
        return time.perf_counter() - start

    encode_only(), through_api()  # warm-up: first-call costs are not what we measure
    api, enc = [], []
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits both alike
        enc.append(encode_only())
        api.append(through_api())
    server.should_exit = True
    thread.join()

    api_s, enc_s = statistics.median(api), statistics.median(enc)
    print(f"sentences: {args.sentences} lines, {counted[-1]} segments  repeats: {args.repeats}  "
          f"model: {embedder.model_id}")
    print(f"encode only        : {enc_s:7.3f} s  (runs: {', '.join(f'{t:.3f}' for t in enc)})")
    print(f"POST /transcripts  : {api_s:7.3f} s  (runs: {', '.join(f'{t:.3f}' for t in api)})")
    print(f"ratio API / encode : {api_s / enc_s:7.3f}  (target <= 1.20)")


if __name__ == "__main__":
    main()
