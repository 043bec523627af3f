"""Use cases: the codebook catalogue and coding transcripts. They use the engine and the database."""
