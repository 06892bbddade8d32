"""qdrant-sparse: BM25 term weights stored in the real Qdrant Edge store, IDF applied by the engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lexical_corpus import make_chunks, make_location

from ragpipe import registry
from ragpipe.errors import ConfigError, IndexDamagedError
from ragpipe.filters import matches, parse_filter
from ragpipe.lexical.bm25s_index import Bm25sConfig
from ragpipe.lexical.qdrant_sparse import QdrantSparseConfig, bm25_document_vector, bm25_query_vector, term_id
from ragpipe.lexical.tokenize import Tokenizer
from ragpipe.protocols import VectorStore

QUERIES = ["latency", "p95 latency alerts", "kubernetes nodes", "rotate keys", "failed run", "v2 schema"]


def store_config() -> Any:
    return registry.get("store", "qdrant-edge").config_cls()


def dense_rows(n: int) -> np.ndarray:
    """Fixed unit vectors: the dense leg is not under test here."""
    rows = np.random.default_rng(7).standard_normal((n, 8)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


Pair = tuple[VectorStore, Any]


def open_pair(index_dir: Path, writable: bool = True, **lexical: Any) -> Pair:
    """The store and qdrant-sparse index of one generation folder, built as the factory builds them."""
    location = make_location(index_dir, writable)
    store = registry.build("store", store_config(), {"location": location})
    return store, registry.build("lexical", QdrantSparseConfig(**lexical), {"location": location, "store": store})


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("qdrant-sparse")


@pytest.fixture(scope="module")
def ingested(folder: Path) -> Iterator[Pair]:
    """The corpus written to a real qdrant-edge store with qdrant-sparse vectors, as the pipeline does."""
    store, index = open_pair(folder)
    chunks = make_chunks()
    for part in (chunks[:12], chunks[12:]):  # two batches: the second reuses the first batch's avg_len
        store.upsert(part, dense_rows(len(part)), index.encode(part))
    index.rebuild(iter(chunks))
    store.flush()
    yield store, index
    store.close()


def test_encode_gives_bm25_term_frequency_weights() -> None:
    tokens = ["latenc", "alert", "latenc", "p95"]
    vec = bm25_document_vector(tokens, k1=1.2, b=0.75, avg_len=8.0)
    norm = 1.2 * (1 - 0.75 + 0.75 * 4 / 8.0)
    expected = {term_id("latenc"): 2 * 2.2 / (2 + norm), term_id("alert"): 2.2 / (1 + norm)}
    expected[term_id("p95")] = 2.2 / (1 + norm)
    assert list(vec.indices) == sorted(expected)
    assert dict(zip(vec.indices, vec.values, strict=True)) == pytest.approx(expected)
    query = bm25_query_vector(["latenc", "p95", "latenc"])
    assert dict(zip(query.indices, query.values, strict=True)) == {term_id("latenc"): 2.0, term_id("p95"): 1.0}


def test_avg_len_is_measured_on_the_first_batch_and_persisted(folder: Path, ingested: Pair) -> None:
    store, _ = ingested
    tokens = Tokenizer().tokenize_many([c.text for c in make_chunks()[:12]])
    state = json.loads((folder / "qdrant_sparse.json").read_text())
    assert state == {"avg_len": pytest.approx(sum(map(len, tokens)) / 12), "measured_on_chunks": 12}
    # a later object (a re-ingest) encodes with the persisted value, not with its own batch's length
    location = make_location(folder)
    later = registry.build("lexical", QdrantSparseConfig(), {"location": location, "store": store})
    chunk = make_chunks()[-1]
    tokens = Tokenizer().tokenize(chunk.text)
    assert later.encode([chunk]) == [bm25_document_vector(tokens, 1.2, 0.75, state["avg_len"])]
    fixed = registry.build("lexical", QdrantSparseConfig(avg_len=3.0), {"location": location, "store": store})
    assert fixed.encode([chunk]) == [bm25_document_vector(tokens, 1.2, 0.75, 3.0)]
    assert fixed.encode([]) == []


def test_open_reads_the_persisted_avg_len_and_reports_a_damaged_file(tmp_path: Path) -> None:
    (tmp_path / "qdrant_sparse.json").write_text(json.dumps({"avg_len": 4.5}))
    _, index = open_pair(tmp_path, writable=False)
    index.open()
    assert index.average_length() == 4.5
    (tmp_path / "qdrant_sparse.json").write_text(json.dumps({"avg_len": -1}))
    _, damaged = open_pair(tmp_path, writable=False)
    with pytest.raises(IndexDamagedError, match="'avg_len' must be a positive number") as err:
        damaged.open()
    assert err.value.path == str(tmp_path / "qdrant_sparse.json")
    _, fixed = open_pair(tmp_path, writable=False, avg_len=3.0)
    fixed.open()  # the config fixes avg_len: the file is not read
    assert fixed.average_length() == 3.0


def test_avg_len_without_a_first_batch_is_a_config_error(tmp_path: Path) -> None:
    _, index = open_pair(tmp_path)
    index.open()  # nothing persisted yet: nothing to check
    with pytest.raises(ConfigError, match=r"lexical\.avg_len is not set"):
        index.average_length()
    assert not (tmp_path / "qdrant_sparse.json").exists()


def test_rare_term_ranks_first_and_rebuild_is_a_no_op(ingested: Pair) -> None:
    _, index = ingested
    hits = index.search("Which kubernetes nodes autoscale?", 5)
    assert hits[0].chunk.id == "misc/kubernetes.md#0"
    assert hits[0].chunk == next(c for c in make_chunks() if c.id == hits[0].chunk.id)
    assert index.search("p95", 5)[0].chunk.id == "runbooks/latency.md#0"
    assert index.search("zebra", 5) == []
    assert index.search("the of", 5) == []


def test_scores_are_exact_bm25_like_bm25s(tmp_path: Path) -> None:
    """Same tokenizer, Lucene IDF from the engine, same avg_len when encoded in one batch: the scores
    equal bm25s's "lucene" scores times (k1 + 1), the factor bm25s leaves out."""
    store, index = open_pair(tmp_path)
    chunks = make_chunks()
    store.upsert(chunks, dense_rows(len(chunks)), index.encode(chunks))
    store.flush()
    reference = registry.build("lexical", Bm25sConfig(), {"location": make_location(tmp_path / "bm25s")})
    reference.rebuild(chunks)
    for query in QUERIES:
        ours = [(h.chunk.id, h.score) for h in index.search(query, 20)]
        theirs = [(h.chunk.id, h.score * 2.2) for h in reference.search(query, 20)]
        assert ours and [s for _, s in ours] == sorted((s for _, s in ours), reverse=True)
        assert dict(ours) == pytest.approx(dict(theirs), rel=1e-4), query  # ties may come in another order
    store.close()


def test_filters_run_inside_the_engine_before_top_k(ingested: Pair) -> None:
    _, index = ingested
    assert index.search("latency", 1)[0].chunk.metadata["team"] == "platform"
    hits = index.search("latency", 3, parse_filter({"team": "search"}))
    assert len(hits) == 3 and all(h.chunk.metadata["team"] == "search" for h in hits)
    for spec in ({"tags": "ops"}, {"year": {"gte": 2023}}, {"not": {"team": "platform"}}):
        expr = parse_filter(spec)
        got = index.search("latency run keys schema", 50, expr)
        everything = index.search("latency run keys schema", 50)
        expected = {h.chunk.id: h.score for h in everything if matches(expr, h.chunk.metadata)}
        assert got and {h.chunk.id: h.score for h in got} == pytest.approx(expected)


def test_the_published_generation_returns_the_same_results(folder: Path, ingested: Pair) -> None:
    store, index = ingested
    before = [[(h.chunk.id, h.score) for h in index.search(q, 5)] for q in QUERIES]
    store.close()
    published, again = open_pair(folder, writable=False)
    try:
        published.open(len(make_chunks()))
        again.open()
        assert [[(h.chunk.id, h.score) for h in again.search(q, 5)] for q in QUERIES] == before
    finally:
        published.close()
