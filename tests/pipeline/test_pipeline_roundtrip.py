"""End-to-end behaviour of Pipeline: ingest -> query with the real bundled model and stores."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ragpipe import Pipeline
from ragpipe.config.settings import RuntimeSettings
from ragpipe.errors import ConfigError, IndexNotFoundError

QUESTION = "How long does a restore of the orders database take?"


def test_ingest_then_query_answers_with_citations(config: dict, tiny_docs: dict, settings: RuntimeSettings) -> None:
    with Pipeline.from_config(config, settings=settings) as pipeline:
        report = pipeline.ingest()
        assert (report.documents_indexed, report.failed) == (len(tiny_docs), 0)
        assert report.chunks_indexed >= len(tiny_docs) and report.chunks_embedded == report.chunks_indexed
        result = pipeline.query(QUESTION)
    top = result.chunks[0]
    assert top.chunk.doc_id == "ops/backups.md"
    assert set(top.leg_ranks) == {"dense", "lexical"}
    assert top.chunk.metadata["team"] == "platform" and top.chunk.metadata["collection"] == "tiny"
    assert "40 minutes" in result.answer.text
    citation = result.answer.citations[0]
    assert citation.doc_id == "ops/backups.md"
    assert citation.text in top.chunk.text or any(citation.text in s.chunk.text for s in result.chunks)
    assert {"embed_query", "dense", "lexical", "fusion", "rerank", "answer", "total"} <= set(result.timings)


def test_chunk_offsets_index_the_document_text(config: dict, corpus: Path, settings: RuntimeSettings) -> None:
    with Pipeline.from_config(config, settings=settings) as pipeline:
        pipeline.ingest()
        with pipeline.index() as state:
            assert state.catalog is not None
            chunks = list(state.catalog.iter_chunks())
        result = pipeline.query("dormant accounts access review", top_k=3)
    assert result.chunks[0].chunk.doc_id == "security/access.html"
    for chunk in chunks:
        source = (corpus / chunk.doc_id).read_text(encoding="utf-8")
        if chunk.doc_id.endswith(".txt"):
            assert source[chunk.start : chunk.end] == chunk.text
        elif chunk.doc_id.endswith(".md"):
            body = source.split("---\n", 2)[2]
            assert chunk.text in body and body.find(chunk.text) <= chunk.start <= len(body)


def test_filters_apply_to_every_leg(config: dict, settings: RuntimeSettings) -> None:
    with Pipeline.from_config(config, settings=settings) as pipeline:
        pipeline.ingest()
        for mode in ("dense", "lexical", "hybrid"):
            # Without the filter the backups document wins; "days" also occurs in the security documents.
            result = pipeline.query(QUESTION + " In days?", filters={"team": "security"}, mode=mode, top_k=10)
            assert result.chunks, mode
            assert {s.chunk.metadata["team"] for s in result.chunks} == {"security"}, mode
        recent = pipeline.query("rotation", filters="{year: {gte: 2024}}", top_k=10)
        assert all(s.chunk.metadata["year"] >= 2024 for s in recent.chunks)
        none = pipeline.query(QUESTION, filters={"team": "nobody"})
        assert none.chunks == () and none.answer.text == ""


def test_reingest_skips_unchanged_and_replaces_changed(
    config: dict, corpus: Path, tiny_docs: dict, settings: RuntimeSettings
) -> None:
    with Pipeline.from_config(config, settings=settings) as pipeline:
        first = pipeline.ingest()
        again = pipeline.ingest()
        assert (again.documents_unchanged, again.documents_indexed, again.chunks_embedded) == (len(tiny_docs), 0, 0)
        (corpus / "ops/oncall.txt").write_text("On-call shifts now last two weeks and start on Wednesday.\n")
        (corpus / "security/keys.md").unlink()
        changed = pipeline.ingest()
        assert (changed.documents_indexed, changed.documents_deleted) == (1, 1)
        with pipeline.index() as state:
            assert state.catalog is not None and state.store is not None
            assert state.catalog.count_documents() == state.facts.documents == len(tiny_docs) - 1
            assert state.catalog.count_chunks() < first.chunks_indexed
            assert state.store.count() == state.catalog.count_chunks()
        hits = pipeline.query("how long is an on-call shift", top_k=10)
        texts = " ".join(s.chunk.text for s in hits.chunks)
        assert "two weeks" in texts and "one week" not in texts
        assert all(s.chunk.doc_id != "security/keys.md" for s in hits.chunks)


def test_query_before_ingest_and_bad_arguments(config: dict, settings: RuntimeSettings) -> None:
    with Pipeline.from_config(config, settings=settings) as pipeline:
        with pytest.raises(IndexNotFoundError, match="ragpipe ingest"):
            pipeline.query(QUESTION)
        pipeline.ingest()
        with pytest.raises(ConfigError, match="mode"):
            pipeline.query(QUESTION, mode="fuzzy")
        with pytest.raises(ConfigError, match="unknown operator"):
            pipeline.query(QUESTION, filters={"year": {"after": 1}})


def test_concurrent_queries_match_sequential(config: dict, settings: RuntimeSettings) -> None:
    questions = [QUESTION, "who approves access reviews", "page acknowledgement time", "signing key rotation"] * 4
    with Pipeline.from_config(config, settings=settings) as pipeline:
        pipeline.ingest()
        expected = [[s.chunk.id for s in pipeline.query(q).chunks] for q in questions]
        with ThreadPoolExecutor(max_workers=6) as pool:
            got = list(pool.map(lambda q: [s.chunk.id for s in pipeline.query(q).chunks], questions))
    assert got == expected


@pytest.mark.parametrize(
    "overrides",
    [
        ["store.type=qdrant"],
        ["lexical.type=qdrant-sparse"],
        ["lexical.type=rank-bm25", "retrieval.fusion.type=convex", "retrieval.fusion.weight=0.6"],
        ["chunking.type=markdown"],
        ["chunking.type=token", "chunking.chunk_size=40", "chunking.chunk_overlap=5"],
    ],
)
def test_alternative_stages_answer_the_same_question(
    config: dict, settings: RuntimeSettings, overrides: list[str]
) -> None:
    with Pipeline.from_config(config, overrides, settings=settings) as pipeline:
        pipeline.ingest()
        result = pipeline.query(QUESTION, top_k=3)
    assert result.chunks[0].chunk.doc_id == "ops/backups.md"


def test_changed_source_metadata_reindexes_without_reembedding(config: dict, settings: RuntimeSettings) -> None:
    with Pipeline.from_config(config, settings=settings) as pipeline:
        first = pipeline.ingest()
    config["sources"][0]["metadata"] = {"collection": "renamed"}
    with Pipeline.from_config(config, settings=settings) as pipeline:
        report = pipeline.ingest()
        assert report.documents_indexed == first.documents_indexed and report.chunks_embedded == 0
        result = pipeline.query(QUESTION, filters={"collection": "renamed"})
    assert result.chunks and all(s.chunk.metadata["collection"] == "renamed" for s in result.chunks)
