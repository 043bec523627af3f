"""The gate and the codebook classifier (app/engine/gate.py) on the real bundled model and codebooks."""

import numpy as np
import pytest

from app.config import Settings
from app.engine import gate
from app.engine.code_index import CodeIndexCache, default_background
from app.engine.suggest import ScoringParams, score_codes
from taxonomy import ResolvedCodebook, load_builtin, resolve

TECHNIQUES = ["We set a goal that I would get out of the house twice a week.",
              "She came with me to the housing office and helped me fill in the forms.",
              "She told me about her own time in hospital, and that made me feel less alone.",
              "Every night I wrote down how many cigarettes I had smoked that day."]
ORDINARY = ["I went to my cousin's fortieth that weekend, in Blackpool.",
            "The interview will take about forty minutes.",
            "She was younger than I expected.",
            "I've been on the discharge team for about two years now."]


@pytest.fixture(scope="module")
def index(embedder, index_cache_dir):
    book = resolve("bcttv1+relational-aspects", load_builtin(Settings().taxonomy_dir).get)
    return CodeIndexCache(embedder, index_cache_dir).get(book)


def test_the_gate_shows_techniques_and_leaves_ordinary_talk(embedder, index):
    texts = TECHNIQUES + ORDINARY
    scores = score_codes(index, embedder.encode(texts), ScoringParams(), gate.word_counts(texts))[0]
    best = dict(zip(texts, scores.max(axis=1), strict=True))
    assert all(best[t] >= gate.ANCHOR for t in TECHNIQUES), best
    assert all(best[t] < gate.ANCHOR for t in ORDINARY), best
    codes = [c.id for c in index.codes]
    assert codes[int(scores[0].argmax())] == "1.1" and codes[int(scores[1].argmax())] == "3.2"


def test_served_scores_keep_the_rank_order_and_show_exactly_what_the_gate_passes():
    rng = np.random.default_rng(0)
    similarity = rng.uniform(0, 0.6, (200, 30)).astype(np.float32)
    log_proba = np.log(rng.dirichlet(np.ones(30), 200)).astype(np.float32)
    logit = rng.normal(0, 3, 200).astype(np.float32)
    pieces = rng.integers(1, 15, 30).astype(np.float32)
    scores = gate.served(similarity, log_proba, logit, pieces)
    rank = gate.rank_scores(similarity, log_proba, pieces)
    assert (np.argsort(-scores, axis=1, kind="stable")[:, 0] == rank.argmax(axis=1)).all()
    assert ((scores.max(axis=1) >= gate.ANCHOR) == (logit >= 0)).all()  # the best code carries the verdict
    assert ((scores >= 0) & (scores <= 1)).all()
    # a positive bias moves the operating point: fewer sentences shown, never more
    biased = gate.served(similarity, log_proba, logit, pieces, bias=1.0)
    assert ((biased.max(axis=1) >= gate.ANCHOR) == (logit >= 1.0)).all()


def test_above_the_line_a_score_says_how_sure_the_code_is():
    similarity = np.array([[0.50, 0.49, 0.10, 0.10], [0.80, 0.20, 0.10, 0.10]], dtype=np.float32)
    log_proba = np.log(np.full((2, 4), 0.25, dtype=np.float32))
    scores = gate.served(similarity, log_proba, np.array([5.0, 5.0], dtype=np.float32), np.ones(4))
    assert scores[0, 0] >= gate.ANCHOR and scores[1, 0] >= gate.ANCHOR
    assert scores[0, 0] < scores[1, 0]  # a near tie reads less sure than a clear first


def test_a_codebook_without_a_background_borrows_interview_talk(embedder, index_cache_dir):
    book = resolve("bcttv1+relational-aspects", load_builtin(Settings().taxonomy_dir).get)
    bare = ResolvedCodebook(book.name, tuple(p.model_copy(update={"background": []}) for p in book.parts),
                            book.codes)
    assert bare.background == [] and bare.digest != book.digest
    own = CodeIndexCache(embedder, index_cache_dir).get(bare)
    assert own.background_vectors is not None and len(own.background_vectors) == len(default_background())
    assert own.model is not None and own.model.gate_coef.shape == (len(gate.FEATURES),)


def test_the_fitted_model_is_cached_with_the_vectors(embedder, tmp_path):
    book = resolve("bcttv1", load_builtin(Settings().taxonomy_dir).get)
    first = CodeIndexCache(embedder, tmp_path).get(book)
    again = CodeIndexCache(embedder, tmp_path).get(book)
    assert list(tmp_path.rglob("*-model*.npz"))
    assert np.array_equal(first.model.coef, again.model.coef)
    assert first.model.gate_intercept == again.model.gate_intercept
