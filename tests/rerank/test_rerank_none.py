"""The ``none`` reranker keeps retrieval's order, scores and legs."""

from __future__ import annotations

from ragpipe import registry
from ragpipe.rerank.none import NoReranker, NoRerankerConfig
from ragpipe.types import Chunk, ScoredChunk


def test_none_returns_its_input_unchanged() -> None:
    reranker = registry.build("reranker", NoRerankerConfig())
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
    assert registry.get("reranker", "none").needs == ()
    assert NoRerankerConfig().candidates(7) == 7  # retrieval fetches exactly top_k
