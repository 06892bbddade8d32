"""EmbeddingCache and CachedEmbedder with the real ONNX embedder (fast) over a temporary SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ragpipe.config.settings import RuntimeSettings
from ragpipe.context import BuildContext
from ragpipe.embedding.cache import CachedEmbedder, EmbeddingCache
from ragpipe.embedding.onnx import OnnxConfig, OnnxEmbedder
from ragpipe.errors import RagpipeError

TEXTS = [
    "Aspirin inhibits platelet aggregation.",
    "The mitochondria is the powerhouse of the cell.",
    "Vitamin D deficiency is associated with bone loss.",
]


class CallRecorder:
    """Wraps a real embedder and records the texts it was asked to embed."""

    def __init__(self, inner: OnnxEmbedder) -> None:
        self.inner = inner
        self.documents: list[str] = []
        self.queries: list[str] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries.extend(texts)
        return self.inner.embed_queries(texts)


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    root = tmp_path_factory.mktemp("onnx")
    return OnnxEmbedder(OnnxConfig(), BuildContext(RuntimeSettings(), index_dir=root, cache_dir=root))


def test_second_call_computes_nothing(tmp_path: Path, onnx_embedder: OnnxEmbedder) -> None:
    recorder = CallRecorder(onnx_embedder)
    cached = CachedEmbedder(recorder, EmbeddingCache(tmp_path / "embeddings.sqlite"))
    first = cached.embed_documents(TEXTS)
    assert (cached.computed, cached.reused) == (3, 0)
    second = cached.embed_documents(TEXTS)
    assert (cached.computed, cached.reused) == (3, 3)
    assert recorder.documents == TEXTS
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, onnx_embedder.embed_documents(TEXTS), atol=1e-6)
    assert first.dtype == np.float32 and first.shape == (3, 384)


def test_duplicates_in_one_call_are_embedded_once(tmp_path: Path, onnx_embedder: OnnxEmbedder) -> None:
    recorder = CallRecorder(onnx_embedder)
    cached = CachedEmbedder(recorder, EmbeddingCache(tmp_path / "embeddings.sqlite"))
    vectors = cached.embed_documents([TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[0]])
    assert recorder.documents == [TEXTS[0], TEXTS[1]]
    assert (cached.computed, cached.reused) == (2, 2)
    np.testing.assert_array_equal(vectors[0], vectors[2])


def test_mixed_hits_and_misses_keep_input_order(tmp_path: Path, onnx_embedder: OnnxEmbedder) -> None:
    cached = CachedEmbedder(onnx_embedder, EmbeddingCache(tmp_path / "embeddings.sqlite"))
    cached.embed_documents([TEXTS[1]])
    mixed = [TEXTS[2], TEXTS[1], "A brand new sentence about kidneys.", TEXTS[0]]
    vectors = cached.embed_documents(mixed)
    assert (cached.computed, cached.reused) == (4, 1)
    np.testing.assert_allclose(vectors, onnx_embedder.embed_documents(mixed), atol=1e-6)


def test_a_new_process_reuses_the_cache_file(tmp_path: Path, onnx_embedder: OnnxEmbedder) -> None:
    path = tmp_path / "embeddings.sqlite"
    here = CachedEmbedder(onnx_embedder, EmbeddingCache(path)).embed_documents(TEXTS)
    code = f"""
import json, sys
from pathlib import Path
from ragpipe.config.settings import RuntimeSettings
from ragpipe.context import BuildContext
from ragpipe.embedding.cache import CachedEmbedder, EmbeddingCache
from ragpipe.embedding.onnx import OnnxConfig, OnnxEmbedder
root = Path({str(tmp_path)!r})
inner = OnnxEmbedder(OnnxConfig(), BuildContext(RuntimeSettings(), index_dir=root, cache_dir=root))
cached = CachedEmbedder(inner, EmbeddingCache(root / "embeddings.sqlite"))
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


def test_many_lookups_beyond_one_sql_batch(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    texts = [f"text number {i}" for i in range(1200)]
    vectors = np.arange(1200 * 2, dtype=np.float32).reshape(1200, 2)
    cache.put_many("m", texts[::2], vectors[::2])
    found = cache.get_many("m", texts)
    assert [v is None for v in found] == [i % 2 == 1 for i in range(1200)]
    np.testing.assert_array_equal(found[600], vectors[600])


def test_put_many_rejects_mismatched_shapes(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    with pytest.raises(ValueError, match=r"shape \(2, dim\)"):
        cache.put_many("m", TEXTS[:2], np.zeros((3, 4), dtype=np.float32))


def test_corrupt_cache_file_raises_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite"
    path.write_bytes(b"this is not a sqlite database" * 100)
    with pytest.raises(RagpipeError, match=r"embeddings\.sqlite"):
        EmbeddingCache(path).get_many("m", TEXTS)


def test_concurrent_threads_embed_each_text_once(tmp_path: Path, onnx_embedder: OnnxEmbedder) -> None:
    recorder = CallRecorder(onnx_embedder)
    cached = CachedEmbedder(recorder, EmbeddingCache(tmp_path / "embeddings.sqlite"))
    texts = [f"Sentence {i} about cells and proteins." for i in range(40)]
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(cached.embed_documents(texts))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(recorder.documents) == sorted(texts)
    assert (cached.computed, cached.reused) == (40, 120)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_queries_use_an_in_memory_lru_only(tmp_path: Path, onnx_embedder: OnnxEmbedder) -> None:
    recorder = CallRecorder(onnx_embedder)
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    cached = CachedEmbedder(recorder, cache, query_cache_size=2)
    q1, q2, q3 = "what inhibits platelets?", "what powers the cell?", "vitamin d and bones"
    first = cached.embed_queries([q1, q2, q1])
    np.testing.assert_array_equal(first[0], first[2])
    cached.embed_queries([q1])
    assert recorder.queries == [q1, q2]
    cached.embed_queries([q3])  # evicts q2, the least recently used
    cached.embed_queries([q1, q2])
    assert recorder.queries == [q1, q2, q3, q2]
    assert cache.count() == 0 and (cached.computed, cached.reused) == (0, 0)


def test_empty_input(tmp_path: Path, onnx_embedder: OnnxEmbedder) -> None:
    cached = CachedEmbedder(onnx_embedder, EmbeddingCache(tmp_path / "embeddings.sqlite"))
    assert cached.embed_documents([]).shape == (0, 384)
    assert cached.embed_queries([]).shape == (0, 384)
    assert cached.model_id == onnx_embedder.model_id and cached.dimension == 384
