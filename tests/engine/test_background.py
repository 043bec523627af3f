"""'No technique' is an answer: the background of ordinary talk, counterexamples and the fragment rule, on the
real bundled model and the real codebooks."""

import dataclasses

import numpy as np
import pytest

from app.config import Settings
from app.engine.code_index import CodeIndexCache, evidence_units, stands_alone
from app.engine.suggest import ScoringParams, score_codes
from taxonomy import Code, Codebook, Exemplar, load_builtin, resolve


@pytest.fixture(scope="module")
def cache(embedder, index_cache_dir):
    """One index cache for the module (on the suite's disk cache): codebook variants share the vectors of the
    text they have in common."""
    return CodeIndexCache(embedder, index_cache_dir)


ROLE_INTRODUCTION = "So I'm a peer support worker on the discharge team, I've been doing it about two years now."


def test_the_background_leaves_a_role_introduction_uncoded(embedder, cache):
    settings = Settings()
    books = load_builtin(settings.taxonomy_dir)
    with_background = resolve(settings.default_codebook, books.get)
    assert len(with_background.background) > 100  # interview-talk.yaml, extended by bcttv1 and relational
    books["interview-talk"] = books["interview-talk"].model_copy(update={"background": [
        Exemplar(text="The number 73 bus was late again.")]})  # a background that says nothing about roles
    bare = resolve(settings.default_codebook, books.get)
    vector = embedder.encode([ROLE_INTRODUCTION])
    scored = score_codes(cache.get(with_background), vector, settings.scoring())[0].max()
    unscored = score_codes(cache.get(bare), vector, settings.scoring())[0].max()
    # Without a background that knows role introductions, the topic (peer support) is over the threshold...
    assert unscored >= settings.threshold
    # ...and with it, the sentence is left uncoded.
    assert scored < settings.threshold


def test_a_technique_still_beats_the_background(embedder, cache):
    settings = Settings()
    book = resolve(settings.default_codebook, load_builtin(settings.taxonomy_dir).get)
    index = cache.get(book)
    # (A technique told through logistics, "we worked out another way round the buses", can lose to the
    # background's travel talk: a known limit, docs/evaluation.md.)
    sentence = "She got me to write down every drink I had in a little notebook, so we could see the pattern."
    scores = score_codes(index, embedder.encode([sentence]), settings.scoring())[0][0]
    best = [index.codes[j].id for j in np.argsort(-scores)[:3]]
    assert scores.max() >= settings.threshold and "2.3" in best


def _book(counterexamples: list[str]) -> Codebook:
    return Codebook(name="tiny", codes=[
        Code(id="A", label="Practical help with forms", definition="Helping someone fill in official forms.",
             exemplars=[Exemplar(text="She helped me fill in the housing benefit forms at the council.")],
             counterexamples=[Exemplar(text=t) for t in counterexamples]),
        Code(id="B", label="Walking more", definition="Agreeing to walk more each day.",
             exemplars=[Exemplar(text="We agreed I would walk to the shops every morning.")])])


def test_a_counterexample_lowers_its_code(embedder, cache):
    sentence = "She told me where the council offices are and when they open."
    plain = resolve("tiny", {"tiny": _book([])}.get)
    guarded = resolve("tiny", {"tiny": _book(["He told me where the council office is and its opening hours."])}.get)
    vector = embedder.encode([sentence])
    # The correction on the similarity it corrects (the gate and the background margin off; under the gate the
    # corrected similarity is what codes are ranked by).
    params = ScoringParams(evidence_k=3, gate=False, use_background=False)
    before = score_codes(cache.get(plain), vector, params)[0][0]
    after = score_codes(cache.get(guarded), vector, params)[0][0]
    assert after[0] < before[0] - 0.05  # code A lost score
    assert after[1] == before[1]  # code B untouched
    unguarded = dataclasses.replace(params, use_counterexamples=False)
    off = score_codes(cache.get(guarded), vector, unguarded)[0][0]
    assert off[0] == before[0]


def test_fragments_never_count_alone():
    assert not stands_alone("Someone to look up to.")
    assert not stands_alone("It was kind of that, yeah.")
    assert stands_alone("She helped me fill in the forms.")
    book = resolve("tiny", {"tiny": Codebook(name="tiny", codes=[Code(id="A", label="Role model", exemplars=[
        Exemplar(text="She is like a role model. Someone to look up to. I will never forget the support she gave me.")
    ])])}.get)
    texts = [u.text for u in evidence_units(book)]
    assert "Someone to look up to." not in texts  # a piece too short to stand alone
    assert "I will never forget the support she gave me." in texts
    assert any(t.startswith("She is like a role model. Someone") for t in texts)  # the whole exemplar counts
