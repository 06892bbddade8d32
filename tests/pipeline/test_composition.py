"""How the stages are put together: compatibility checked at build, models shared per process, the persistent
embedding cache reserved to ingest, plugins registered late, per-ingest counts."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from ragpipe import Pipeline, registry
from ragpipe.config.loading import load_config
from ragpipe.config.settings import RuntimeSettings
from ragpipe.config.stages import ChunkerConfig, StoreConfig
from ragpipe.embedding.hashing import HashingEmbedder, HashingEmbedderConfig
from ragpipe.errors import ConfigError
from ragpipe.model_pool import shared_models
from ragpipe.types import Chunk, Document

QUESTION = "How long does a full restore of the orders database take?"


class DenseOnlyStoreConfig(StoreConfig):
    """A store plugin without sparse vectors (it is never opened here: the check happens at build)."""

    type: Literal["test-dense-only"] = "test-dense-only"


@registry.register("store", config=DenseOnlyStoreConfig)
class DenseOnlyStore:
    def __init__(self, config: DenseOnlyStoreConfig) -> None:
        self.config = config


def test_a_lexical_engine_that_needs_sparse_vectors_is_refused_on_a_store_without_them(config: dict) -> None:
    with pytest.raises(ConfigError) as raised:
        Pipeline(load_config({**config, "store": {"type": "test-dense-only"}, "lexical": {"type": "qdrant-sparse"}}))
    message = str(raised.value)
    assert message.startswith("lexical.type: 'qdrant-sparse'") and "store.type 'test-dense-only'" in message
    assert "qdrant, qdrant-edge" in message  # the stores that have sparse vectors, from the registry
    Pipeline(load_config({**config, "store": {"type": "test-dense-only"}, "lexical": {"type": "bm25s"}}))


def test_a_store_that_cannot_keep_a_published_index_is_refused(config: dict) -> None:
    with pytest.raises(ConfigError, match=r"store\.location: 'memory' keeps points only while one store object"):
        Pipeline(load_config({**config, "store": {"type": "qdrant", "location": "memory"}}))


def test_chunks_longer_than_the_embedder_reads_are_refused_unless_truncation_is_accepted(config: dict) -> None:
    with pytest.raises(ConfigError) as raised:
        Pipeline(load_config(config, ["chunking.type=markdown", "chunking.chunk_size=400"]))
    message = str(raised.value)
    assert "chunks of up to 400 tokens" in message and "(256 of its own tokens" in message
    assert "chunking.chunk_size: 256" in message and "embedding.allow_truncation: true" in message
    accepted = Pipeline(load_config(config, ["chunking.chunk_size=400", "embedding.allow_truncation=true"]))
    assert accepted.stage_notes and "accepted: embedding.allow_truncation is true" in accepted.stage_notes[0]
    default_markdown = Pipeline(load_config(config, ["chunking.type=markdown"]))
    assert default_markdown.stage_notes == []  # its default size fits the bundled model


def test_chunks_the_embedder_would_cut_are_split_to_fit_unless_the_cut_is_accepted(
    tmp_path: Path, settings: RuntimeSettings
) -> None:
    """cl100k and word-piece counts differ: a chunk within ``chunk_size`` can still be longer than the model
    reads. Such chunks are split into pieces that fit (every token reaches the dense vector), or, with
    ``allow_truncation``, kept and counted."""
    corpus = tmp_path / "long"
    corpus.mkdir()
    # shell commands: ~1.5 word pieces per cl100k token, so 60-token chunks hold ~90 word pieces
    words = " ".join(f"Run kubectl rollout restart deployment/payments-api-{i} -n prod-eu-west-{i}." for i in range(60))
    (corpus / "ledger.txt").write_text(words + "\n", encoding="utf-8")
    config = {"name": "long", "sources": [{"path": str(corpus)}], "embedding": {"max_length": 64}}
    overrides = ["chunking.type=token", "chunking.chunk_size=60", "chunking.chunk_overlap=0"]
    with Pipeline.from_config(config, overrides, settings=settings) as rag:
        report = rag.ingest(progress=False)
        (note,) = [n for n in report.notes if "longer than the embedder reads" in n.reason]
        assert note.path == "ledger.txt" and "split into pieces that fit" in note.reason
        with rag.index() as state:
            assert state.catalog is not None
            chunks = list(state.catalog.iter_chunks())
        embedder = rag.models.embedder(rag.config.embedding, rag.settings)
        assert max(embedder.input_lengths([c.text for c in chunks])) <= 64
        assert any("fitted_from" in c.metadata for c in chunks)
        text = (corpus / "ledger.txt").read_text(encoding="utf-8")
        covered = {i for c in chunks for i in range(c.start, c.end)}
        assert all(text[c.start : c.end] == c.text for c in chunks)
        assert all(i in covered for i, char in enumerate(text) if not char.isspace())
    accepted = {**config, "name": "long-cut", "embedding": {"max_length": 64, "allow_truncation": True}}
    with Pipeline.from_config(accepted, overrides, settings=settings) as rag:
        report = rag.ingest(progress=False)
    (note,) = [n for n in report.notes if "longer than the embedder reads" in n.reason]
    assert "their ends are missing from the dense vectors" in note.reason


def test_query_time_vectors_never_reach_the_persistent_embedding_cache(config: dict, settings: RuntimeSettings) -> None:
    with Pipeline.from_config(config, settings=settings) as rag:
        report = rag.ingest(progress=False)
        cache = settings.resolved_cache_dir / "embeddings.sqlite"
        with sqlite3.connect(cache) as conn:
            before = conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        assert before == report.chunks_embedded > 0
        for question in (QUESTION, "who approves access reviews", "when are signing keys rotated"):
            assert rag.query(question).answer.text  # embeds the query and the answer's candidate sentences
        with sqlite3.connect(cache) as conn:
            assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == before


class GatedHashingConfig(HashingEmbedderConfig):
    type: Literal["test-gated-hashing"] = "test-gated-hashing"  # type: ignore[assignment]


GATE = threading.Event()
INGEST_BLOCKED = threading.Event()


@registry.register("embedder", config=GatedHashingConfig)
class GatedHashingEmbedder(HashingEmbedder):
    """The hashing embedder, except that document batches of the thread named ``ingest`` wait for GATE."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if threading.current_thread().name == "ingest":
            INGEST_BLOCKED.set()
            assert GATE.wait(timeout=60)
        return super().embed_documents(texts)


def test_a_query_during_an_ingest_does_not_wait_for_the_ingest_batch(config: dict, settings: RuntimeSettings) -> None:
    config = {**config, "embedding": {"type": "test-gated-hashing"}}
    with Pipeline.from_config(config, settings=settings) as rag:
        GATE.set()
        rag.ingest(progress=False)
        (Path(rag.config.sources[0].path) / "ops" / "new.txt").write_text("A new note about restores.\n")
        GATE.clear()
        INGEST_BLOCKED.clear()
        worker = threading.Thread(target=lambda: rag.ingest(progress=False), name="ingest")
        worker.start()
        try:
            assert INGEST_BLOCKED.wait(timeout=60)  # the ingest holds its batch in the embedder now
            result = rag.query(QUESTION)  # embeds the query and the answer's sentences: must not wait
            assert result.chunks[0].chunk.doc_id == "ops/backups.md" and result.answer.text
        finally:
            GATE.set()
            worker.join(timeout=60)


def test_pipelines_of_one_process_share_one_model(config: dict, settings: RuntimeSettings) -> None:
    with (
        Pipeline.from_config(config, settings=settings) as first,
        Pipeline.from_config({**config, "name": "other"}, settings=settings) as second,
    ):
        assert first.models is second.models is shared_models()
        embedding = first.config.embedding
        assert first.models.embedder(embedding, settings) is second.models.embedder(second.config.embedding, settings)


def test_chunks_embedded_counts_each_ingest_only(tmp_path: Path, settings: RuntimeSettings) -> None:
    corpora = {}
    for name in ("left", "right"):
        root = tmp_path / name
        root.mkdir()
        for i in range(12):
            (root / f"{name}-{i}.txt").write_text(f"{name} note {i}: " + f"{name} words {i} " * 20 + "\n")
        corpora[name] = {"name": name, "sources": [{"path": str(root)}], "embedding": {"type": "hashing"}}
    reports = {}

    def ingest(name: str) -> None:
        with Pipeline.from_config(corpora[name], settings=settings) as rag:
            reports[name] = rag.ingest(progress=False)

    threads = [threading.Thread(target=ingest, args=(name,)) for name in corpora]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for report in reports.values():
        assert report.chunks_embedded == report.chunks_indexed == report.texts_embedded > 0


class LineChunkerConfig(ChunkerConfig):
    type: Literal["test-lines"] = "test-lines"


def test_a_stage_registered_after_the_first_config_load_is_accepted(config: dict) -> None:
    load_config(config)  # builds the config model once
    with pytest.raises(ConfigError, match="'test-lines' is not a registered type"):
        load_config(config, ["chunking.type=test-lines"])

    @registry.register("chunker", config=LineChunkerConfig)
    class LineChunker:
        def __init__(self, config: LineChunkerConfig) -> None:
            self.config = config

        def chunk(self, document: Document) -> list[Chunk]:
            return []

    assert load_config(config, ["chunking.type=test-lines"]).chunking.type == "test-lines"
