"""Which trained classifier serves a codebook right now, loaded once per version.

The database's newest serving change decides, and it is read on every suggestion request: promoting or
rolling back a version takes effect on the next request, in every process of the service, without a restart.
"""

import threading
from pathlib import Path

from sqlalchemy.orm import Session

from app.db import classifiers as db
from app.db.tables import Classifier
from training.classifier import CodeClassifier
from training.registry import load_model


class ServedModels:
    def __init__(self, models_dir: Path):
        self.models_dir = models_dir
        self._loaded: dict[int, CodeClassifier] = {}
        self._lock = threading.Lock()

    def current(self, session: Session, codebook_name: str) -> tuple[Classifier, CodeClassifier] | None:
        change = db.served(session, codebook_name=codebook_name)
        if change is None or change.classifier_id is None:
            return None
        row = db.get_classifier(session, classifier_id=change.classifier_id)
        return row, self.load(row)

    def load(self, row: Classifier) -> CodeClassifier:
        with self._lock:
            if row.id not in self._loaded:
                self._loaded[row.id] = load_model(self.models_dir / row.path)
            return self._loaded[row.id]
