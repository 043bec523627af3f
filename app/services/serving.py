"""Which trained classifier serves a codebook right now, loaded once per version.

The database's newest serving change decides, and it is read on every suggestion request: promoting or
rolling back a version takes effect on the next request, in every process of the service, without a restart.
"""

import logging
import threading
import zipfile
from pathlib import Path

from sqlalchemy.orm import Session

from app.db import classifiers as db
from app.db.tables import Classifier
from training.classifier import CodeClassifier
from training.registry import load_model

log = logging.getLogger(__name__)
# What a missing, truncated or foreign classifier file raises when read.
UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


class ServedModels:
    def __init__(self, models_dir: Path):
        self.models_dir = models_dir
        self._loaded: dict[int, CodeClassifier] = {}
        self._broken: set[int] = set()  # versions whose files could not be read (warned about once)
        self._lock = threading.Lock()

    def current(self, session: Session, codebook_name: str) -> tuple[Classifier, CodeClassifier] | None:
        """The served version and its model; None for similarity alone, also when the served version's files
        are gone or damaged (warned once per version): suggestions go on, and the model card says so."""
        change = db.served(session, codebook_name=codebook_name)
        if change is None or change.classifier_id is None:
            return None
        row = db.get_classifier(session, classifier_id=change.classifier_id)
        try:
            return row, self.load(row)
        except UNREADABLE as exc:
            with self._lock:
                first = row.id not in self._broken
                self._broken.add(row.id)
            if first:
                log.warning("served classifier version %s of %s cannot be read from %s (%s); suggesting with "
                            "similarity alone until it is retrained or rolled back", row.id, codebook_name,
                            self.models_dir / (row.path or ""), exc)
            return None

    def load(self, row: Classifier) -> CodeClassifier:
        """The version's model (cached); raises one of UNREADABLE when its files are missing or damaged."""
        with self._lock:
            if row.id not in self._loaded:
                self._loaded[row.id] = self._read(row)
            return self._loaded[row.id]

    def _read(self, row: Classifier) -> CodeClassifier:
        """The version's model from its files on disk; raises one of UNREADABLE when they are missing or damaged."""
        if not row.path:
            raise OSError(f"version {row.id} has no files")
        return load_model(self.models_dir / row.path)

    def verify(self, row: Classifier) -> CodeClassifier:
        """Read the version's files from disk now, whatever is cached (a version held in memory whose folder
        was deleted must not pass: it would fail at the next start); raises one of UNREADABLE, and forgets the
        cached copy, when they are missing or damaged."""
        try:
            model = self._read(row)
        except UNREADABLE:
            with self._lock:
                self._loaded.pop(row.id, None)
            raise
        with self._lock:
            self._loaded[row.id] = model
        return model
