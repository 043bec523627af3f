"""Run a pre-coding job's encoding on Ray: a pool of actors, each holding one copy of the model.

The driver reads, segments and looks up the cache (cheap), sends each chunk's missing sentences to an idle
actor, and writes the chunk's part when its vectors come back, in whatever order chunks finish. Because a
chunk is always encoded whole by one actor, in the same batches as on one machine, the output is the same
table row for row. Workers must be able to import this project (the same environment; on a cluster, install
it on every node or ship it with a Ray runtime_env).
"""

from collections import deque
from concurrent.futures import ThreadPoolExecutor


class _EncoderActor:
    def __init__(self, encoder: dict, device: str, threads: int | None, backend: str, cache_dir: str):
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from app.engine.embed import Embedder

        # An ONNX actor runs on the one CPU Ray gave it unless told otherwise (torch keeps its own default).
        self.embedder = Embedder(**encoder, device=device, half=True, backend=backend, cache_dir=cache_dir,
                                 threads=threads or (None if backend.startswith("torch") else 1))

    def identity(self) -> tuple[str, int]:
        return self.embedder.model_id, self.embedder.dimension

    def encode(self, texts: list[str], batch_size: int):
        return self.embedder.encode_pipelined(texts, batch_size)


class RayPool:
    def __init__(self, address: str | None, workers: int, encoder: dict, *, device: str = "cpu",
                 threads: int | None = None, backend: str | None = None):
        import ray

        self.ray = ray
        self._started_here = not ray.is_initialized()
        if self._started_here:
            local = address is None
            ray.init(address=address, num_cpus=workers if local else None, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        gpu = device.startswith("cuda")
        actor = ray.remote(num_cpus=0 if gpu else 1, num_gpus=1 if gpu else 0)(_EncoderActor)
        # The driver's backend (as its own encoder resolved `auto`) and ONNX export folder, decided here: a
        # worker's environment, working folder and CPU may differ from the driver's, and vectors of two
        # backends must not meet in one table.
        from app.engine.embed import configured_backend, default_cache_dir

        backend, cache_dir = backend or configured_backend(), str(default_cache_dir().resolve())
        # `encoder`: the driver Embedder's same_encoder(), so every actor loads the driver's encoder and prompt.
        self.actors = [actor.remote(encoder, device, threads, backend, cache_dir) for _ in range(workers)]
        identities = set(ray.get([a.identity.remote() for a in self.actors]))
        if len(identities) != 1:
            raise RuntimeError(f"Ray workers loaded different models: {sorted(identities)}")
        self.model_id, self.dimension = identities.pop()

    def run(self, precoder, todo, finish, cancelled) -> None:
        if (self.model_id, self.dimension) != (precoder.encoder.model_id, precoder.encoder.dimension):
            raise RuntimeError(f"Ray workers use {self.model_id}, this job {precoder.encoder.model_id}")
        idle = deque(self.actors)
        in_flight: dict = {}  # object ref -> (prepared, actor)
        waiting = iter(todo)
        with ThreadPoolExecutor(max_workers=1) as reader:
            # Read ahead one chunk per actor and no more: memory stays flat however long the job.
            upcoming = deque()

            def refill() -> None:
                while len(upcoming) < len(self.actors) and (item := next(waiting, None)) is not None:
                    upcoming.append(reader.submit(precoder.prepare, *item))

            refill()
            while upcoming or in_flight:
                while idle and upcoming and not cancelled():
                    prepared = upcoming.popleft().result()
                    refill()
                    actor = idle.popleft()
                    ref = actor.encode.remote(prepared.missing, precoder.options.batch_size)
                    in_flight[ref] = (prepared, actor)
                if not in_flight:
                    break  # cancelled
                done, _ = self.ray.wait(list(in_flight), num_returns=1)
                prepared, actor = in_flight.pop(done[0])
                idle.append(actor)
                finish(prepared, self.ray.get(done[0]))
            for future in upcoming:
                future.cancel()

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        if self._started_here:
            self.ray.shutdown()
