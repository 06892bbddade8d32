"""EmbeddingCache and the ingest's CachedEmbedder over a temporary SQLite file.

The cache's behaviour does not depend on the model, so the deterministic ``hashing`` embedder stands in for it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from ragpipe.embedding.cache import CachedEmbedder, EmbeddingCache
from ragpipe.embedding.hashing import HashingEmbedder, HashingEmbedderConfig
from ragpipe.errors import RagpipeError
from ragpipe.testing import RecordingEmbedder

TEXTS = [
    "Aspirin inhibits platelet aggregation.",
    "The mitochondria is the powerhouse of the cell.",
    "Vitamin D deficiency is associated with bone loss.",
]
DIMENSION = 64


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder(HashingEmbedderConfig(dimension=DIMENSION))


def cached_over(inner: HashingEmbedder | RecordingEmbedder, folder: Path) -> CachedEmbedder:
    return CachedEmbedder(inner, EmbeddingCache(folder / "embeddings.sqlite"))


def test_second_call_computes_nothing(tmp_path: Path, embedder: HashingEmbedder) -> None:
    recorder = RecordingEmbedder(embedder)
    cached = cached_over(recorder, tmp_path)
    first = cached.embed_documents(TEXTS)
    assert (cached.computed, cached.reused) == (3, 0)
    second = cached.embed_documents(TEXTS)
    assert (cached.computed, cached.reused) == (3, 3)
    assert recorder.documents == TEXTS
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, embedder.embed_documents(TEXTS))
    assert first.dtype == np.float32 and first.shape == (3, DIMENSION) and first.flags.c_contiguous


def test_counts_are_per_run_while_the_file_is_shared(tmp_path: Path, embedder: HashingEmbedder) -> None:
    cached_over(embedder, tmp_path).embed_documents(TEXTS[:2])
    next_run = cached_over(embedder, tmp_path)
    next_run.embed_documents(TEXTS)
    assert (next_run.computed, next_run.reused) == (1, 2)
    assert next_run.cache.count(embedder.model_id) == 3


def test_duplicates_in_one_call_are_embedded_once(tmp_path: Path, embedder: HashingEmbedder) -> None:
    recorder = RecordingEmbedder(embedder)
    cached = cached_over(recorder, tmp_path)
    vectors = cached.embed_documents([TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[0]])
    assert recorder.documents == [TEXTS[0], TEXTS[1]]
    assert (cached.computed, cached.reused) == (2, 2)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_array_equal(vectors[0], vectors[3])


def test_mixed_hits_and_misses_keep_input_order(tmp_path: Path, embedder: HashingEmbedder) -> None:
    recorder = RecordingEmbedder(embedder)
    cached = cached_over(recorder, tmp_path)
    cached.embed_documents([TEXTS[1]])
    mixed = [TEXTS[2], TEXTS[1], "A brand new sentence about kidneys.", TEXTS[0]]
    vectors = cached.embed_documents(mixed)
    assert (cached.computed, cached.reused) == (4, 1)
    assert recorder.documents == [TEXTS[1], TEXTS[2], "A brand new sentence about kidneys.", TEXTS[0]]
    np.testing.assert_array_equal(vectors, embedder.embed_documents(mixed))


def test_vectors_of_another_model_id_are_not_reused(tmp_path: Path) -> None:
    plain = HashingEmbedder(HashingEmbedderConfig(dimension=DIMENSION))
    prefixed = RecordingEmbedder(
        HashingEmbedder(HashingEmbedderConfig(dimension=DIMENSION, document_prefix="passage: "))
    )
    cached_over(plain, tmp_path).embed_documents(TEXTS)
    second = cached_over(prefixed, tmp_path)
    second.embed_documents(TEXTS)
    assert prefixed.documents == TEXTS and second.computed == 3
    assert second.cache.count() == 6


def test_a_new_process_reuses_the_cache_file(tmp_path: Path, embedder: HashingEmbedder) -> None:
    here = cached_over(embedder, tmp_path).embed_documents(TEXTS)
    code = f"""
import json, sys
from pathlib import Path
from ragpipe.embedding.cache import CachedEmbedder, EmbeddingCache
from ragpipe.embedding.hashing import HashingEmbedder, HashingEmbedderConfig

class Refuse(HashingEmbedder):
    def embed_documents(self, texts):
        raise AssertionError(f"embedded again: {{texts}}")

inner = Refuse(HashingEmbedderConfig(dimension={DIMENSION}))
cached = CachedEmbedder(inner, EmbeddingCache(Path({str(tmp_path)!r}) / "embeddings.sqlite"))
vectors = cached.embed_documents(json.loads(sys.argv[1]))
print(json.dumps({{"computed": cached.computed, "reused": cached.reused, "vectors": vectors.tolist()}}))
"""
    run = subprocess.run(
        [sys.executable, "-c", code, json.dumps(TEXTS)], capture_output=True, text=True, check=True, timeout=120
    )
    result = json.loads(run.stdout)
    assert (result["computed"], result["reused"]) == (0, 3)
    np.testing.assert_array_equal(np.asarray(result["vectors"], dtype=np.float32), here)


def test_model_ids_do_not_collide(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    cache.put_many("model-a", TEXTS[:2], np.eye(2, 4, dtype=np.float32))
    cache.put_many("model-b", TEXTS[:1], np.full((1, 3), 0.5, dtype=np.float32))
    a = cache.get_many("model-a", TEXTS)
    b = cache.get_many("model-b", TEXTS)
    np.testing.assert_array_equal(a[0], [1, 0, 0, 0])
    np.testing.assert_array_equal(a[1], [0, 1, 0, 0])
    assert a[2] is None
    np.testing.assert_array_equal(b[0], [0.5, 0.5, 0.5])
    assert b[1] is None and b[2] is None
    assert (cache.count("model-a"), cache.count("model-b"), cache.count()) == (2, 1, 3)


def test_an_existing_entry_is_kept(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    cache.put_many("m", TEXTS[:1], np.ones((1, 2), dtype=np.float32))
    cache.put_many("m", TEXTS[:1], np.zeros((1, 2), dtype=np.float32))
    np.testing.assert_array_equal(cache.get_many("m", TEXTS[:1])[0], [1.0, 1.0])
    assert cache.count() == 1


def test_many_lookups_beyond_one_sql_batch(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    texts = [f"text number {i}" for i in range(1200)]
    vectors = np.arange(1200 * 2, dtype=np.float32).reshape(1200, 2)
    cache.put_many("m", texts[::2], vectors[::2])
    found = cache.get_many("m", texts)
    assert [v is None for v in found] == [i % 2 == 1 for i in range(1200)]
    np.testing.assert_array_equal(found[600], [1200.0, 1201.0])
    np.testing.assert_array_equal(found[1198], [2396.0, 2397.0])


def test_put_many_rejects_mismatched_shapes(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    with pytest.raises(ValueError, match=r"shape \(2, dim\)"):
        cache.put_many("m", TEXTS[:2], np.zeros((3, 4), dtype=np.float32))


def test_corrupt_cache_file_raises_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite"
    path.write_bytes(b"this is not a sqlite database" * 100)
    with pytest.raises(RagpipeError, match=r"embeddings\.sqlite.*delete the file"):
        EmbeddingCache(path).get_many("m", TEXTS)


def test_in_dir_names_the_shared_file(tmp_path: Path) -> None:
    cache = EmbeddingCache.in_dir(tmp_path / "cache")
    assert cache.path == tmp_path / "cache" / "embeddings.sqlite"
    cache.put_many("m", TEXTS[:1], np.ones((1, 2), dtype=np.float32))
    assert cache.path.is_file()


def test_concurrent_threads_embed_each_text_once(tmp_path: Path, embedder: HashingEmbedder) -> None:
    recorder = RecordingEmbedder(embedder)
    cached = cached_over(recorder, tmp_path)
    texts = [f"Sentence {i} about cells and proteins." for i in range(40)]
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(cached.embed_documents(texts))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(recorder.documents) == sorted(texts)
    assert (cached.computed, cached.reused) == (40, 120)
    assert len(results) == 4
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_queries_pass_straight_through(tmp_path: Path, embedder: HashingEmbedder) -> None:
    recorder = RecordingEmbedder(embedder)
    cached = cached_over(recorder, tmp_path)
    queries = ["what inhibits platelets?", "what inhibits platelets?"]
    vectors = cached.embed_queries(queries)
    cached.embed_queries(queries[:1])
    assert recorder.queries == [*queries, queries[0]]  # no query cache here (see QueryEmbedder)
    np.testing.assert_array_equal(vectors, embedder.embed_queries(queries))
    assert cached.cache.count() == 0 and (cached.computed, cached.reused) == (0, 0)


def test_empty_input_and_delegated_properties(tmp_path: Path, embedder: HashingEmbedder) -> None:
    cached = cached_over(embedder, tmp_path)
    assert cached.embed_documents([]).shape == (0, DIMENSION)
    assert cached.embed_queries([]).shape == (0, DIMENSION)
    assert cached.model_id == embedder.model_id and cached.dimension == DIMENSION
    assert cached.max_input_tokens is None
    assert cached.input_lengths(["two words", "three more words"]) == [2, 3]
