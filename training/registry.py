"""A classifier version on disk: `<models_dir>/v<N>-<time>/classifier.npz` (plain arrays) and `card.json`.

The time in the folder's name keeps two databases that share a models folder from overwriting each other's v1.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

from training.classifier import CodeClassifier

MODEL_FILE, CARD_FILE = "classifier.npz", "card.json"


def version_folder(version: int) -> str:
    return f"v{version}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"


def save_version(models_dir: Path, version: int, model: CodeClassifier, card: dict) -> str:
    """Write the model and its card into a fresh folder, atomically; returns the folder's name."""
    name = version_folder(version)
    final = models_dir / name
    tmp = models_dir / f".{name}.tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    model.save(tmp / MODEL_FILE)
    (tmp / CARD_FILE).write_text(json.dumps(card, indent=2, default=str), encoding="utf-8")
    tmp.replace(final)
    return name


def load_model(folder: Path) -> CodeClassifier:
    return CodeClassifier.load(folder / MODEL_FILE)


def load_card(folder: Path) -> dict:
    return json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
