"""The ``none`` reranker keeps retrieval's order, scores and legs."""

from __future__ import annotations

from pathlib import Path

from ragpipe import registry
from ragpipe.config.settings import RuntimeSettings
from ragpipe.context import BuildContext
from ragpipe.rerank.none import NoReranker, NoRerankerConfig
from ragpipe.types import Chunk, ScoredChunk


def test_none_returns_its_input_unchanged(tmp_path: Path) -> None:
    context = BuildContext(settings=RuntimeSettings(), index_dir=tmp_path, cache_dir=tmp_path)
    reranker = registry.build("reranker", NoRerankerConfig(), context)
    assert isinstance(reranker, NoReranker)
    chunks = [
        ScoredChunk(Chunk(f"c{i}", "d.txt", "x", i, i + 1), score=s, leg_scores={"bm25": s}, leg_ranks={"bm25": i})
        for i, s in enumerate([0.1, 0.9, 0.5])
    ]
    out = reranker.rerank("query", chunks)
    assert out == chunks
    assert out is not chunks
    assert reranker.rerank("query", []) == []


def test_none_is_registered_as_a_reranker() -> None:
    assert registry.get("reranker", "none").config_cls is NoRerankerConfig
