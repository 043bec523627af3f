"""How a codebook is scored for a batch of sentences: similarity alone, or blended with a trained classifier
version and coders' confirmed sentences. Shared by the service and batch pre-coding."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.engine.code_index import CodeIndex
from app.engine.suggest import ConfirmedExamples
from training.classifier import CodeClassifier, served_scores


@dataclass(frozen=True)
class Scorer:
    """How a codebook is scored: similarity alone, or blended with a trained classifier version."""

    index: CodeIndex
    classifier_id: int | None = None
    model: CodeClassifier | None = None  # columns in index.codes order
    confirmed: ConfirmedExamples | None = None  # coders' confirmed sentences, evidence before any retrain

    @classmethod
    def blended(cls, index: CodeIndex, classifier_id: int, model: CodeClassifier,
                confirmed: ConfirmedExamples | None = None) -> "Scorer":
        return cls(index, classifier_id, model.for_codes([c.id for c in index.codes]), confirmed)

    def rescore(self, raw_vectors: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
        """The rescoring for sentences with these (uncontextualised) embeddings, or None."""
        if self.model is None:
            return None
        return lambda similarity: served_scores(self.model, raw_vectors, similarity)
