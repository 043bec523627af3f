"""Inductive discovery: candidate new codes from the sentences no code explains well.

Pure domain code (numpy and scikit-learn). The caller picks the units (sentences or spans that are uncoded,
score under the thresholds, or had every suggestion rejected) and passes their unit-length vectors, texts and
the codebook's code vectors; `discover` returns candidates a team can name, merge, dismiss or promote.

Method
------
1. Reduce: PCA to `dims` components (0: keep the raw vectors; fewer than `dims` units: n - 1 components),
   fitted on the units clustered directly, then every row re-normalised to unit length, so Euclidean distance
   in the reduced space ranks like cosine similarity there. Or, with reduce="umap" (umap-learn installed),
   UMAP to min(dims, 10) components (cosine, 15 neighbours, min_dist 0), fitted on the units clustered
   directly. Measured on the interview set's 568 unexplained sentences (docs/discovery.md): with candidates
   of 5 or more, UMAP put 12-42% of the relational sentences in mostly relational candidates (seeds 0-2),
   PCA 5%; at the default candidate size neither did. So PCA stays the default (deterministic, no numba).
2. Cluster: scikit-learn's HDBSCAN (Euclidean, excess-of-mass selection), which finds the number of clusters
   itself and leaves outliers as noise. `min_cluster_size` None is chosen from m, the number of units clustered
   directly: max(5, round(sqrt(m) / 2)) capped at 50 (m = 400 gives 10, m >= 10,000 gives 50). Fewer than
   2 * min_cluster_size units, or no cluster found, gives no candidates (not an error).
3. Sampling: above `max_points` units, a uniform random sample of `max_points` units drawn without replacement
   with numpy's default_rng(seed) is clustered; every other unit joins the candidate whose centroid (mean of
   its members' reduced vectors) is nearest, when its distance is within that candidate's 95th-percentile
   member distance, else it is noise. `clustered` says how many units were clustered directly.
4. Describe (also `describe`, for merged groups): class-based TF-IDF over one class per candidate plus a
   background class (noise), so words common everywhere sink: counts of unigrams and bigrams (English stop
   words, the spoken fillers of app.engine.code_index.FILLERS and contraction fragments removed), tf
   normalised within each class, weight = tf * log(1 + mean words per class / the term's count over all
   classes). The label is the top 3-4 terms, skipping a term that shares a word with one already chosen. Quotes:
   the member nearest the centroid, then maximal marginal relevance (lambda 0.6) among members, never the same
   text twice. Nearest codes: cosine of the unit centroid to each code's best code vector, top 3.
5. Stability: `resamples` times, a seeded random subsample of `resample_fraction` of the directly clustered
   units is clustered again with the same parameters (on the same reduced vectors: what is tested is the
   clustering, not the PCA). A candidate re-forms when some new cluster's Jaccard index with the candidate's
   members in that subsample is at least 0.5; stability is the share of resamples in which it re-forms.

The same input and seed give the same result (HDBSCAN is deterministic; every draw uses the seed).

Measured on 2026-12-02 (bench/discovery.py --n 100000: 2 shared CPU cores, load average 4.5; 100,000 perturbed copies
of 2,098 encoded interview sentences and codebook exemplars, 109 codes): 71 s in all (reduce 1.6 s, cluster a
20,000 sample and assign the other 80,000 10.5 s, describe 3.6 s, stability over 10 resamples 55.4 s); peak RSS
0.43 GiB, +0.09 GiB during the call; 66 candidates, 38,843 noise. KMeans k=20 on the same 100,000 vectors: 28.5 s
(discover / KMeans 2.50, 0.55 without stability). Stability is most of the time: resamples=0 skips it.
The five largest candidates there re-formed in only 10-40% of resamples: on this duplicated data large clusters
split or merge when a fifth of the units go, which is what the figure is there to show.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse
from sklearn.cluster import HDBSCAN
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from app.engine.code_index import FILLERS
from app.engine.markers import without_markers

STAGES = ("reduce", "cluster", "describe", "stability")
REDUCERS = ("pca", "umap")
# What a run may be asked for, inclusive (DiscoveryParams checks it): the lower ends are what the method needs,
# the upper ends bound a run's cost, and a seed fits the service's 32-bit ids.
LIMITS = {"min_cluster_size": (2, 5000), "min_samples": (1, 500), "dims": (0, 384), "resamples": (0, 50),
          "seed": (0, 2**31 - 1)}
UMAP_MAX_DIMS, UMAP_NEIGHBOURS = 10, 15
MIN_CLUSTER_FLOOR, MIN_CLUSTER_CAP = 5, 50
ASSIGN_PERCENTILE = 95  # a unit outside the sample joins a candidate within this percentile of member distances
REFORM_JACCARD = 0.5
MMR_LAMBDA = 0.6
TERMS = 10
NEAREST_CODES = 3
# What a tokenizer that splits on apostrophes leaves of spoken contractions ("don't" -> "don"): never distinctive.
CONTRACTION_PIECES = frozenset([
    "don", "didn", "doesn", "isn", "wasn", "weren", "aren", "couldn", "wouldn", "shouldn", "haven", "hasn", "hadn",
    "won", "ain", "ve", "ll", "re", "gonna", "wanna", "gotta", "cos", "cause", "em", "ya", "let",
])
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | FILLERS | CONTRACTION_PIECES)

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class DiscoveryParams:
    """How to cluster, checked when made (a ValueError says which value and what it may be): the one place the
    clustering parameters are checked. The service refuses unknown keys and answers InvalidInput with this
    message; the API's request schema reads its bounds and defaults from LIMITS and these fields."""

    min_cluster_size: int | None = None  # None: max(5, round(sqrt(m) / 2)) capped at 50, m = units clustered
    min_samples: int = 2
    dims: int = 20  # PCA components before clustering; 0 = cluster the raw vectors
    max_points: int = 20_000  # above this, cluster a seeded random sample and assign the rest
    resamples: int = 10  # re-clusterings of subsamples for the stability figure; 0 = skip
    resample_fraction: float = 0.8
    quotes: int = 6  # representative quotes per candidate
    seed: int = 0
    reduce: str = "pca"  # "pca", or "umap" (umap-learn, the optional extra 'discovery'): see the docstring

    def __post_init__(self) -> None:
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if value is None and name == "min_cluster_size":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}")
        if self.reduce not in REDUCERS:
            raise ValueError(f"reduce must be one of {', '.join(REDUCERS)}")
        if self.max_points < 2:
            raise ValueError("max_points must be at least 2")
        if not 0 < self.resample_fraction <= 1:
            raise ValueError("resample_fraction must be in (0, 1]")
        if self.quotes < 0:
            raise ValueError("quotes must be 0 or more")


@dataclass
class Candidate:
    number: int  # 1.. by size, largest first
    members: list[int]  # indices into the input arrays
    label: str  # 3-4 distinctive terms, ", "-joined
    terms: list[tuple[str, float]]  # top terms with their c-TF-IDF weight
    quotes: list[int]  # member indices: nearest the centroid first, then varied
    nearest_codes: list[tuple[str, float]]  # (code id, cosine of the centroid to the code vector), best first
    stability: float | None  # share of resamples in which it re-forms; None when not measured
    centroid: np.ndarray  # unit-length mean of member vectors (input space)


@dataclass
class DiscoveryResult:
    candidates: list[Candidate]
    noise: list[int]  # indices in no candidate
    points: np.ndarray  # (n, 2) float32 map coordinates: the first two PCA components
    clustered: int  # units clustered directly (the rest assigned); n when no sampling
    params: DiscoveryParams  # with min_cluster_size filled in
    timings: dict[str, float]  # seconds per stage


def default_min_cluster_size(m: int) -> int:
    """The min_cluster_size used when none is given, for m units clustered directly."""
    return min(MIN_CLUSTER_CAP, max(MIN_CLUSTER_FLOOR, round(math.sqrt(max(m, 0)) / 2)))


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1)).astype(np.float32, copy=False)


def _hdbscan(x: np.ndarray, min_cluster_size: int, min_samples: int) -> np.ndarray:
    """HDBSCAN labels (-1 noise), or all noise when there are too few points to cluster."""
    if len(x) < max(2 * min_cluster_size, min_samples + 1):
        return np.full(len(x), -1, dtype=np.int64)
    model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, metric="euclidean", copy=True)
    return model.fit_predict(x.astype(np.float64, copy=False)).astype(np.int64)


def discover(vectors: np.ndarray, texts: list[str], code_ids: list[str], code_vectors: np.ndarray,
             params: DiscoveryParams = DiscoveryParams(),  # noqa: B008 (frozen: immutable)
             progress: Progress | None = None) -> DiscoveryResult:
    """Candidate new codes among `vectors` (unit-length rows, one per text): see the module docstring."""
    report = progress or (lambda stage, fraction: None)
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    if len(texts) != n:
        raise ValueError(f"{n} vectors but {len(texts)} texts")
    timings = dict.fromkeys(STAGES, 0.0)
    rng = np.random.default_rng(params.seed)

    # Reduce.
    start = time.perf_counter()
    report("reduce", 0.0)
    sample = np.sort(rng.choice(n, size=params.max_points, replace=False)) if n > params.max_points else np.arange(n)
    m = len(sample)
    min_cluster_size = params.min_cluster_size or default_min_cluster_size(m)
    params = replace(params, min_cluster_size=min_cluster_size)
    reduced, points = _reduce(vectors, sample, params.dims, params.seed, params.reduce)
    timings["reduce"] = time.perf_counter() - start
    report("reduce", 1.0)

    # Cluster the sample, then assign the rest.
    start = time.perf_counter()
    report("cluster", 0.0)
    sample_labels = _hdbscan(reduced[sample], min_cluster_size, params.min_samples) if n else np.zeros(0, int)
    labels = np.full(n, -1, dtype=np.int64)
    labels[sample] = sample_labels
    if m < n and (sample_labels >= 0).any():
        rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
        labels[rest] = _assign(reduced, sample, sample_labels, rest)
    timings["cluster"] = time.perf_counter() - start
    report("cluster", 1.0)

    # Number candidates by size, largest first (ties: the earliest first member).
    found_labels = np.unique(labels[labels >= 0])
    found = [np.flatnonzero(labels == k) for k in found_labels]
    order = sorted(range(len(found)), key=lambda k: (-len(found[k]), int(found[k][0])))
    groups = [found[k].tolist() for k in order]

    start = time.perf_counter()
    report("describe", 0.0)
    candidates = describe(vectors, texts, groups, code_ids, code_vectors, quotes=params.quotes,
                          _progress=lambda f: report("describe", f))
    timings["describe"] = time.perf_counter() - start
    report("describe", 1.0)

    start = time.perf_counter()
    if params.resamples and candidates:
        report("stability", 0.0)
        # The candidates' labels on the directly clustered units, in candidate order.
        renumber = np.full(int(sample_labels.max()) + 2, -1, dtype=np.int64)  # the last slot: noise (-1)
        for new, old in enumerate(order):
            renumber[found_labels[old]] = new
        original = renumber[sample_labels]
        scores = _stability(reduced[sample], original, len(candidates), params, rng,
                            lambda f: report("stability", f))
        for candidate, score in zip(candidates, scores, strict=True):
            candidate.stability = score
        report("stability", 1.0)
    timings["stability"] = time.perf_counter() - start

    noise = np.flatnonzero(labels < 0).tolist()
    return DiscoveryResult(candidates, noise, points, m, params, timings)


def _reduce(vectors: np.ndarray, sample: np.ndarray, dims: int, seed: int,
            method: str = "pca") -> tuple[np.ndarray, np.ndarray]:
    """(reduced vectors for every unit, (n, 2) map coordinates), fitted on the sample. PCA's rows are unit
    length; UMAP's are its own coordinates. The map is always PCA's first two components."""
    n, d = vectors.shape if vectors.ndim == 2 else (0, 0)
    points = np.zeros((n, 2), dtype=np.float32)
    if n == 0:
        return vectors.reshape(0, d).astype(np.float32), points
    components = min(dims if dims else 2, len(sample) - 1, d)
    if components < 1:
        return _unit_rows(vectors), points
    pca = PCA(n_components=components, random_state=seed).fit(vectors[sample])
    projected = pca.transform(vectors).astype(np.float32)
    points[:, :min(2, components)] = projected[:, :2]
    if method == "umap" and dims and len(sample) > UMAP_NEIGHBOURS + 1:
        return _umap(vectors, sample, min(dims, UMAP_MAX_DIMS), seed), points
    return (_unit_rows(projected) if dims else _unit_rows(vectors)), points


def _umap(vectors: np.ndarray, sample: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """UMAP (cosine, 15 neighbours, min_dist 0: made for clustering, not for looks) fitted on the sample; the
    other units are placed by the fitted model. Seeded, so single-threaded and repeatable."""
    try:
        import umap  # noqa: PLC0415 - optional: umap-learn pulls numba and llvmlite, and compiles on first use
    except ImportError:
        raise ValueError("reduce 'umap' needs umap-learn: pip install 'bct-autocoder[discovery]'") from None
    model = umap.UMAP(n_components=dims, n_neighbors=UMAP_NEIGHBOURS, min_dist=0.0, metric="cosine",
                      random_state=seed)
    out = np.zeros((len(vectors), dims), dtype=np.float32)
    out[sample] = model.fit_transform(vectors[sample])
    rest = np.setdiff1d(np.arange(len(vectors)), sample, assume_unique=True)
    if len(rest):
        out[rest] = model.transform(vectors[rest])
    return out


def _assign(reduced: np.ndarray, sample: np.ndarray, sample_labels: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Labels for the units outside the sample: the nearest cluster centroid within its 95th-percentile
    member distance, else -1."""
    clusters = np.unique(sample_labels[sample_labels >= 0])
    centroids = np.stack([reduced[sample[sample_labels == k]].mean(axis=0) for k in clusters])
    radii = np.array([np.percentile(np.linalg.norm(reduced[sample[sample_labels == k]] - c, axis=1),
                                    ASSIGN_PERCENTILE) for k, c in zip(clusters, centroids, strict=True)])
    out = np.full(len(rest), -1, dtype=np.int64)
    c_sq = (centroids ** 2).sum(axis=1)
    for lo in range(0, len(rest), 8192):  # in blocks: memory stays small at any n
        x = reduced[rest[lo:lo + 8192]]
        dist = np.sqrt(np.maximum((x ** 2).sum(axis=1)[:, None] - 2 * x @ centroids.T + c_sq[None, :], 0))
        best = dist.argmin(axis=1)
        inside = dist[np.arange(len(x)), best] <= radii[best]
        out[lo:lo + len(x)] = np.where(inside, clusters[best], -1)
    return out


def _stability(x: np.ndarray, original: np.ndarray, k: int, params: DiscoveryParams, rng: np.random.Generator,
               progress: Callable[[float], None]) -> list[float]:
    """Per candidate (labels 0..k-1 in `original`), the share of resamples in which it re-forms."""
    m = len(x)
    size = max(1, round(params.resample_fraction * m))
    reformed = np.zeros(k, dtype=np.int64)
    for r in range(params.resamples):
        subset = np.sort(rng.choice(m, size=size, replace=False))
        new = _hdbscan(x[subset], params.min_cluster_size, params.min_samples)
        old = original[subset]
        if (new >= 0).any():
            n_new = int(new.max()) + 1
            both = (old >= 0) & (new >= 0)
            table = np.zeros((k, n_new), dtype=np.int64)  # members shared by candidate i and new cluster j
            np.add.at(table, (old[both], new[both]), 1)
            old_sizes = np.bincount(old[old >= 0], minlength=k)
            new_sizes = np.bincount(new[new >= 0], minlength=n_new)
            union = old_sizes[:, None] + new_sizes[None, :] - table
            jaccard = np.where(union > 0, table / np.maximum(union, 1), 0.0)
            reformed += (jaccard.max(axis=1) >= REFORM_JACCARD) & (old_sizes > 0)
        progress((r + 1) / params.resamples)
    return (reformed / params.resamples).tolist()


def describe(vectors: np.ndarray, texts: list[str], groups: list[list[int]], code_ids: list[str],
             code_vectors: np.ndarray, quotes: int = 6, background_texts: list[str] | None = None,
             _progress: Callable[[float], None] | None = None) -> list[Candidate]:
    """Label, terms, quotes, nearest codes and centroid for each group of member indices (for example candidates
    a team merged); number = position + 1, stability None. The background class of the c-TF-IDF is
    `background_texts`, or, when None, the texts in no group ([] for none)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    groups = [sorted(set(int(i) for i in g)) for g in groups]
    if any(not g for g in groups):
        raise ValueError("a group has no members")
    if background_texts is None:
        inside = np.zeros(len(texts), dtype=bool)
        for g in groups:
            inside[g] = True
        background_texts = [texts[i] for i in np.flatnonzero(~inside)]
    terms = class_terms([[texts[i] for i in g] for g in groups], background_texts)
    code_vectors = np.asarray(code_vectors, dtype=np.float32).reshape(len(code_ids), -1) if len(code_ids) else None
    out = []
    for number, (members, top) in enumerate(zip(groups, terms, strict=True), start=1):
        member_vectors = vectors[members]
        centroid = member_vectors.mean(axis=0)
        centroid = centroid / (np.linalg.norm(centroid) or 1.0)
        out.append(Candidate(
            number=number, members=members, label=label_of(top), terms=top,
            quotes=_quotes(members, member_vectors, centroid, texts, quotes),
            nearest_codes=_nearest_codes(centroid, code_ids, code_vectors), stability=None,
            centroid=centroid.astype(np.float32)))
        if _progress:
            _progress(number / len(groups))
    return out


def _vectorizer() -> CountVectorizer:
    # Transcription markers ("[laughs]", "(pause)") are not the participants' words: never a cluster's label.
    return CountVectorizer(stop_words=STOP_WORDS, ngram_range=(1, 2), token_pattern=r"(?u)\b[^\W\d_]{2,}\b",
                           preprocessor=_words)


def _words(text: str) -> str:
    return without_markers(text).lower()


def terms_in(texts: list[str]) -> set[str]:
    """Every term (word or two-word phrase) class_terms could find in these sentences."""
    analyse = _vectorizer().build_analyzer()
    return {term for text in texts for term in analyse(text)}


def class_terms(classes: list[list[str]], background: list[str], top: int = TERMS) -> list[list[tuple[str, float]]]:
    """Each class's top terms by class-based TF-IDF, with the background as one more class."""
    if not classes:
        return []
    docs = [t for c in classes for t in c] + list(background)
    vectorizer = _vectorizer()
    try:
        counts = vectorizer.fit_transform(docs)
    except ValueError:  # nothing but stop words
        return [[] for _ in classes]
    owner = np.concatenate([np.full(len(c), k) for k, c in enumerate(classes)]
                           + [np.full(len(background), len(classes))]).astype(np.int64)
    n_classes = len(classes) + (1 if background else 0)
    membership = sparse.csr_matrix((np.ones(len(docs)), (owner, np.arange(len(docs)))),
                                   shape=(len(classes) + 1, len(docs)))
    per_class = sparse.csr_matrix(membership @ counts, dtype=np.float64)[:n_classes]  # sparse: vocabularies grow
    words = np.asarray(per_class.sum(axis=1)).ravel()
    frequency = np.asarray(per_class.sum(axis=0)).ravel()
    idf = np.log1p((words.sum() / n_classes) / np.where(frequency > 0, frequency, 1))
    vocabulary = vectorizer.get_feature_names_out()
    result = []
    for k in range(len(classes)):
        row = per_class.getrow(k)
        if not row.nnz or not words[k]:
            result.append([])
            continue
        row.sum_duplicates()
        columns = row.indices
        weights = row.data / words[k] * idf[columns]
        best = np.lexsort((columns, -weights))[:top]  # ties: alphabetical (the vocabulary is sorted)
        result.append([(str(vocabulary[columns[i]]), float(weights[i])) for i in best if weights[i] > 0])
    return result


def label_of(terms: list[tuple[str, float]], most: int = 4) -> str:
    """The first `most` terms, skipping one that shares a word with a term already chosen."""
    chosen: list[str] = []
    seen: set[str] = set()
    for term, _ in terms:
        words = set(term.split())
        if words & seen:
            continue
        chosen.append(term)
        seen |= words
        if len(chosen) == most:
            break
    return ", ".join(chosen)


def _quotes(members: list[int], member_vectors: np.ndarray, centroid: np.ndarray, texts: list[str],
            count: int) -> list[int]:
    """The member nearest the centroid, then maximal marginal relevance: relevance to the centroid against
    similarity to the quotes already chosen (MMR_LAMBDA), never the same text twice."""
    if count <= 0:
        return []
    relevance = member_vectors @ centroid
    closest = np.full(len(members), -np.inf, dtype=np.float32)  # similarity to the nearest chosen quote
    available = np.ones(len(members), dtype=bool)
    chosen_texts: set[str] = set()
    picked: list[int] = []
    while len(picked) < count and available.any():
        score = relevance if not picked else MMR_LAMBDA * relevance - (1 - MMR_LAMBDA) * closest
        i = int(np.argmax(np.where(available, score, -np.inf)))
        available[i] = False
        key = " ".join(texts[members[i]].split()).casefold()
        if key in chosen_texts:
            continue
        chosen_texts.add(key)
        picked.append(i)
        closest = np.maximum(closest, member_vectors @ member_vectors[i])
    return [members[i] for i in picked]


def _nearest_codes(centroid: np.ndarray, code_ids: list[str], code_vectors: np.ndarray | None,
                   top: int = NEAREST_CODES) -> list[tuple[str, float]]:
    """The codes nearest the centroid: each code's best cosine over its vectors (ids may repeat), top `top`."""
    if code_vectors is None or not len(code_ids):
        return []
    similarity = _unit_rows(code_vectors) @ centroid
    best: dict[str, float] = {}
    for code, s in zip(code_ids, similarity.tolist(), strict=True):
        if code not in best or s > best[code]:
            best[code] = s
    return sorted(best.items(), key=lambda item: -item[1])[:top]
