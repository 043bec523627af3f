"""Batch pre-coding of whole datasets: inputs, the embedding cache, the resumable job, Ray."""
