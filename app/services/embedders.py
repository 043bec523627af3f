"""The Embedder the settings describe: which encoder, prompt, truncation, backend, device and folders."""

from app.config import Settings
from app.engine.embed import Embedder


def make_embedder(settings: Settings, **overrides) -> Embedder:
    """An Embedder from the settings; keyword arguments replace any of them (model, backend, batch_size, ...)."""
    options = dict(model=settings.encoder, device=settings.embedding_device, backend=settings.embedding_backend,
                   cache_dir=settings.cache_dir, prompt=settings.encoder_prompt,
                   dimension=settings.encoder_dimension, encoders_dir=settings.encoders_dir,
                   batch_size=settings.embedding_batch_size)
    return Embedder(**(options | overrides))
