"""Inductive discovery on synthetic vectors: well-separated blobs in 384 dimensions plus scattered noise, each
blob's texts carrying a word of its own, so what should come out is known."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from app.engine.discovery import LIMITS, DiscoveryParams, default_min_cluster_size, describe, discover

TOPICS = ["garden", "medication", "housing", "football", "cooking"]
FILLER = ["we talked about it", "and then I went home", "it was a long week", "my friend came along",
          "that was on monday", "she said it again"]
BLOB, NOISE, DIM = 60, 60, 384
NOISE_SCALE = 2


def unit(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def blobs(size=BLOB, noise=NOISE, spread=0.03, seed=1):
    """(vectors, texts, truth: blob number or -1 for noise, centres)."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(len(TOPICS), DIM)))
    vectors, texts, truth = [], [], []
    for k, topic in enumerate(TOPICS):
        vectors.append(unit(centres[k] + rng.normal(scale=spread, size=(size, DIM))))
        texts += [f"the {topic} {FILLER[i % len(FILLER)]} {i}" for i in range(size)]  # digits are not terms
        truth += [k] * size
    # Scattered units: most between two blobs, a few anywhere (fewer than a cluster: in 384 dimensions random
    # directions are all about equally far apart, so many of them would make one diffuse cluster of their own).
    anywhere = min(noise, 6)
    pairs = rng.choice(len(TOPICS), size=(noise - anywhere, 2))
    pairs[:, 1] = (pairs[:, 0] + 1 + pairs[:, 1] % (len(TOPICS) - 1)) % len(TOPICS)
    weight = rng.uniform(0.35, 0.65, size=(noise - anywhere, 1))
    between = weight * centres[pairs[:, 0]] + (1 - weight) * centres[pairs[:, 1]]
    vectors.append(unit(np.concatenate([between + rng.normal(scale=NOISE_SCALE * spread, size=between.shape),
                                        rng.normal(size=(anywhere, DIM))])))
    texts += [f"{FILLER[i % len(FILLER)]} and {FILLER[(i * 7 + 3) % len(FILLER)]}" for i in range(noise)]
    truth += [-1] * noise
    return np.concatenate(vectors).astype(np.float32), texts, np.array(truth), centres


def codes(centres):
    """A code vector at blob 2's centre, one halfway between blobs 0 and 1, and two elsewhere."""
    rng = np.random.default_rng(5)
    ids = ["at-housing", "between", "far-1", "far-2"]
    return ids, unit(np.stack([centres[2], centres[0] + centres[1], *rng.normal(size=(2, DIM))]))


def labels_of(result, n):
    labels = np.full(n, -1)
    for c in result.candidates:
        labels[c.members] = c.number
    return labels


@pytest.fixture(scope="module")
def data():
    vectors, texts, truth, centres = blobs()
    ids, code_vectors = codes(centres)
    result = discover(vectors, texts, ids, code_vectors, DiscoveryParams(resamples=5))
    return vectors, texts, truth, ids, code_vectors, result


def blob_of(candidate, truth):
    values, counts = np.unique(truth[candidate.members], return_counts=True)
    return int(values[counts.argmax()])


def test_blobs_are_recovered(data):
    vectors, texts, truth, _, _, result = data
    assert len(result.candidates) == len(TOPICS)
    labels = labels_of(result, len(vectors))
    on_blobs = truth >= 0
    assert adjusted_rand_score(truth[on_blobs], labels[on_blobs]) >= 0.9
    for c in result.candidates:  # scattered units between two blobs may join one (min_samples 2), not many
        assert np.mean(truth[c.members] == blob_of(c, truth)) >= 0.75
    assert sorted(result.noise + [i for c in result.candidates for i in c.members]) == list(range(len(vectors)))
    assert [c.number for c in result.candidates] == list(range(1, len(TOPICS) + 1))
    sizes = [len(c.members) for c in result.candidates]
    assert sizes == sorted(sizes, reverse=True)
    assert result.clustered == len(vectors)
    assert result.points.shape == (len(vectors), 2) and result.points.dtype == np.float32
    assert result.params.min_cluster_size == default_min_cluster_size(len(vectors))
    assert set(result.timings) == {"reduce", "cluster", "describe", "stability"}


def test_labels_come_from_each_blobs_own_words(data):
    _, _, truth, _, _, result = data
    for c in result.candidates:
        topic = TOPICS[blob_of(c, truth)]
        assert c.terms[0][0] == topic, c.terms
        assert c.label.split(", ")[0] == topic
        assert 1 <= len(c.label.split(", ")) <= 4
        assert c.terms[0][1] > 2 * c.terms[1][1]  # words every blob and the noise share sink
        weights = [w for _, w in c.terms]
        assert weights == sorted(weights, reverse=True) and len(c.terms) <= 10


def test_quotes_are_distinct_members_nearest_the_centroid_first(data):
    vectors, _, _, _, _, result = data
    for c in result.candidates:
        assert len(c.quotes) == 6 and len(set(c.quotes)) == 6
        assert set(c.quotes) <= set(c.members)
        assert c.quotes[0] == c.members[int(np.argmax(vectors[c.members] @ c.centroid))]
        assert np.isclose(np.linalg.norm(c.centroid), 1.0, atol=1e-5)


def test_a_code_at_a_blobs_centre_is_its_nearest_code(data):
    _, _, truth, _, _, result = data
    for c in result.candidates:
        assert len(c.nearest_codes) == 3
        scores = [s for _, s in c.nearest_codes]
        assert scores == sorted(scores, reverse=True)
        blob = blob_of(c, truth)
        if blob == 2:
            assert c.nearest_codes[0][0] == "at-housing" and c.nearest_codes[0][1] > 0.8
        if blob in (0, 1):
            assert c.nearest_codes[0][0] == "between"


def test_clean_blobs_are_stable(data):
    _, _, _, _, _, result = data
    for c in result.candidates:
        assert 0.0 <= c.stability <= 1.0
        assert c.stability >= 0.8


def test_the_same_seed_gives_the_same_result(data):
    vectors, texts, _, ids, code_vectors, first = data
    again = discover(vectors, texts, ids, code_vectors, DiscoveryParams(resamples=5))
    assert [(c.members, c.label, c.quotes, c.nearest_codes, c.stability) for c in again.candidates] == \
        [(c.members, c.label, c.quotes, c.nearest_codes, c.stability) for c in first.candidates]
    assert np.array_equal(again.points, first.points) and again.noise == first.noise


def test_above_max_points_a_sample_is_clustered_and_the_rest_assigned():
    vectors, texts, truth, centres = blobs(size=80, noise=40)
    ids, code_vectors = codes(centres)
    result = discover(vectors, texts, ids, code_vectors,
                      DiscoveryParams(max_points=200, resamples=2, min_cluster_size=8))
    assert result.clustered == 200
    assert len(result.candidates) == len(TOPICS)
    labels = labels_of(result, len(vectors))
    on_blobs = truth >= 0
    assert adjusted_rand_score(truth[on_blobs], labels[on_blobs]) >= 0.9
    assert (labels[on_blobs] >= 0).mean() >= 0.9  # the units outside the sample joined their blob
    assert sum(len(c.members) for c in result.candidates) > 200


def test_no_reduction_clusters_the_raw_vectors(data):
    vectors, texts, truth, ids, code_vectors, _ = data
    result = discover(vectors, texts, ids, code_vectors, DiscoveryParams(dims=0, resamples=0))
    labels = labels_of(result, len(vectors))
    assert adjusted_rand_score(truth[truth >= 0], labels[truth >= 0]) >= 0.9
    assert all(c.stability is None for c in result.candidates)


def test_empty_and_tiny_inputs_give_no_candidates():
    empty = discover(np.zeros((0, DIM), dtype=np.float32), [], [], np.zeros((0, DIM), dtype=np.float32))
    assert empty.candidates == [] and empty.noise == [] and empty.points.shape == (0, 2) and empty.clustered == 0
    vectors, texts, _, _ = blobs(size=2, noise=0)
    tiny = discover(vectors, texts, [], np.zeros((0, DIM)))  # 10 units < 2 * min_cluster_size (5)
    assert tiny.candidates == [] and tiny.noise == list(range(10)) and tiny.points.shape == (10, 2)
    one = discover(vectors[:1], texts[:1], [], np.zeros((0, DIM)), DiscoveryParams(min_cluster_size=2))
    assert one.candidates == [] and one.noise == [0]


def test_fewer_units_than_dims_reduce_to_n_minus_1_components():
    vectors, texts, truth, _ = blobs(size=6, noise=0)  # 30 units, 20 dims asked: fine; 12 units: 11 components
    keep = truth <= 1
    result = discover(vectors[keep], [t for t, k in zip(texts, keep, strict=True) if k], [], np.zeros((0, DIM)),
                      DiscoveryParams(min_cluster_size=3, dims=20))
    assert len(result.candidates) == 2
    assert sorted(sorted(c.members) for c in result.candidates) == [list(range(6)), list(range(6, 12))]
    assert all(c.nearest_codes == [] for c in result.candidates)


def test_progress_reports_every_stage_up_to_one(data):
    vectors, texts, _, ids, code_vectors, _ = data
    calls = []
    discover(vectors, texts, ids, code_vectors, DiscoveryParams(resamples=2),
             progress=lambda stage, fraction: calls.append((stage, fraction)))
    assert list(dict.fromkeys(s for s, _ in calls)) == ["reduce", "cluster", "describe", "stability"]
    assert {s for s, f in calls if f == 1.0} == {"reduce", "cluster", "describe", "stability"}
    assert all(0.0 <= f <= 1.0 for _, f in calls)


def test_describe_merged_groups(data):
    vectors, texts, truth, ids, code_vectors, _ = data
    garden, medication = np.flatnonzero(truth == 0).tolist(), np.flatnonzero(truth == 1).tolist()
    merged, = describe(vectors, texts, [garden + medication], ids, code_vectors, quotes=4)
    assert merged.number == 1 and merged.stability is None and merged.members == sorted(garden + medication)
    assert {t for t, _ in merged.terms[:2]} == {"garden", "medication"}
    assert merged.nearest_codes[0][0] == "between"
    assert len(merged.quotes) == 4
    # Explicit background: the other blobs' words are no longer background, so shared filler stays low anyway.
    alone, = describe(vectors, texts, [garden], ids, code_vectors, background_texts=[])
    assert "garden" in [t for t, _ in alone.terms[:2]]


def test_invalid_params_are_refused(data):
    vectors, texts, _, ids, code_vectors, _ = data
    with pytest.raises(ValueError):
        discover(vectors, texts, ids, code_vectors, DiscoveryParams(min_cluster_size=1))
    with pytest.raises(ValueError):
        discover(vectors, texts[:-1], ids, code_vectors)


def test_params_outside_their_limits_are_refused_when_made_saying_which_and_what_they_may_be():
    """DiscoveryParams is the one check of the clustering parameters (the API, the CLI and the pages go through
    it): a whole number within LIMITS, None for min_cluster_size (chosen), a known reducer."""
    assert DiscoveryParams(min_cluster_size=None).min_cluster_size is None
    for name, (low, high) in LIMITS.items():
        DiscoveryParams(**{name: low})
        DiscoveryParams(**{name: high})
        for wrong in (low - 1, high + 1, float(low), True):
            with pytest.raises(ValueError, match=f"^{name} must be a whole number from {low} to {high}$"):
                DiscoveryParams(**{name: wrong})
    with pytest.raises(ValueError, match="^reduce must be one of pca, umap$"):
        DiscoveryParams(reduce="tsne")
    with pytest.raises(ValueError, match="max_points must be at least 2"):
        DiscoveryParams(max_points=1)


def test_default_min_cluster_size_grows_with_the_square_root_and_is_capped():
    assert [default_min_cluster_size(m) for m in (0, 50, 400, 2500, 10_000, 100_000)] == [5, 5, 10, 25, 50, 50]


def test_umap_reduction_recovers_the_blobs_and_places_the_rest(data):
    """reduce='umap' (umap-learn, in the dev extra): seeded, so the same twice; units outside the sample are
    placed by the fitted model and join their blob."""
    pytest.importorskip("umap", reason="reduce='umap' needs umap-learn (pip install 'bct-autocoder[discovery]')")
    vectors, texts, truth, ids, code_vectors, _ = data
    params = DiscoveryParams(reduce="umap", resamples=0, max_points=len(vectors) - 30)
    first = discover(vectors, texts, ids, code_vectors, params)
    labels = labels_of(first, len(vectors))
    # UMAP's layout differs by CPU (numba's floating point): on one machine 7.7% of blob units fell to noise,
    # which alone cost ARI 0.11. So: every blob found, the units it clusters grouped right, noise bounded.
    on_blobs = truth >= 0
    clustered = on_blobs & (labels >= 0)
    assert len(first.candidates) == len(TOPICS)
    assert adjusted_rand_score(truth[clustered], labels[clustered]) >= 0.95
    assert np.mean(labels[on_blobs] < 0) <= 0.15
    assert first.clustered == len(vectors) - 30 and first.points.shape == (len(vectors), 2)
    again = discover(vectors, texts, ids, code_vectors, params)
    assert [c.members for c in again.candidates] == [c.members for c in first.candidates]
    with pytest.raises(ValueError, match="reduce must be one of"):
        discover(vectors, texts, ids, code_vectors, DiscoveryParams(reduce="tsne"))
