"""QueryEmbedder: the query-time in-memory LRU in front of an embedder (queries and documents, never on disk)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ragpipe.embedding.hashing import HashingEmbedder, HashingEmbedderConfig
from ragpipe.embedding.memory_cache import DEFAULT_SIZE, QueryEmbedder

Q1, Q2, Q3 = "what inhibits platelets?", "what powers the cell?", "vitamin d and bones"


class CallRecorder(HashingEmbedder):
    """The hashing embedder, recording what it is asked to embed."""

    def __init__(self, config: HashingEmbedderConfig) -> None:
        super().__init__(config)
        self.documents: list[str] = []
        self.queries: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents.extend(texts)
        return super().embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries.extend(texts)
        return super().embed_queries(texts)


@pytest.fixture
def inner() -> CallRecorder:
    return CallRecorder(HashingEmbedderConfig(dimension=32, query_prefix="query: "))


def test_repeated_queries_are_served_from_memory(inner: CallRecorder) -> None:
    embedder = QueryEmbedder(inner, size=2)
    first = embedder.embed_queries([Q1, Q2, Q1])
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(first, inner.embed_queries([Q1, Q2, Q1]))
    inner.queries.clear()
    embedder.embed_queries([Q1])
    assert inner.queries == []


def test_least_recently_used_is_evicted(inner: CallRecorder) -> None:
    embedder = QueryEmbedder(inner, size=2)
    embedder.embed_queries([Q1, Q2])
    embedder.embed_queries([Q1])  # Q1 is now the most recently used
    embedder.embed_queries([Q3])  # evicts Q2
    embedder.embed_queries([Q1, Q2])
    assert inner.queries == [Q1, Q2, Q3, Q2]


def test_documents_and_queries_are_cached_apart(inner: CallRecorder) -> None:
    embedder = QueryEmbedder(inner)
    as_query = embedder.embed_queries([Q1])
    as_document = embedder.embed_documents([Q1])
    assert inner.queries == [Q1] and inner.documents == [Q1]
    assert not np.allclose(as_query, as_document)  # the query prefix makes them differ
    embedder.embed_documents([Q1])
    embedder.embed_queries([Q1])
    assert inner.queries == [Q1] and inner.documents == [Q1]


def test_size_zero_caches_nothing_but_still_answers(inner: CallRecorder) -> None:
    embedder = QueryEmbedder(inner, size=0)
    vectors = embedder.embed_queries([Q1, Q1])
    embedder.embed_queries([Q1])
    assert inner.queries == [Q1, Q1]  # each call embeds once, nothing kept between calls
    np.testing.assert_array_equal(vectors[0], vectors[1])
    with pytest.raises(ValueError, match="size must be >= 0"):
        QueryEmbedder(inner, size=-1)


def test_empty_input_and_delegated_properties(inner: CallRecorder) -> None:
    embedder = QueryEmbedder(inner)
    assert embedder.size == DEFAULT_SIZE == 4096
    assert embedder.embed_queries([]).shape == (0, 32) and embedder.embed_documents([]).shape == (0, 32)
    assert inner.queries == [] and inner.documents == []
    assert (embedder.model_id, embedder.dimension) == (inner.model_id, 32)
    assert embedder.max_input_tokens is None and embedder.input_lengths(["a b c"]) == [3]


def test_concurrent_callers_get_the_same_vectors(inner: CallRecorder) -> None:
    embedder = QueryEmbedder(inner, size=16)
    texts = [f"question {i} about cells" for i in range(40)]  # more than fit: evictions while threads read
    expected = inner.embed_queries(texts)
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(embedder.embed_queries(texts))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_nothing_is_written_to_disk(tmp_path: Path, inner: CallRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    embedder = QueryEmbedder(inner)
    embedder.embed_queries([Q1, Q2])
    embedder.embed_documents([Q3])
    assert list(tmp_path.iterdir()) == []
