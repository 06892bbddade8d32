"""One behaviour suite for every vector store: qdrant-edge, qdrant local disk, qdrant in memory.

The reference for search is numpy (exact cosine, IDF-weighted sparse dot products) and the
reference for filters is :func:`ragpipe.filters.matches` over the chunks' metadata.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from ragpipe.config.settings import RuntimeSettings
from ragpipe.errors import IndexDamagedError, RagpipeError
from ragpipe.filters import matches, parse_filter
from ragpipe.index_location import IndexLocation
from ragpipe.protocols import VectorStore
from ragpipe.stores.qdrant_client import QdrantConfig, QdrantStore
from ragpipe.stores.qdrant_edge import QdrantEdgeConfig, QdrantEdgeStore
from ragpipe.types import Chunk, SparseVector

N = 60
DIM = 16
VOCAB = 40
ALWAYS_TERM = 1000  # a term every chunk contains, so a sparse search can reach every chunk

STORES: dict[str, Callable[[IndexLocation], VectorStore]] = {
    "qdrant-edge": lambda loc: QdrantEdgeStore(QdrantEdgeConfig(payload_indexes=["team", "year:float"]), loc),
    "qdrant-disk": lambda loc: QdrantStore(QdrantConfig(location="disk"), loc, RuntimeSettings()),
    "qdrant-memory": lambda loc: QdrantStore(QdrantConfig(location="memory"), loc, RuntimeSettings()),
}
PERSISTENT = ("qdrant-edge", "qdrant-disk")

MIXED = [1, 1.0, True, False, "1", None, [], [1, "x"], [True], 0, 2.5, "x"]
OWNERS = ["alice", "", None, "bob"]


def _metadata(i: int, rng: np.random.Generator) -> dict:
    meta: dict = {
        "team": ["platform", "security", "data"][i % 3],
        "year": [2018, 2019, 2020, 2021, 2021.0, 2021.5, 2022, 2024][i % 8],
        "score": float(rng.random()),
        "flag": i % 4 == 0,
        "nested": {"level": i % 5},
        "mixed": MIXED[i % len(MIXED)],
    }
    if i % 5:
        meta["tags"] = [["red"], ["red", "blue"], [], ["green", "blue"]][i % 4]
    if i % 7:
        meta["owner"] = OWNERS[i % 4]
    return meta


def _dataset() -> tuple[list[Chunk], np.ndarray, list[SparseVector]]:
    rng = np.random.default_rng(7)
    chunks = []
    for i in range(N):
        text = f"chunk {i} of doc {i // 4} — naïve café ✓"
        chunks.append(
            Chunk(
                id=f"{i:08d}" + "a" * 24,
                doc_id=f"docs/d{i // 4}.md",
                text=text,
                start=i * 10,
                end=i * 10 + len(text),
                metadata=_metadata(i, rng),
                parent_id=None if i % 3 else f"{i:08d}" + "b" * 24,
            )
        )
    dense = rng.standard_normal((N, DIM)).astype(np.float32)
    sparse = []
    for _ in range(N):
        terms = sorted(int(t) for t in rng.choice(VOCAB, size=int(rng.integers(2, 7)), replace=False))
        weights = [float(w) for w in rng.uniform(0.2, 2.0, size=len(terms))]
        sparse.append(SparseVector(tuple([*terms, ALWAYS_TERM]), tuple([*weights, 0.5])))
    return chunks, dense, sparse


CHUNKS, DENSE, SPARSE = _dataset()

FILTERS = [
    {"team": "platform"},
    {"team": ["platform", "security"]},
    {"team": {"ne": "data"}},
    {"year": {"gte": 2020, "lt": 2022}},
    {"year": {"gt": 2021, "lte": 2024}},
    {"year": 2021},
    {"year": 2021.5},
    {"year": {"in": [2018, 2021.5, "2019"]}},
    {"score": {"gt": 0.5}},
    {"flag": True},
    {"flag": False},
    {"owner": {"exists": True}},
    {"owner": {"exists": False}},
    {"owner": ""},
    {"tags": "red"},
    {"tags": {"in": ["green", "blue"]}},
    {"tags": {"exists": True}},
    {"mixed": 1},
    {"mixed": True},
    {"mixed": "1"},
    {"mixed": {"in": [True, "x", 0]}},
    {"mixed": {"gte": 1}},
    {"mixed": {"exists": True}},
    {"nested.level": {"gt": 2}},
    {"nested.level": 0},
    {"not": {"tags": "red"}},
    {"or": [{"team": "data"}, {"not": {"year": {"lt": 2021}}}]},
    {"and": [{"team": {"in": ["platform", "data"]}}, {"tags": {"exists": True}}, {"not": {"flag": True}}]},
    {"team": "security", "owner": {"exists": True}, "year": {"lte": 2021}},
]
EDGE_CASE_FILTERS = [({"no_such_field": "x"}, 0), ({"no_such_field": {"exists": False}}, N)]


def _location(root: Path, writable: bool = True) -> IndexLocation:
    """Generation ``g1`` of the index ``<root>/pipe/0123abcd``: a work generation, or published."""
    index_root = root / "pipe" / "0123abcd"
    return IndexLocation(folder=index_root / "generations" / "g1", root=index_root, writable=writable)


@pytest.fixture(params=list(STORES))
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store(kind: str, tmp_path: Path) -> Iterator[VectorStore]:
    s = STORES[kind](_location(tmp_path))
    yield s
    s.close()


@pytest.fixture
def filled(store: VectorStore) -> VectorStore:
    """A fresh store holding the dataset, for tests that change it."""
    store.upsert(CHUNKS, DENSE, SPARSE)
    store.flush()
    return store


@pytest.fixture(scope="module", params=list(STORES))
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VectorStore]:
    """One store per kind holding the dataset, shared by the read-only tests."""
    s = STORES[request.param](_location(tmp_path_factory.mktemp(request.param)))
    s.upsert(CHUNKS, DENSE, SPARSE)
    s.flush()
    yield s
    s.close()


def _ids(hits) -> list[str]:
    return [h.chunk.id for h in hits]


def _idf_scores(query: SparseVector, docs: list[SparseVector]) -> np.ndarray:
    """Qdrant's IDF modifier: sum over query terms of q * ln(1 + (N - df + 0.5) / (df + 0.5)) * d."""
    df: dict[int, int] = {}
    for d in docs:
        for t in d.indices:
            df[t] = df.get(t, 0) + 1
    scores = np.zeros(len(docs))
    for j, d in enumerate(docs):
        weights = dict(zip(d.indices, d.values, strict=True))
        for t, q in zip(query.indices, query.values, strict=True):
            if t in weights:
                scores[j] += q * math.log(1 + (len(docs) - df[t] + 0.5) / (df[t] + 0.5)) * weights[t]
    return scores


def test_protocol_and_empty_store(store: VectorStore) -> None:
    assert isinstance(store, VectorStore)
    assert type(store.config).supports_sparse  # declared on the config class, which check_stages reads
    assert store.count() == 0
    assert store.search_dense(DENSE[0], 5) == []
    assert store.search_sparse(SPARSE[0], 5) == []
    store.delete_documents(["docs/d0.md"])
    store.flush()
    assert store.count() == 0


def test_upsert_count_and_chunk_round_trip(shared: VectorStore) -> None:
    assert shared.count() == N
    hits = shared.search_dense(DENSE[5], N)
    by_id = {h.chunk.id: h.chunk for h in hits}
    assert len(by_id) == N
    for chunk in CHUNKS:  # repr tells 1 from 1.0 and True; == alone would not
        assert repr(by_id[chunk.id]) == repr(chunk)


def test_dense_search_equals_exact_cosine(shared: VectorStore) -> None:
    unit = DENSE / np.linalg.norm(DENSE, axis=1, keepdims=True)
    for q in range(0, N, 7):
        query = DENSE[q] * 3.0  # scale must not matter for cosine
        expected = np.argsort(-(unit @ unit[q]))[:10]
        hits = shared.search_dense(query, 10)
        assert _ids(hits) == [CHUNKS[i].id for i in expected]
        assert [h.score for h in hits] == pytest.approx([float(unit[i] @ unit[q]) for i in expected], abs=1e-4)


def test_sparse_search_equals_idf_weighted_dot_product(shared: VectorStore) -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        terms = sorted(int(t) for t in rng.choice(VOCAB, size=3, replace=False))
        query = SparseVector(tuple(terms), tuple(float(w) for w in rng.uniform(0.5, 2.0, size=3)))
        scores = _idf_scores(query, SPARSE)
        matching = int((scores > 0).sum())
        expected = [CHUNKS[i].id for i in np.argsort(-scores, kind="stable")[:matching]]
        hits = shared.search_sparse(query, N)
        assert _ids(hits) == expected
        assert [h.score for h in hits] == pytest.approx(sorted(scores[scores > 0], reverse=True), rel=1e-4)


def test_sparse_rare_term_ranks_first(store: VectorStore) -> None:
    sparse = [SparseVector((ALWAYS_TERM, 7), (1.0, 1.0)) for _ in range(N)]
    sparse[13] = SparseVector((ALWAYS_TERM, 99), (1.0, 1.0))  # term 99 only here
    store.upsert(CHUNKS, DENSE, sparse)
    hits = store.search_sparse(SparseVector((7, 99), (1.0, 1.0)), 3)
    assert hits[0].chunk.id == CHUNKS[13].id
    assert hits[0].score > hits[1].score


@pytest.mark.parametrize("spec", FILTERS, ids=[str(f) for f in FILTERS])
def test_filters_match_reference_on_both_legs(shared: VectorStore, spec: dict) -> None:
    expr = parse_filter(spec)
    expected = {c.id for c in CHUNKS if matches(expr, c.metadata)}
    assert 0 < len(expected) < N, f"test data does not exercise {spec}"
    assert set(_ids(shared.search_dense(DENSE[0], N, expr))) == expected
    everything = SparseVector((ALWAYS_TERM,), (1.0,))
    assert set(_ids(shared.search_sparse(everything, N, expr))) == expected


@pytest.mark.parametrize(("spec", "size"), EDGE_CASE_FILTERS, ids=[str(f) for f, _ in EDGE_CASE_FILTERS])
def test_filters_on_a_missing_field(shared: VectorStore, spec: dict, size: int) -> None:
    assert len(shared.search_dense(DENSE[0], N, parse_filter(spec))) == size


def test_filtered_top_k_is_the_best_matching(shared: VectorStore) -> None:
    expr = parse_filter({"team": "security"})
    unit = DENSE / np.linalg.norm(DENSE, axis=1, keepdims=True)
    allowed = [i for i, c in enumerate(CHUNKS) if matches(expr, c.metadata)]
    expected = sorted(allowed, key=lambda i: -float(unit[i] @ unit[2]))[:5]
    assert _ids(shared.search_dense(DENSE[2], 5, expr)) == [CHUNKS[i].id for i in expected]


def test_upsert_same_id_replaces(filled: VectorStore) -> None:
    old = CHUNKS[4]
    new = Chunk(old.id, old.doc_id, "replaced text", 0, 13, {"team": "moved", "year": 1999}, None)
    vector = -DENSE[4:5]
    filled.upsert([new], vector, [SparseVector((77,), (1.0,))])
    assert filled.count() == N
    top = filled.search_dense(vector[0], 1)[0]
    assert top.chunk == new and top.score == pytest.approx(1.0, abs=1e-4)
    assert _ids(filled.search_dense(DENSE[0], N, parse_filter({"team": "moved"}))) == [old.id]
    assert old.id not in _ids(filled.search_dense(DENSE[0], N, parse_filter({"team": old.metadata["team"]})))
    assert _ids(filled.search_sparse(SparseVector((77,), (1.0,)), 5)) == [old.id]


def test_upsert_without_sparse_vectors(store: VectorStore) -> None:
    store.upsert(CHUNKS[:10], DENSE[:10], None)
    assert store.count() == 10
    assert store.search_sparse(SPARSE[0], 5) == []
    assert len(store.search_dense(DENSE[0], 5)) == 5


def test_equal_scores_come_back_in_chunk_id_order_whatever_the_upsert_order(store: VectorStore) -> None:
    """Engines return ties in storage order, which depends on the index's history; ragpipe orders them by id."""
    twins = CHUNKS[:12]
    same_vector = np.tile(DENSE[0], (len(twins), 1))
    same_terms = [SparseVector((ALWAYS_TERM,), (1.0,))] * len(twins)
    shuffled = np.random.default_rng(3).permutation(len(twins))
    store.upsert([twins[i] for i in shuffled], same_vector, same_terms)
    store.flush()
    by_id = sorted(c.id for c in twins)
    assert _ids(store.search_dense(DENSE[0], len(twins))) == by_id
    assert _ids(store.search_sparse(SparseVector((ALWAYS_TERM,), (1.0,)), len(twins))) == by_id


def test_delete_documents_removes_every_chunk_of_a_doc(filled: VectorStore) -> None:
    gone = {"docs/d0.md", "docs/d3.md"}
    removed = [c.id for c in CHUNKS if c.doc_id in gone]
    assert len(removed) == 8
    filled.delete_documents([*sorted(gone), "docs/never-indexed.md"])
    filled.flush()
    assert filled.count() == N - len(removed)
    left = set(_ids(filled.search_dense(DENSE[0], N)))
    assert left == {c.id for c in CHUNKS} - set(removed)
    assert not set(_ids(filled.search_sparse(SparseVector((ALWAYS_TERM,), (1.0,)), N))) & set(removed)


def test_batch_shape_is_checked(store: VectorStore) -> None:
    with pytest.raises(RagpipeError, match="one row per chunk"):
        store.upsert(CHUNKS[:3], DENSE[:2], None)
    with pytest.raises(RagpipeError, match="sparse vectors"):
        store.upsert(CHUNKS[:3], DENSE[:3], SPARSE[:2])


def test_dimension_change_is_an_error(shared: VectorStore) -> None:
    with pytest.raises(RagpipeError, match="16"):
        shared.upsert(CHUNKS[:1], np.ones((1, DIM + 1), dtype=np.float32), None)


def test_concurrent_searches_and_writes(filled: VectorStore) -> None:
    errors: list[BaseException] = []

    def search(offset: int) -> None:
        try:
            for i in range(15):
                assert len(filled.search_dense(DENSE[(offset + i) % N], 5)) == 5
                filled.search_sparse(SPARSE[(offset + i) % N], 5)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    def write() -> None:
        try:
            for i in range(0, N, 10):
                filled.upsert(CHUNKS[i : i + 10], DENSE[i : i + 10], SPARSE[i : i + 10])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=search, args=(k * 11,)) for k in range(3)] + [threading.Thread(target=write)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert filled.count() == N


def test_close_is_idempotent_and_reopen_keeps_data(kind: str, tmp_path: Path) -> None:
    first = STORES[kind](_location(tmp_path))
    first.upsert(CHUNKS, DENSE, SPARSE)
    first.flush()
    first.close()
    first.close()
    second = STORES[kind](_location(tmp_path))
    try:
        if kind in PERSISTENT:
            assert second.count() == N
            assert _ids(second.search_dense(DENSE[9], 1)) == [CHUNKS[9].id]
            assert set(_ids(second.search_dense(DENSE[0], N, parse_filter({"flag": True})))) == {
                c.id for c in CHUNKS if c.metadata["flag"]
            }
        else:
            assert second.count() == 0
    finally:
        second.close()


@pytest.mark.parametrize("kind", PERSISTENT)
def test_a_published_generation_opens_and_checks_its_count(kind: str, tmp_path: Path) -> None:
    writer = STORES[kind](_location(tmp_path))
    writer.upsert(CHUNKS, DENSE, SPARSE)
    writer.flush()
    writer.close()
    published = STORES[kind](_location(tmp_path, writable=False))
    try:
        published.open(N)
        assert published.count() == N
        assert _ids(published.search_dense(DENSE[9], 1)) == [CHUNKS[9].id]
        assert _ids(published.search_sparse(SPARSE[9], 1)) == [CHUNKS[9].id]
    finally:
        published.close()
    short = STORES[kind](_location(tmp_path, writable=False))
    try:
        with pytest.raises(IndexDamagedError, match=f"holds {N} points but the catalog records {N + 1} chunks"):
            short.open(N + 1)
    finally:
        short.close()


@pytest.mark.parametrize("kind", PERSISTENT)
def test_a_published_generation_without_points_is_damaged(kind: str, tmp_path: Path) -> None:
    published = STORES[kind](_location(tmp_path, writable=False))
    try:
        with pytest.raises(IndexDamagedError) as err:
            published.open(3)
    finally:
        published.close()
    folder = _location(tmp_path).folder
    assert err.value.path == str(folder / ("qdrant-edge" if kind == "qdrant-edge" else "qdrant-local"))
    assert not folder.exists()  # nothing was written into the published generation


def test_exact_search_is_decided_when_the_store_is_built(kind: str, tmp_path: Path) -> None:
    """Local-mode Qdrant always searches brute force (no reason to report); qdrant-edge switches to exact
    search when the published generation recorded a chunk text repeated more than hnsw_m (16) times."""

    def reason(repeats: int) -> str | None:
        location = IndexLocation(_location(tmp_path).folder, _location(tmp_path).root, False, max_text_repeats=repeats)
        return STORES[kind](location).exact_search_reason()

    if kind == "qdrant-edge":
        assert reason(0) is None and reason(16) is None
        assert "occurs 17 times" in (reason(17) or "")
    else:
        assert reason(0) is None and reason(1000) is None
